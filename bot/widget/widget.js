// 星海银行 web chat widget. Embed with one tag (optionally after a config object):
//   <script>window.XinghaiChat = { token: "<signed customer token>", title: "星海银行在线客服" };</script>
//   <script src="https://<gateway>/widget/widget.js" async></script>
// Talks Socket.IO with Rasa's event protocol (session_request / session_confirm, user_uttered,
// bot_uttered). Every server or user text is rendered as text (textContent), never as HTML.
(function () {
  "use strict";
  if (window.__xinghaiChatLoaded) return;
  window.__xinghaiChatLoaded = true;

  const script = document.currentScript;
  const base = new URL(script ? script.src : "/widget/widget.js", location.href).origin;
  const config = Object.assign(
    {
      title: "星海银行在线客服",
      greeting: "您好，我是智能客服小星，请问有什么可以帮您？",
      placeholder: "请输入您的问题，按回车发送",
      humanLabel: "转人工",
      token: null,
      open: false,
    },
    window.XinghaiChat || {}
  );
  const SESSION_KEY = "xinghai-chat-session";
  const OUTBOX_KEY = "xinghai-chat-outbox";
  const ELDER_KEY = "xinghai-chat-elder";
  const STATES = { queued: "正在为您转接人工客服，请稍候…", bot: "已转回智能助手", agent: "人工客服 {name} 已接入" };

  let socket = null;
  let sessionId = localStorage.getItem(SESSION_KEY) || randomId();
  let outbox = JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]");
  const ui = {};

  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Simple formatting, built as DOM nodes: http(s) links become <a>, **bold** becomes <strong>;
  // everything else stays text and line breaks are kept by CSS.
  function richText(text) {
    const box = el("div", "xh-text");
    const source = String(text);
    const pattern = /(https?:\/\/[^\s<>"'）」]+)|\*\*([^*\n]+)\*\*/g;
    let last = 0;
    for (const match of source.matchAll(pattern)) {
      box.append(document.createTextNode(source.slice(last, match.index)));
      box.append(match[1] ? link(match[1]) : el("strong", null, match[2]));
      last = match.index + match[0].length;
    }
    box.append(document.createTextNode(source.slice(last)));
    return box;
  }

  function link(url) {
    const node = el("a", null, url);
    node.href = url;
    node.target = "_blank";
    node.rel = "noopener noreferrer";
    return node;
  }

  function time(at) {
    const date = typeof at === "number" ? new Date(at * 1000) : at ? new Date(at) : new Date();
    return date.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
  }

  // -- layout ------------------------------------------------------------------------------------

  function build() {
    const css = el("link");
    css.rel = "stylesheet";
    css.href = base + "/widget/widget.css";
    document.head.append(css);

    ui.launcher = el("button", "xh-launcher", "在线客服");
    ui.launcher.type = "button";
    ui.launcher.setAttribute("aria-haspopup", "dialog");
    ui.panel = el("section", "xh-panel");
    ui.panel.setAttribute("role", "dialog");
    ui.panel.setAttribute("aria-label", config.title);
    ui.panel.hidden = !config.open;

    const header = el("header", "xh-header");
    header.append(el("h2", "xh-title", config.title));
    ui.human = button("xh-human", config.humanLabel, "转人工客服");
    ui.elder = button("xh-elder", "大字", "大字号高对比模式");
    ui.elder.setAttribute("aria-pressed", "false");
    ui.close = button("xh-close", "×", "关闭对话窗口");
    header.append(ui.human, ui.elder, ui.close);

    ui.status = el("div", "xh-status");
    ui.status.setAttribute("role", "status");
    ui.log = el("ol", "xh-log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.log.setAttribute("aria-label", "对话记录");
    ui.typing = el("div", "xh-typing", "小星正在输入…");
    ui.typing.hidden = true;

    ui.form = el("form", "xh-form");
    const label = el("label", "xh-visually-hidden", "输入消息");
    label.htmlFor = "xh-input";
    ui.input = el("input", "xh-input");
    ui.input.id = "xh-input";
    ui.input.placeholder = config.placeholder;
    ui.input.maxLength = 2000;
    ui.input.autocomplete = "off";
    ui.send = button("xh-send", "发送", "发送消息");
    ui.send.type = "submit";
    ui.form.append(label, ui.input, ui.send);

    ui.panel.append(header, ui.status, ui.log, ui.typing, ui.form);
    document.body.append(ui.launcher, ui.panel);

    ui.launcher.addEventListener("click", () => toggle(true));
    ui.close.addEventListener("click", () => toggle(false));
    ui.human.addEventListener("click", () => send("/request_human", config.humanLabel));
    ui.elder.addEventListener("click", () => elder(!ui.panel.classList.contains("xh-elder-mode")));
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = ui.input.value.trim();
      if (text) send(text, text);
      ui.input.value = "";
    });
    ui.panel.addEventListener("keydown", (event) => { if (event.key === "Escape") toggle(false); });
    elder(localStorage.getItem(ELDER_KEY) === "1");
  }

  function button(className, text, label) {
    const node = el("button", className, text);
    node.type = "button";
    node.setAttribute("aria-label", label);
    return node;
  }

  function toggle(open) {
    ui.panel.hidden = !open;
    ui.launcher.hidden = open;
    if (open) ui.input.focus(); else ui.launcher.focus();
  }

  function elder(on) {
    ui.panel.classList.toggle("xh-elder-mode", on);
    ui.elder.setAttribute("aria-pressed", String(on));
    localStorage.setItem(ELDER_KEY, on ? "1" : "0");
  }

  // -- messages ----------------------------------------------------------------------------------

  function show(who, text, at, quickReplies, meta) {
    const item = el("li", "xh-msg xh-" + who);
    const author = who === "user" ? "我" : meta && meta.agent_name ? "人工客服 " + meta.agent_name : "小星";
    item.append(el("span", "xh-meta", author + " · " + time(at)), richText(text));
    if (quickReplies && quickReplies.length) {
      const row = el("div", "xh-quick");
      row.setAttribute("role", "group");
      row.setAttribute("aria-label", "快捷回复");
      quickReplies.forEach((reply) => {
        const choice = button("xh-choice", reply.title, reply.title);
        choice.addEventListener("click", () => send(reply.payload, reply.title));
        row.append(choice);
      });
      item.append(row);
    }
    ui.log.append(item);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function showState(meta) {
    if (!meta || !meta.handoff_state) return;
    const text = STATES[meta.handoff_state].replace("{name}", meta.agent_name || "");
    ui.status.textContent = text;
    ui.panel.dataset.handoff = meta.handoff_state;
    ui.log.append(el("li", "xh-msg xh-system", text));
  }

  function send(payload, shown) {
    const message = { message: payload, message_id: randomId(), session_id: sessionId };
    outbox.push(message);
    saveOutbox();
    show("user", shown, null);
    ui.typing.hidden = false;
    flush();
  }

  function saveOutbox() { localStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox)); }

  // Sends what is not acknowledged yet; the server answers each message_id once, so a resend after
  // a dropped connection is safe.
  function flush() {
    if (!socket || !socket.connected || !ui.confirmed) return;
    outbox.forEach((message) => {
      socket.timeout(20000).emit("user_uttered", message, (error, ack) => {
        if (error || !ack || !ack.ok) return;
        outbox = outbox.filter((m) => m.message_id !== message.message_id);
        saveOutbox();
      });
    });
  }

  // -- connection --------------------------------------------------------------------------------

  function connect() {
    socket = window.io(base, { auth: config.token ? { token: config.token } : {}, transports: ["websocket", "polling"] });
    socket.on("connect", () => {
      ui.confirmed = false;
      ui.status.textContent = "";
      socket.emit("session_request", { session_id: sessionId });
    });
    socket.on("session_confirm", (id) => {
      sessionId = typeof id === "string" ? id : id.session_id;
      localStorage.setItem(SESSION_KEY, sessionId);
      ui.confirmed = true;
      flush();
    });
    socket.on("history", (messages) => {
      ui.log.replaceChildren();
      if (!messages.length) show("bot", config.greeting, null);
      messages.forEach((m) => show(m.who === "customer" ? "user" : "bot", m.text, m.at, m.quick_replies, m.metadata));
      outbox.forEach((m) => show("user", m.message.startsWith("/") ? "…" : m.message, null));
    });
    socket.on("bot_uttered", (data) => {
      ui.typing.hidden = true;
      showState(data.metadata);
      show("bot", data.text || "", null, data.quick_replies, data.metadata);
    });
    socket.on("user_echo", (data) => show("user", data.text, null));
    socket.on("disconnect", () => { ui.status.textContent = "网络连接中断，正在重新连接…"; });
    socket.on("connect_error", () => { ui.status.textContent = "暂时无法连接客服，正在重试…"; });
  }

  function start() {
    build();
    if (window.io) { connect(); return; }
    const client = el("script");
    client.src = base + "/widget/vendor/socket.io.min.js";
    client.onload = connect;
    client.onerror = () => { ui.status.textContent = "在线客服暂时无法加载，请稍后再试或拨打 400-820-9555。"; };
    document.head.append(client);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
