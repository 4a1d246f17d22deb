// Agent console: queue, claim, summary card, transcript, reply, transfer, hand back, close.
// Everything from the server is rendered with textContent: customer and agent text is never HTML.
"use strict";

const api = "/agent/api";
const state = { token: sessionStorage.getItem("agentToken"), agent: null, meta: null, current: null, socket: null };
const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const reply = await fetch(api + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await reply.json().catch(() => ({}));
  if (reply.status === 401 && path !== "/login") { logout(); throw new Error(data.message || "请重新登录"); }
  if (!reply.ok) throw new Error(data.message || "请求失败，请稍后重试");
  return data;
}

function notify(text) { $("notice").textContent = text || ""; }

function minutesSince(iso) { return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000)); }

// -- login --------------------------------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const data = await call("POST", "/login", { staff_no: $("staff-no").value.trim(), password: $("password").value });
    state.token = data.token;
    sessionStorage.setItem("agentToken", data.token);
    await start();
  } catch (error) { $("login-error").textContent = error.message; }
}

function logout() {
  if (state.token) fetch(api + "/logout", { method: "POST", headers: { Authorization: "Bearer " + state.token } });
  state.token = null;
  sessionStorage.removeItem("agentToken");
  if (state.socket) state.socket.close();
  $("desk").hidden = true;
  $("logout").hidden = true;
  $("login-form").hidden = false;
  $("whoami").textContent = "";
}

async function start() {
  state.meta = await call("GET", "/meta");
  state.agent = state.meta.agent;
  const skills = state.agent.skills.map((s) => state.agent.skill_labels[s]).join("、");
  $("whoami").textContent = `${state.agent.name}（${state.agent.staff_no}，${state.agent.role_label}）技能：${skills}`;
  fillSelect($("transfer-skill"), state.meta.skills);
  fillSelect($("disposition"), state.meta.dispositions);
  $("login-form").hidden = true;
  $("desk").hidden = false;
  $("logout").hidden = false;
  await refresh();
  connect(0);
}

function fillSelect(select, options) {
  select.replaceChildren(...Object.entries(options).map(([value, label]) => {
    const option = el("option", label);
    option.value = value;
    return option;
  }));
}

// -- live updates -------------------------------------------------------------------------------

