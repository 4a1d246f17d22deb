// 星海银行 supervisors' dashboard. Data from /admin/api/* (bearer token in sessionStorage), charts
// with Chart.js (served by the gateway from npm), every text from data set with textContent.
(function () {
  "use strict";
  const TOKEN_KEY = "xinghai-admin-token";
  const $ = (id) => document.getElementById(id);
  const charts = {};
  let meta = null;
  const COLORS = { navy: "#16324f", blue: "#4c78a8", orange: "#f58518", green: "#54a24b", red: "#e45756", grey: "#9aa5b1" };
  const SENTIMENT = [["negative_share", "负面", COLORS.red], ["neutral_share", "中性", COLORS.grey], ["positive_share", "正面", COLORS.green]];
  const TABLES = [
    ["daily", "每日明细", [["day", "日期"], ["conversations", "会话数"], ["contained", "自助解决"], ["containment", "自助解决率", "pct"], ["messages", "客户消息"], ["p50_ms", "响应 p50 (ms)"], ["p95_ms", "响应 p95 (ms)"], ["negative_share", "负面占比", "pct"]]],
    ["handoff_reasons", "转人工原因", [["reason", "原因", "reason"], ["conversations", "会话数"], ["rate", "占全部会话", "pct"]]],
    ["intents", "热门意图", [["intent", "意图", "intent"], ["messages", "消息数"]]],
    ["satisfaction", "满意度评分", [["score", "评分"], ["ratings", "次数"]]],
    ["complaints", "投诉工单（按类别）", [["category", "类别", "category"], ["opened", "新增"], ["open", "未结"], ["overdue", "超时未解决"]]],
    ["article_votes", "知识库文章评价", [["article", "文章"], ["useful", "有用"], ["not_useful", "没用"]]],
  ];

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function pct(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  function num(value, digits) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(digits || 0);
  }

  const LABELS = { reason: "reasons", intent: "intents", category: "complaint_categories" };

  function label(kind, value) {
    const names = meta && meta[LABELS[kind]];
    return (names && names[value]) || value;
  }

  // -- API ---------------------------------------------------------------------------------------

  async function api(path, options) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = Object.assign({ "Content-Type": "application/json" }, token ? { Authorization: "Bearer " + token } : {});
    const reply = await fetch(path, Object.assign({}, options || {}, { headers }));
    if (reply.status === 401) {
      signOut("登录已失效，请重新登录。");
      throw new Error("登录已失效，请重新登录。");
    }
    const isJson = (reply.headers.get("content-type") || "").includes("json");
    const body = isJson ? await reply.json() : await reply.blob();
    if (!reply.ok) throw new Error((body && body.message) || "请求失败，请稍后重试。");
    return body;
  }

  function query() {
    const params = new URLSearchParams({ first: $("first").value, last: $("last").value, simulated: $("simulated").checked ? "1" : "0" });
    if ($("channel").value) params.set("channel", $("channel").value);
    return params.toString();
  }

  // -- login -------------------------------------------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const body = { staff_no: $("staff-no").value.trim(), password: $("password").value };
      const reply = await fetch("/admin/api/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const data = await reply.json();
      if (!reply.ok) throw new Error(data.message || "登录失败。");
      sessionStorage.setItem(TOKEN_KEY, data.token);
      $("password").value = "";
      await start();
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("dashboard").hidden = true;
    $("user-bar").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = message || "";
  }

  async function logout() {
    try {
      await api("/admin/api/logout", { method: "POST" });
    } finally {
      signOut("");
    }
  }

  // -- the page ----------------------------------------------------------------------------------

  async function start() {
    meta = await api("/admin/api/meta");
    $("user-name").textContent = meta.name;
    const select = $("channel");
    select.replaceChildren(el("option", "全部渠道"));
    select.firstChild.value = "";
    for (const [value, name] of Object.entries(meta.channels)) {
      const option = el("option", name);
      option.value = value;
      select.append(option);
    }
    $("login-view").hidden = true;
    $("user-bar").hidden = false;
    $("dashboard").hidden = false;
    await refresh();
  }

  async function refresh(event) {
    if (event) event.preventDefault();
    $("status").textContent = "正在加载…";
    try {
      const data = await api("/admin/api/overview?" + query());
      showKpis(data);
      showCharts(data);
      showQueue(data.handoffs);
      showTables(data);
      const simulated = data.simulated_conversations ? `，其中模拟会话 ${data.simulated_conversations} 个` : "";
      $("status").textContent = `已更新：${data.scope.first} 至 ${data.scope.last}，共 ${data.conversations} 个会话${simulated}。`;
    } catch (error) {
      $("status").textContent = error.message;
    }
  }

  function showKpis(data) {
    const t = data.turns, s = data.satisfaction, h = data.handoffs, c = data.complaints;
    const cards = [
      ["会话数", data.conversations, `客户消息 ${t.messages} 条`],
      ["自助解决率", pct(data.containment), "未转人工的会话占比"],
      ["转人工率", pct(data.handoff_rate), `转人工 ${h.handoffs} 次`],
      ["响应时间 p50 / p95", `${num(t.response_ms.p50)} / ${num(t.response_ms.p95)} ms`, "网关收到消息至助手回复"],
      ["排队等待 p50 / p95", `${num(h.queue_wait_s.p50)} / ${num(h.queue_wait_s.p95)} 秒`, `放弃排队 ${h.abandoned} 次`],
      ["满意度", s.average === null ? "—" : `${num(s.average, 2)} 分`, `满意（4–5 分）${pct(s.csat)}，共 ${s.ratings} 次评价`],
      ["未解答率", pct(t.unanswered_rate), `未解答 ${t.unanswered} 条`],
      ["投诉工单", `${c.open} 未结`, `超时未响应 ${c.overdue_response}，超时未解决 ${c.overdue_resolution}`],
    ];
    $("kpis").replaceChildren(
      ...cards.map(([name, value, note]) => {
        const card = el("div", null, "kpi");
        card.append(el("div", name, "label"), el("div", value, "value"), el("div", note, "note"));
        return card;
      })
    );
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    charts[id] = new Chart($(id), config);
  }

  function showCharts(data) {
    const days = data.per_day.map((d) => d.day.slice(5));
    draw("chart-daily", {
      type: "bar",
      data: {
        labels: days,
        datasets: [
          { label: "会话数", data: data.per_day.map((d) => d.conversations), backgroundColor: COLORS.blue, yAxisID: "y" },
          { label: "自助解决率", type: "line", data: data.per_day.map((d) => d.containment), borderColor: COLORS.orange, yAxisID: "share" },
        ],
      },
      options: { scales: { y: { beginAtZero: true }, share: { position: "right", min: 0, max: 1, ticks: { callback: pct } } } },
    });
    draw("chart-reasons", horizontal(data.handoffs_by_reason.map((r) => label("reason", r.reason)), data.handoffs_by_reason.map((r) => r.rate), "占全部会话", COLORS.red, pct));
    const perDay = data.turns.per_day;
    draw("chart-latency", {
      type: "line",
      data: {
        labels: days,
        datasets: [
          { label: "p50", data: perDay.map((d) => d.p50_ms), borderColor: COLORS.blue },
          { label: "p95", data: perDay.map((d) => d.p95_ms), borderColor: COLORS.orange },
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
    draw("chart-sentiment", {
      type: "bar",
      data: { labels: days, datasets: SENTIMENT.map(([key, name, color]) => ({ label: name, data: perDay.map((d) => d[key]), backgroundColor: color })) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, min: 0, max: 1, ticks: { callback: pct } } } },
    });
    const ratings = data.satisfaction.distribution;
    draw("chart-csat", { type: "bar", data: { labels: ratings.map((r) => r.score + " 分"), datasets: [{ label: "评价次数", data: ratings.map((r) => r.ratings), backgroundColor: COLORS.green }] } });
    const intents = data.turns.top_intents;
    draw("chart-intents", horizontal(intents.map((i) => label("intent", i.intent)), intents.map((i) => i.messages), "消息数", COLORS.blue));
    const categories = data.complaints.by_category;
    draw("chart-complaints", {
      type: "bar",
      data: {
        labels: categories.map((c) => label("category", c.category)),
        datasets: [
          { label: "新增", data: categories.map((c) => c.opened), backgroundColor: COLORS.blue },
          { label: "未结", data: categories.map((c) => c.open), backgroundColor: COLORS.orange },
          { label: "超时未解决", data: categories.map((c) => c.overdue), backgroundColor: COLORS.red },
        ],
      },
    });
  }

  function horizontal(labels, values, name, color, format) {
    const ticks = format ? { callback: format } : {};
    return {
      type: "bar",
      data: { labels, datasets: [{ label: name, data: values, backgroundColor: color }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks } } },
    };
  }

  function showQueue(h) {
    const facts = [
      ["转人工", `${h.handoffs} 次（已接入 ${h.claimed}）`],
      ["排队等待 p50 / p95", `${num(h.queue_wait_s.p50)} / ${num(h.queue_wait_s.p95)} 秒`],
      ["坐席处理 p50 / p95", `${num(h.handling_s.p50)} / ${num(h.handling_s.p95)} 秒`],
      ["放弃排队", `${h.abandoned} 次`],
      ["按优先级", Object.entries(h.by_priority).map(([p, n]) => `${p}: ${n}`).join("，") || "—"],
      ["按技能组", Object.entries(h.by_skill).map(([s, n]) => `${(meta.skills || {})[s] || s}: ${n}`).join("，") || "—"],
    ];
    $("queue-facts").replaceChildren(...facts.flatMap(([name, value]) => [el("span", name), el("strong", value)]));
  }

  function cell(value, kind) {
    if (kind === "pct") return el("td", pct(value), "num");
    if (kind in LABELS) return el("td", label(kind, value));
    return el("td", value === null || value === undefined ? "—" : value, typeof value === "number" ? "num" : null);
  }

  function table(columns, rows) {
    const node = el("table");
    const head = el("tr");
    columns.forEach(([, title]) => head.append(el("th", title)));
    node.append(head);
    for (const row of rows) {
      const line = el("tr");
      columns.forEach(([key, , kind]) => line.append(cell(row[key], kind)));
      node.append(line);
    }
    if (!rows.length) {
      const empty = el("td", "暂无数据");
      empty.colSpan = columns.length;
      const line = el("tr");
      line.append(empty);
      node.append(line);
    }
    return node;
  }

  function showTables(data) {
    $("tables").replaceChildren(
      ...TABLES.map(([name, title, columns]) => {
        const box = el("div");
        const head = el("div", null, "table-head");
        const button = el("button", "导出 CSV");
        button.type = "button";
        button.addEventListener("click", () => download(name));
        head.append(el("h3", title), button);
        box.append(head, table(columns, data.tables[name]));
        return box;
      })
    );
  }

  async function download(name) {
    try {
      const blob = await api(`/admin/api/export/${name}.csv?` + query());
      const link = el("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${name}-${$("first").value}-${$("last").value}.csv`;
      document.body.append(link);
      link.click();
      link.remove();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      $("status").textContent = error.message;
    }
  }

  // -- knowledge gaps ----------------------------------------------------------------------------

  async function loadGaps() {
    $("gaps-status").textContent = "正在分析（首次需加载语义模型，约半分钟）…";
    try {
      const found = await api("/admin/api/gaps?" + query());
      $("gaps-status").textContent = `共 ${found.asked} 次提问未得到满意解答，归为 ${found.groups.length} 组（另有 ${found.ungrouped_asked} 次零散提问）。`;
      $("gaps").replaceChildren(gapTable(found.groups));
    } catch (error) {
      $("gaps-status").textContent = error.message;
    }
  }

  function gapTable(groups) {
    const node = el("table");
    const head = el("tr");
    ["提问次数", "客户问法（示例）", "原因", "最接近的现有文章", "操作"].forEach((t) => head.append(el("th", t)));
    node.append(head);
    const reasons = { unanswered: "未解答", ambiguous: "仅给出候选", not_useful: "评为没用" };
    for (const group of groups) {
      const row = el("tr");
      const examples = el("td");
      const list = el("ul");
      group.examples.forEach((e) => list.append(el("li", `${e.text}（${e.asked} 次）`)));
      examples.append(list);
      const closest = group.closest_article ? `${group.closest_article.id} ${group.closest_article.question}（相似度 ${group.closest_article.similarity}）` : "—";
      const action = el("td");
      const button = el("button", group.drafted ? "查看草稿" : "生成文章草稿");
      button.type = "button";
      button.addEventListener("click", () => makeDraft(group.id));
      action.append(button);
      row.append(
        el("td", group.asked, "num"),
        examples,
        el("td", Object.entries(group.reasons).map(([r, n]) => `${reasons[r] || r} ${n}`).join("，")),
        el("td", closest),
        action
      );
      node.append(row);
    }
    return node;
  }

  async function makeDraft(groupId) {
    try {
      const reply = await api(`/admin/api/gaps/${encodeURIComponent(groupId)}/draft?` + query(), { method: "POST" });
      $("draft").hidden = false;
      $("draft").textContent = `已保存到 ${reply.file}：\n\n${reply.draft}`;
      $("gaps-status").textContent = "草稿已生成，请编辑补全答案后移入 knowledge_base/articles/。";
    } catch (error) {
      $("gaps-status").textContent = error.message;
    }
  }

  // -- start -------------------------------------------------------------------------------------

  function defaultPeriod() {
    const today = new Date(Date.now() + 8 * 3600 * 1000); // China time
    const first = new Date(today.getTime() - 13 * 24 * 3600 * 1000);
    $("last").value = today.toISOString().slice(0, 10);
    $("first").value = first.toISOString().slice(0, 10);
  }

  document.addEventListener("DOMContentLoaded", () => {
    defaultPeriod();
    $("login-form").addEventListener("submit", signIn);
    $("filters").addEventListener("submit", refresh);
    $("logout").addEventListener("click", logout);
    $("load-gaps").addEventListener("click", loadGaps);
    $("export-gaps").addEventListener("click", () => download("gaps"));
    if (sessionStorage.getItem(TOKEN_KEY)) start().catch((error) => signOut(error.message));
  });
})();
