// Xinghai Bank agent console: login, live queue, summary card, transcript, replies, knowledge-base
// quick insert, transfer, hand back, close and the customer profile panel.
// Security: every string that comes from the server is rendered as text (textContent / text
// nodes), never parsed as HTML.
(() => {
  "use strict";

  const API = "/agent/api";
  const TOKEN_KEY = "xh-agent-token";
  const AGENT_KEY = "xh-agent-profile";
  const WAIT_TICK_MS = 15000;
  const HEARTBEAT_MS = 60000; // presence: the server counts an agent online while it hears from us
  const MAX_BACKOFF_MS = 30000;
  const PRIORITIES = ["P1", "P2", "P3", "P4"];
  const CHANNELS = { rest: "网页接口", socketio: "网页在线客服", wechat: "微信" };
  const STATUSES = {
    queued: "排队中", callback: "待回电", active: "服务中",
    closed: "已结束", handed_back: "已转回智能助手", cancelled: "已取消",
  };
  const ENDED = ["closed", "handed_back", "cancelled"];
  const SPEAKERS = { customer: "客户", agent: "坐席", bot: "智能助手", system: "系统消息" };

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    agent: readStoredAgent(),
    meta: { skills: {}, dispositions: {} },
    queueKey: "", // last queue snapshot, to skip identical re-renders
    mine: [],
    current: null, // Item of the conversation shown in the main area
    openSeq: 0, // ignores responses for a conversation the agent has already left
    turnKeys: new Set(), // transcript turns shown, so a turn seen twice is drawn once
    unread: new Set(), // my conversations with customer messages not yet looked at
    drafts: {}, // unsent replies by conversation
    socket: null, attempt: 0, reconnectTimer: null, heartbeatTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  // -- small helpers ------------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function makeButton(label, className, onClick) {
    const node = el("button", "btn " + (className || ""), label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function setChildren(node, children) {
    while (node.firstChild) node.removeChild(node.firstChild);
    children.forEach((child) => node.appendChild(child));
  }

  function readStoredAgent() {
    try { return JSON.parse(sessionStorage.getItem(AGENT_KEY) || "null"); } catch (error) { return null; }
  }

  const isBlank = (value) => value === null || value === undefined || value === "";
  const list = (value) => (Array.isArray(value) ? value.filter((entry) => !isBlank(entry)).map(String) : []);
  const conversationPath = (id, suffix) => "/conversations/" + encodeURIComponent(id) + (suffix || "");
  const isCurrent = (id) => Boolean(state.current) && state.current.conversation_id === id;
  const channelLabel = (item) => item.channel_label || CHANNELS[item.channel] || item.channel || "";
  const emptyRow = (text) => el("li", "empty", text);

  function isOwnedActive(item) {
    return Boolean(item && state.agent) && item.status === "active" && item.agent === state.agent.staff_no;
  }

  function waitingText(iso) {
    const since = Date.parse(iso);
    const minutes = Number.isNaN(since) ? 0 : Math.max(0, Math.floor((Date.now() - since) / 60000));
    return `已等待 ${minutes} 分钟`;
  }

  function formatTime(iso) {
    const date = new Date(iso);
    const options = { hour: "2-digit", minute: "2-digit", hour12: false };
    return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString("zh-CN", options);
  }

  function truncate(text, length) {
    const chars = Array.from(String(text || ""));
    return chars.length > length ? chars.slice(0, length).join("") + "…" : chars.join("");
  }

  // -- server calls and messages ------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state.token && path !== "/login") headers.Authorization = "Bearer " + state.token;
    let response;
    try {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      response = await fetch(API + path, { method, headers, body: payload, cache: "no-store" });
    } catch (networkError) {
      throw new ApiError("网络连接异常，请检查网络后重试。", 0);
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 && path !== "/login") {
      endSession(data.message || "登录已失效，请重新登录。");
      throw new ApiError(data.message || "登录已失效，请重新登录。", 401);
    }
    if (!response.ok) throw new ApiError(data.message || "操作未成功，请稍后重试。", response.status);
    return data;
  }

  let alertTimer = null;

  function showAlert(message, kind) {
    const box = $("alert");
    box.className = "alert " + (kind === "info" ? "alert-info" : "alert-error");
    box.hidden = false;
    box.textContent = message;
    clearTimeout(alertTimer);
    alertTimer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  function reportError(error) {
    if (!(error instanceof ApiError)) {
      console.error(error); // a bug in this page: keep the English detail out of the agent's way
      showAlert("页面出现异常，请刷新后重试。");
    } else if (error.status !== 401) {
      showAlert(error.message);
    }
  }

  // -- login and session --------------------------------------------------------------------------

  function showLoginMessage(text, kind) {
    $("login-message").className = "form-message" + (kind === "info" ? " is-info" : "");
    $("login-message").textContent = text || "";
  }

  function showWorkspace(visible) {
    $("login-view").hidden = visible;
    $("workspace").hidden = !visible;
    $("agent-bar").hidden = !visible;
  }

  async function onLoginSubmit(event) {
    event.preventDefault();
    const staffNo = $("staff-no").value.trim();
    const password = $("password").value;
    if (!staffNo || !password) return showLoginMessage("请输入工号和密码。");
    const submit = event.currentTarget.querySelector("button[type=submit]");
    submit.disabled = true;
    showLoginMessage("正在登录，请稍候…", "info");
    try {
      const data = await api("POST", "/login", { staff_no: staffNo, password });
      state.token = data.token;
      sessionStorage.setItem(TOKEN_KEY, data.token);
      rememberAgent(data.agent);
      $("password").value = "";
      showLoginMessage("");
      await startDesk();
    } catch (error) {
      showLoginMessage(error instanceof ApiError ? error.message : "登录失败，请稍后重试。");
    } finally {
      submit.disabled = false;
    }
  }

  function rememberAgent(agent) {
    if (agent) sessionStorage.setItem(AGENT_KEY, JSON.stringify((state.agent = agent)));
  }

  async function startDesk() {
    const meta = await api("GET", "/meta");
    state.meta = { skills: meta.skills || {}, dispositions: meta.dispositions || {} };
    rememberAgent(meta.agent);
    if (!state.agent) throw new ApiError("无法获取坐席信息，请重新登录。", 0);
    renderAgentInfo();
    fillSelect($("transfer-skill"), state.meta.skills);
    fillSelect($("close-disposition"), state.meta.dispositions);
    showWorkspace(true);
    await refreshLists();
    connectSocket();
  }

  async function onLogout() {
    await api("POST", "/logout").catch(() => {}); // the session ends locally either way
    endSession("您已安全退出，欢迎再次登录。", "info");
  }

  function endSession(message, kind) {
    state.token = state.agent = null;
    [TOKEN_KEY, AGENT_KEY].forEach((key) => sessionStorage.removeItem(key));
    stopSocket();
    resetWorkspace();
    showWorkspace(false);
    showLoginMessage(message || "", kind);
    $("staff-no").focus();
  }

  function resetWorkspace() {
    Object.assign(state, { queueKey: "", mine: [], current: null, drafts: {}, openSeq: state.openSeq + 1 });
    state.unread.clear();
    ["queue", "my-conversations", "kb-results"].forEach((id) => setChildren($(id), []));
    $("conversation-view").hidden = true;
    $("empty-state").hidden = false;
    $("alert").hidden = true;
    setChildren($("profile-body"), [el("p", "muted", "请选择会话以查看客户资料。")]);
  }

  function renderAgentInfo() {
    const agent = state.agent;
    const labels = agent.skill_labels || {};
    const skills = list(agent.skills).map((skill) => labels[skill] || state.meta.skills[skill] || skill);
    $("agent-name").textContent = `${agent.name || ""}（${agent.staff_no || ""}）`;
    $("agent-role").textContent = agent.role_label || agent.role || "";
    $("agent-skills").textContent = skills.length ? "技能组：" + skills.join("、") : "";
  }

  function fillSelect(select, options) {
    setChildren(select, Object.keys(options).map((value) => {
      const option = el("option", null, options[value]);
      option.value = value;
      return option;
    }));
  }

  // -- queue and "my conversations" ---------------------------------------------------------------

  async function refreshLists() {
    const [queue, mine] = await Promise.all([api("GET", "/queue"), api("GET", "/conversations")]);
    renderQueue(queue.items || []);
    renderMine(mine.items || []);
  }

  const refreshMine = async () => renderMine((await api("GET", "/conversations")).items || []);

  function renderQueue(items) {
    const key = JSON.stringify(items);
    if (key === state.queueKey) return; // identical snapshot: keep focus and screen readers quiet
    state.queueKey = key;
    $("queue-count").textContent = `（${items.length}）`;
    setChildren($("queue"), items.length ? items.map(queueEntry) : [emptyRow("当前没有等待接入的客户。")]);
  }

  function entryShell(item, className) {
    const entry = el("li", className);
    entry.dataset.conversationId = item.conversation_id;
    entry.classList.toggle("is-selected", isCurrent(item.conversation_id));
    return entry;
  }

  function queueEntry(item) {
    const id = item.conversation_id;
    const entry = entryShell(item, "queue-item");
    entry.classList.toggle("is-callback", item.status === "callback");
    const main = el("div", "item-main");
    main.append(itemHeading(item), itemMeta(item), itemSnippet(item));
    main.addEventListener("click", () => openConversation(id));
    const actions = el("div", "item-actions");
    actions.append(
      makeButton("查看", "btn-small preview", () => openConversation(id)),
      makeButton("接入", "btn-small btn-primary claim", (event) => claim(id, event.currentTarget)),
    );
    entry.append(main, actions);
    return entry;
  }

  function priorityBadge(priority) {
    const level = PRIORITIES.indexOf(priority) >= 0 ? priority : "P4";
    const badge = el("span", "badge badge-" + level, priority || level);
    badge.title = "优先级 " + level;
    return badge;
  }

  function itemHeading(item) {
    const heading = el("div", "item-heading");
    heading.append(priorityBadge(item.priority), el("span", "item-skill", item.skill_label || item.skill));
    heading.append(el("span", "item-reason", item.reason_label || item.reason));
    if (item.status === "callback") heading.append(el("span", "tag tag-callback", "待回电"));
    return heading;
  }

  function itemMeta(item) {
    const meta = el("p", "item-meta");
    const waiting = el("span", "waiting", waitingText(item.waiting_since));
    waiting.dataset.since = item.waiting_since;
    waiting.setAttribute("aria-live", "off"); // ticks every 15 s; not worth announcing
    meta.append(waiting, document.createTextNode(" · " + channelLabel(item)));
    return meta;
  }

  const itemSnippet = (item) => el("p", "item-snippet", truncate((item.summary || {}).text, 40));

  function renderMine(items) {
    state.mine = items;
    $("mine-count").textContent = `（${items.length}）`;
    setChildren($("my-conversations"), items.length ? items.map(mineEntry) : [emptyRow("暂无进行中的会话。")]);
  }

  function mineEntry(item) {
    const id = item.conversation_id;
    const entry = entryShell(item, "my-item");
    const open = makeButton("", "item-open", () => openConversation(id));
    open.append(itemHeading(item), itemMeta(item), itemSnippet(item));
    if (state.unread.has(id)) open.append(el("span", "tag tag-unread", "新消息"));
    if (item.customer_present === false) open.append(el("span", "tag tag-left", "客户已离开"));
    entry.append(open);
    return entry;
  }

  function highlightSelection() {
    const entries = document.querySelectorAll(".queue-item, .my-item");
    entries.forEach((node) => node.classList.toggle("is-selected", isCurrent(node.dataset.conversationId)));
  }

  function tickWaiting() {
    const labels = document.querySelectorAll(".waiting[data-since]");
    labels.forEach((node) => { node.textContent = waitingText(node.dataset.since); });
  }

  async function claim(id, trigger) {
    if (trigger) trigger.disabled = true;
    try {
      const data = await api("POST", conversationPath(id, "/claim"));
      showAlert("已成功接入会话，请及时回复客户。", "info");
      await refreshLists();
      await openConversation((data.conversation || {}).conversation_id || id);
      $("reply-text").focus();
    } catch (error) {
      reportError(error);
      if (error.status === 409) await refreshLists().catch(() => {});
    } finally {
      if (trigger) trigger.disabled = false;
    }
  }

  // -- the open conversation ----------------------------------------------------------------------

  async function openConversation(id) {
    const seq = ++state.openSeq;
    try {
      const data = await api("GET", conversationPath(id));
      if (seq !== state.openSeq) return;
      saveDraft();
      state.unread.delete(id);
      showConversation(data.conversation, data.transcript || []);
      renderMine(state.mine);
      highlightSelection();
      loadProfile(id, seq);
    } catch (error) {
      reportError(error);
    }
  }

  function showConversation(item, transcript) {
    $("empty-state").hidden = true;
    $("conversation-view").hidden = false;
    $("reply-text").value = state.drafts[item.conversation_id] || "";
    setChildren($("kb-results"), []);
    state.turnKeys = new Set();
    setChildren($("transcript"), []);
    transcript.forEach(appendTurn);
    applyConversation(item);
  }

  function applyConversation(item) {
    state.current = item;
    const owner = item.agent_name ? ` · 坐席：${item.agent_name}` : "";
    $("conversation-title").textContent = "会话 " + item.conversation_id;
    $("conversation-meta").textContent = `${channelLabel(item)} · ${STATUSES[item.status] || item.status}${owner}`;
    renderSummary(item);
    $("reply-area").hidden = !isOwnedActive(item);
    $("claim-bar").hidden = !((item.status === "queued" || item.status === "callback") && !item.agent);
    renderNotices(item);
  }

  function renderNotices(item) {
    $("presence-notice").hidden = item.customer_present !== false;
    const ended = ENDED.indexOf(item.status) >= 0;
    const elsewhere = item.status === "active" && !isOwnedActive(item);
    const notice = $("status-notice");
    notice.hidden = !(ended || elsewhere);
    if (ended) notice.textContent = `该会话${STATUSES[item.status]}，无法继续回复。`;
    else if (elsewhere) notice.textContent = `该会话正由${item.agent_name || "其他坐席"}处理。`;
  }

  function renderSummary(item) {
    const summary = item.summary || {};
    const title = el("h3", "card-title");
    title.id = "summary-title";
    title.append(priorityBadge(item.priority), document.createTextNode(" 转人工摘要"));
    const fields = el("dl", "summary-fields");
    summaryFields(item, summary).forEach(([label, value]) => fields.append(el("dt", null, label), valueCell(value)));
    setChildren($("summary-card"), [title, el("p", "summary-text", summary.text || "暂无摘要。"), fields]);
  }

  function summaryFields(item, summary) {
    const customer = summary.customer || {};
    const wants = summary.wants || {};
    const tried = summary.tried || {};
    const details = wants.details || {};
    const attempts = list(tried.kb_articles).map((title) => "知识库：" + title)
      .concat(list(tried.forms).map((form) => "办理流程：" + form));
    return [
      ["客户", customer.name || "未验证身份"],
      ["等级", customer.tier],
      ["风险等级", customer.risk_level],
      ["相关产品", list(customer.products).join("、")],
      ["客户经理", customer.advisor],
      ["诉求", list(wants.intents).join("、")],
      ["关键信息", Object.keys(details).map((key) => `${key}：${details[key]}`)],
      ["已尝试", attempts],
      ["情绪变化", list(summary.sentiment).join(" → ")],
      ["转人工原因", summary.reason || item.reason_label],
      ["优先级", summary.priority || item.priority],
      ["所需技能", summary.skill || item.skill_label],
      ["建议下一步", summary.next_step],
    ];
  }

  // A <dd> with one value as text, several as a list, nothing as a dash.
  function valueCell(value) {
    const cell = el("dd");
    if (Array.isArray(value) && value.length > 1) {
      const items = el("ul", "value-list");
      value.forEach((entry) => items.append(el("li", null, entry)));
      cell.append(items);
      return cell;
    }
    const text = Array.isArray(value) ? value[0] : value;
    cell.textContent = isBlank(text) ? "—" : String(text);
    if (isBlank(text)) cell.classList.add("muted");
    return cell;
  }

  function appendTurn(turn) {
    if (!turn) return;
    const key = [turn.who, turn.at, turn.text].join("\u0000");
    if (state.turnKeys.has(key)) return; // the same turn via REST and WebSocket
    state.turnKeys.add(key);
    const who = SPEAKERS[turn.who] ? turn.who : "system";
    const speaker = who === "agent" && turn.agent_name ? `坐席 ${turn.agent_name}` : SPEAKERS[who];
    const time = el("time", "turn-time", formatTime(turn.at));
    time.dateTime = turn.at || "";
    const meta = el("div", "turn-meta");
    meta.append(el("span", "turn-who", speaker), time);
    const entry = el("li", "turn " + who);
    entry.append(meta, el("p", "turn-text", turn.text));
    const box = $("transcript");
    box.append(entry);
    box.scrollTop = box.scrollHeight;
  }

  // -- customer profile ---------------------------------------------------------------------------

  async function loadProfile(id, seq) {
    const body = $("profile-body");
    setChildren(body, [el("p", "muted", "正在加载客户资料…")]);
    try {
      const data = await api("GET", conversationPath(id, "/customer"));
      if (seq === state.openSeq) renderProfile(data);
    } catch (error) {
      if (seq !== state.openSeq || error.status === 401) return;
      setChildren(body, [el("p", "notice", error.message || "客户资料暂时无法查询，请稍后再试。")]);
    }
  }

  function renderProfile(data) {
    const nodes = [];
    if (!data.customer_no) {
      nodes.push(el("p", "profile-unverified", "客户未验证身份"));
    } else {
      nodes.push(el("p", "profile-no", "客户号：" + data.customer_no));
      (data.sections || []).forEach((section) => nodes.push(profileSection(section)));
    }
    list(data.hidden).forEach((title) => nodes.push(el("p", "profile-hidden", "无权限查看：" + title)));
    setChildren($("profile-body"), nodes);
  }

  function profileSection(section) {
    const box = el("section", "profile-section");
    const rows = el("dl", "profile-rows");
    (section.rows || []).forEach((row) => rows.append(el("dt", null, row[0]), valueCell(row[1])));
    box.append(el("h3", null, section.title), rows);
    return box;
  }

  // -- replies and the knowledge base -------------------------------------------------------------

  function saveDraft() {
    if (state.current) state.drafts[state.current.conversation_id] = $("reply-text").value;
  }

  async function sendReply(event) {
    if (event) event.preventDefault();
    const item = state.current;
    const box = $("reply-text");
    const text = box.value.trim();
    if (!isOwnedActive(item)) return;
    if (!text) return showAlert("请输入回复内容。");
    $("reply-send").disabled = true;
    try {
      const data = await api("POST", conversationPath(item.conversation_id, "/messages"), { text });
      delete state.drafts[item.conversation_id];
      if (isCurrent(item.conversation_id)) {
        appendTurn(data.turn);
        box.value = "";
      }
    } catch (error) {
      reportError(error);
      if (error.status === 409 || error.status === 404) reloadCurrent();
    } finally {
      $("reply-send").disabled = false;
    }
  }

  async function searchKnowledge(event) {
    event.preventDefault();
    const query = $("kb-query").value.trim();
    const results = $("kb-results");
    if (!query) return setChildren(results, [emptyRow("请输入要查询的关键词。")]);
    setChildren(results, [emptyRow("正在搜索…")]);
    try {
      const articles = (await api("GET", "/kb?q=" + encodeURIComponent(query))).articles || [];
      const none = [emptyRow("未找到相关知识，请换个关键词试试。")];
      setChildren(results, articles.length ? articles.map(kbEntry) : none);
    } catch (error) {
      setChildren(results, [emptyRow(error.message || "知识库暂时无法查询。")]);
    }
  }

  function kbEntry(article) {
    const entry = el("li", "kb-item");
    const pick = makeButton("", "kb-article", () => insertAnswer(article.answer));
    pick.append(el("span", "kb-title", article.title), el("span", "kb-preview", truncate(article.answer, 60)));
    entry.append(pick);
    return entry;
  }

  // Puts an article's answer into the reply box (after any draft) for editing; it is not sent.
  function insertAnswer(answer) {
    const box = $("reply-text");
    const text = String(answer || "");
    box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n" + text : text;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  // -- transfer, hand back, close -----------------------------------------------------------------

  async function conversationAction(suffix, body, doneMessage) {
    const item = state.current;
    if (!isOwnedActive(item)) return;
    try {
      const data = await api("POST", conversationPath(item.conversation_id, suffix), body);
      delete state.drafts[item.conversation_id];
      showAlert(doneMessage, "info");
      if (isCurrent(item.conversation_id) && data.conversation) applyConversation(data.conversation);
      await refreshLists();
    } catch (error) {
      reportError(error);
      if (error.status === 409 || error.status === 404) reloadCurrent();
    }
  }

  function onTransfer() {
    const skill = $("transfer-skill").value;
    const label = state.meta.skills[skill] || skill;
    conversationAction("/transfer", { skill }, `已转接至「${label}」技能组，会话将重新排队。`);
  }

  function onClose() {
    const disposition = $("close-disposition").value;
    const label = state.meta.dispositions[disposition] || disposition;
    conversationAction("/close", { disposition }, `会话已结束（${label}）。`);
  }

  function reloadCurrent() {
    if (state.current) openConversation(state.current.conversation_id);
  }

  // -- live updates -------------------------------------------------------------------------------

  function connectSocket() {
    stopSocket();
    if (!state.token) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/agent/ws?token=${encodeURIComponent(state.token)}`);
    state.socket = socket;
    setConnection(state.attempt ? "正在重新连接…" : "正在连接…", "pending");
    socket.addEventListener("open", () => onSocketOpen(socket));
    socket.addEventListener("message", onSocketMessage);
    socket.addEventListener("close", (event) => onSocketClose(socket, event));
  }

  function stopSocket() {
    clearTimeout(state.reconnectTimer);
    clearInterval(state.heartbeatTimer);
    const socket = state.socket;
    state.socket = null; // before close(), so onSocketClose does not reconnect
    if (socket) socket.close();
    setConnection("未连接", "offline");
  }

  function onSocketOpen(socket) {
    if (socket !== state.socket) return;
    const reconnected = state.attempt > 0;
    state.attempt = 0;
    setConnection("已连接", "online");
    clearInterval(state.heartbeatTimer);
    state.heartbeatTimer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send("ping"), HEARTBEAT_MS);
    if (!reconnected) return;
    refreshLists().catch(reportError); // events may have been missed while offline
    reloadCurrent();
  }

  function onSocketClose(socket, event) {
    if (socket !== state.socket) return; // closed on purpose
    clearInterval(state.heartbeatTimer);
    state.socket = null;
    if (!state.token) return;
    if (event.code === 4401) return endSession("登录已失效，请重新登录。");
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** state.attempt) + Math.floor(Math.random() * 500);
    state.attempt += 1;
    setConnection(`连接中断，${Math.ceil(delay / 1000)} 秒后重试`, "offline");
    state.reconnectTimer = setTimeout(connectSocket, delay);
  }

  function setConnection(text, status) {
    $("connection-status").textContent = "实时连接：" + text;
    $("connection-status").className = "connection is-" + status;
  }

  function onSocketMessage(event) {
    let message;
    try { message = JSON.parse(event.data); } catch (error) { return; }
    const handler = message && SOCKET_HANDLERS[message.type];
    if (handler) handler(message);
  }

  const SOCKET_HANDLERS = {
    queue: (message) => renderQueue(Array.isArray(message.items) ? message.items : []),
    turn: onLiveTurn,
    conversation: onLiveConversation,
    customer_left: onCustomerLeft,
  };

  function onLiveTurn(message) {
    const id = message.conversation_id;
    if (isCurrent(id)) return appendTurn(message.turn);
    if (!state.mine.some((item) => item.conversation_id === id)) return;
    state.unread.add(id);
    renderMine(state.mine);
  }

  function onLiveConversation(message) {
    const item = message.conversation;
    if (!item) return;
    if (isCurrent(item.conversation_id)) applyConversation(item);
    refreshMine().catch(reportError);
  }

  function onCustomerLeft(message) {
    const id = message.conversation_id;
    state.mine.forEach((item) => { if (item.conversation_id === id) item.customer_present = false; });
    renderMine(state.mine);
    if (!isCurrent(id)) return;
    state.current.customer_present = false;
    renderNotices(state.current);
  }

  // -- start --------------------------------------------------------------------------------------

  function init() {
    $("login-form").addEventListener("submit", onLoginSubmit);
    $("logout").addEventListener("click", onLogout);
    $("reply-form").addEventListener("submit", sendReply);
    $("reply-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) sendReply(event);
    });
    $("kb-form").addEventListener("submit", searchKnowledge);
    $("transfer").addEventListener("click", onTransfer);
    $("handback").addEventListener("click", () => {
      conversationAction("/handback", undefined, "已转回智能助手，客户将继续由智能助手服务。");
    });
    $("close-conversation").addEventListener("click", onClose);
    $("claim-current").addEventListener("click", (event) => {
      if (state.current) claim(state.current.conversation_id, event.currentTarget);
    });
    setInterval(tickWaiting, WAIT_TICK_MS);
    if (!state.token) return showWorkspace(false);
    $("login-view").hidden = true; // restoring a session: no flash of the login form
    startDesk().catch((error) => {
      if (error.status === 401) return; // api() already showed the login form
      endSession(error instanceof ApiError ? error.message : "无法连接服务器，请稍后重新登录。");
    });
  }

  init();
})();