function connect(attempt) {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(`${scheme}${location.host}/agent/ws?token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.onmessage = (frame) => onEvent(JSON.parse(frame.data));
  // presence: the server counts an agent online while it hears from the console (bot/handoff/agents.py)
  const heartbeat = setInterval(() => { if (socket.readyState === WebSocket.OPEN) socket.send("ping"); }, 60000);
  socket.addEventListener("close", () => clearInterval(heartbeat));
  socket.onopen = () => { if (attempt > 0) refresh(); };
  socket.onclose = () => {
    if (!state.token || state.socket !== socket) return;
    setTimeout(() => connect(attempt + 1), Math.min(30000, 1000 * 2 ** attempt));
  };
}

function onEvent(event) {
  if (event.type === "queue") renderQueue(event.items);
  if (event.type === "turn" && state.current === event.conversation_id) addTurn(event.turn);
  if (event.type === "customer_left" && state.current === event.conversation_id) notify("客户已离开对话（连接断开）");
  if (event.type === "conversation") refreshMine();
}

async function refresh() {
  const queue = await call("GET", "/queue");
  renderQueue(queue.items);
  await refreshMine();
}

async function refreshMine() {
  const mine = await call("GET", "/conversations");
  $("my-conversations").replaceChildren(...mine.items.map((item) => listEntry(item, "mine", null)));
}

// -- queue and lists ----------------------------------------------------------------------------

function renderQueue(items) {
  $("queue-count").textContent = `（${items.length}）`;
  $("queue").replaceChildren(...items.map((item) => listEntry(item, "queue-item", claimButton(item))));
}

function listEntry(item, className, extra) {
  const entry = el("li", null, className + (state.current === item.conversation_id ? " selected" : ""));
  entry.dataset.conversationId = item.conversation_id;
  const head = el("div");
  head.append(el("span", item.priority, "badge " + item.priority), el("strong", item.skill_label || item.skill));
  head.append(document.createTextNode(" · " + (item.reason_label || item.reason)));
  if (item.status === "callback") head.append(el("span", " 待回电", "muted"));
  const waited = el("div", `已等待 ${minutesSince(item.waiting_since)} 分钟 · ${item.channel}`, "muted waited");
  waited.dataset.since = item.waiting_since;
  const gist = el("div", (item.summary.text || "").slice(0, 40) + "…", "muted");
  entry.append(head, waited, gist);
  if (extra) entry.append(extra);
  entry.tabIndex = 0;
  entry.addEventListener("click", () => open(item.conversation_id));
  entry.addEventListener("keydown", (e) => { if (e.key === "Enter") open(item.conversation_id); });
  return entry;
}

function claimButton(item) {
  const button = el("button", "接入", "claim");
  button.type = "button";
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    try {
      await call("POST", `/conversations/${encodeURIComponent(item.conversation_id)}/claim`);
      await refresh();
      await open(item.conversation_id);
    } catch (error) { notify(error.message); await refresh(); }
  });
  return button;
}

// -- one conversation ---------------------------------------------------------------------------

async function open(conversationId) {
  state.current = conversationId;
  notify("");
  const data = await call("GET", `/conversations/${encodeURIComponent(conversationId)}`);
  renderSummary(data.conversation);
  $("transcript").replaceChildren();
  data.transcript.forEach(addTurn);
  const mine = data.conversation.status === "active" && data.conversation.agent === state.agent.staff_no;
  $("actions").hidden = !mine;
  if (!data.conversation.customer_present) notify("客户已离开对话（连接断开）");
  document.querySelectorAll("[data-conversation-id]").forEach((node) => {
    node.classList.toggle("selected", node.dataset.conversationId === conversationId);
  });
  renderProfile(await call("GET", `/conversations/${encodeURIComponent(conversationId)}/customer`).catch(() => null));
}

function renderSummary(item) {
  const s = item.summary || {};
  const customer = s.customer || {};
  const wants = s.wants || {};
  const tried = s.tried || {};
  const card = $("summary-card");
  const title = el("h2");
  title.append(el("span", item.priority, "badge " + item.priority), document.createTextNode("转人工摘要"));
  const fields = [
    ["客户", customer.name || "未验证身份"],
    ["等级", customer.tier], ["风险等级", customer.risk_level],
    ["相关产品", (customer.products || []).join("、")], ["客户经理", customer.advisor],
    ["诉求", (wants.intents || []).join(" → ")],
    ["关键信息", Object.entries(wants.details || {}).map(([k, v]) => `${k}：${v}`).join("；")],
    ["已尝试", [...(tried.forms || []), ...(tried.kb_articles || [])].join("；")],
    ["情绪变化", (s.sentiment || []).join(" → ")],
    ["转人工原因", s.reason], ["优先级", s.priority], ["所需技能", s.skill], ["建议下一步", s.next_step],
  ];
  const list = el("dl");
  fields.forEach(([label, value]) => list.append(el("dt", label), el("dd", value || "—")));
  card.replaceChildren(title, el("p", s.text), list);
  card.hidden = false;
}

function addTurn(turn) {
  const who = { customer: "客户", agent: turn.agent_name || "坐席", bot: "智能助手", system: "系统" }[turn.who] || turn.who;
  const time = new Date(turn.at).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
  const item = el("li", null, "turn " + turn.who);
  item.append(el("div", `${who} · ${time}`, "muted"), el("div", turn.text));
  $("transcript").append(item);
  $("transcript").scrollTop = $("transcript").scrollHeight;
}

function renderProfile(panel) {
  const box = $("profile-panel");
  box.replaceChildren(el("h2", "客户资料"));
  if (!panel) { box.append(el("p", "客户资料暂时无法查询", "muted")); return; }
  if (!panel.customer_no) { box.append(el("p", "客户未验证身份", "muted")); return; }
  panel.sections.forEach((section) => {
    box.append(el("h3", section.title));
    const list = el("dl");
    section.rows.forEach(([label, value]) => list.append(el("dt", label), el("dd", value)));
    box.append(list);
  });
  panel.hidden.forEach((title) => box.append(el("p", "无权限查看：" + title, "muted")));
}

// -- agent actions ------------------------------------------------------------------------------

async function act(path, body, done) {
  if (!state.current) return;
  try {
    await call("POST", `/conversations/${encodeURIComponent(state.current)}${path}`, body);
    if (done) done();
    await refresh();
    await open(state.current);
  } catch (error) { notify(error.message); }
}

function send() {
  const text = $("reply-text").value.trim();
  if (text) act("/messages", { text }, () => { $("reply-text").value = ""; });
}

async function searchKnowledge(event) {
  if (event.key !== "Enter") return;
  event.preventDefault();
  const query = $("kb-query").value.trim();
  if (!query) return;
  const data = await call("GET", "/kb?q=" + encodeURIComponent(query)).catch(() => ({ articles: [] }));
  $("kb-results").replaceChildren(...data.articles.map((article) => {
    const entry = el("li", article.title, "kb-article");
    entry.tabIndex = 0;
    const insert = () => { $("reply-text").value = article.answer; $("reply-text").focus(); };
    entry.addEventListener("click", insert);
    entry.addEventListener("keydown", (e) => { if (e.key === "Enter") insert(); });
    return entry;
  }));
}

$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
$("reply-send").addEventListener("click", send);
$("reply-text").addEventListener("keydown", (e) => { if (e.key === "Enter" && e.ctrlKey) send(); });
$("transfer").addEventListener("click", () => act("/transfer", { skill: $("transfer-skill").value }));
$("handback").addEventListener("click", () => act("/handback"));
$("close-conversation").addEventListener("click", () => act("/close", { disposition: $("disposition").value }));
$("kb-query").addEventListener("keydown", searchKnowledge);
setInterval(() => document.querySelectorAll(".waited").forEach((node) => {
  node.firstChild.textContent = `已等待 ${minutesSince(node.dataset.since)} 分钟` + node.textContent.slice(node.textContent.indexOf(" ·"));
}), 15000);
if (state.token) start().catch(() => logout());
