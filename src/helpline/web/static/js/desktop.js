// The agent desktop: state and queues, the screen pop of an offered call from the event
// stream, call controls, notes and disposition, a work order from the call, the
// knowledge base and SMS (desktop_sms.js). Calls are answered on the linked SIP phone or
// in the browser phone (desktop_phone.js), which also hangs up and sends DTMF for its
// own call.
import {
  ApiError, EventStream, ME, LANG, START, api, attempt, clear, fmtDate, fmtDuration, get, h,
  label, problem, qs, since, streamBadge, t, toast,
} from "./common.js";
import { DesktopPhone } from "./desktop_phone.js";
import { DesktopSms } from "./desktop_sms.js";
import { commandBody, liveCallActions } from "./livecalls.js";

const $ = (id) => document.getElementById(id);
const queues = START.queues || [];
const desk = { state: null, reasons: [], call: null, records: [], actions: {} };
const phone = new DesktopPhone({ onRing: ringing, onChange: () => showCall() });
const sms = new DesktopSms();
/** What the browser phone does itself while it has a call; the rest are CTI commands. */
const LOCAL_ACTIONS = new Set(["hangup", "dtmf"]);

// -- state ------------------------------------------------------------------------------

function reasonLabel(name) {
  const found = desk.reasons.find((r) => r.name === name);
  return (found && found.labels && found.labels[LANG]) || name || "";
}

function renderState() {
  const s = desk.state;
  if (!s) return;
  const badge = $("state");
  badge.dataset.state = s.state;
  badge.textContent = label("state", s.state);
  $("reason").textContent = s.state === "not_ready" && s.reason ? `${t("desk.reason")}: ${reasonLabel(s.reason)}` : "";
  const offline = s.state === "offline";
  $("go-ready").disabled = offline || s.state === "available" || s.state === "on_call" || s.state === "reserved";
  $("go-pause").disabled = offline || s.state === "not_ready";
  $("reason-select").disabled = offline;
  $("queue-logout").disabled = offline;
  $("queue-login").textContent = offline ? t("desk.login") : t("desk.update_queues");
  for (const box of document.querySelectorAll("#queue-list input")) {
    if (!offline) box.checked = s.queue_ids.includes(Number(box.value));
    box.closest("label").classList.toggle("on", !offline && s.queue_ids.includes(Number(box.value)));
  }
  $("today").textContent = t("desk.today", { calls: s.calls_today || 0, talk: fmtDuration(s.talk_seconds_today || 0) });
  tick();
}

function wrapUpLeft() {
  const s = desk.state;
  if (!s || s.state !== "wrap_up" || !s.since) return null;
  const queue = queues.find((q) => desk.call && q.name === desk.call.queue) || queues[0];
  const total = queue ? queue.wrap_up_seconds : 0;
  return Math.max(0, total - since(s.since));
}

function tick() {
  const s = desk.state;
  $("state-timer").textContent = s && s.since && s.state !== "offline" ? fmtDuration(since(s.since)) : "";
  const left = wrapUpLeft();
  const box = $("wrapup");
  box.hidden = left === null;
  if (left !== null) box.textContent = t("desk.wrapup_left", { time: fmtDuration(left) });
  if (desk.call && desk.call.answeredAt && !desk.call.endedAt) $("call-timer").textContent = fmtDuration((Date.now() - desk.call.answeredAt) / 1000);
}

async function loadState() {
  let fetched;
  try { fetched = await get("/agents/me/state"); } catch (error) { toast(problem(error), "error"); return; }
  // The event stream may have told of a newer state while this answer was on its way.
  const newer = desk.state && desk.state.since && fetched.since && new Date(desk.state.since) > new Date(fetched.since);
  desk.state = newer ? { ...fetched, ...pick(desk.state) } : fetched;
  renderState();
}

function pick(state) {
  const { state: s, reason, since: at, call_id: callId, queue_ids: queueIds } = state;
  return { state: s, reason, since: at, call_id: callId, queue_ids: queueIds };
}

function renderQueues() {
  const list = $("queue-list");
  if (!queues.length) { clear(list, h("p", { class: "muted" }, t("desk.no_queues"))); return; }
  clear(list, queues.map((q) => h("label", { class: "check" },
    h("input", { type: "checkbox", value: String(q.id), checked: true }), ` ${q.name}`)));
}

function chosenQueues() {
  return [...document.querySelectorAll("#queue-list input:checked")].map((box) => Number(box.value));
}

async function changeState(state, reason) {
  const body = state === "not_ready" ? { state, reason } : { state };
  const result = await attempt(() => api("PUT", "/agents/me/state", body));
  if (result) { desk.state = result; renderState(); }
}

// -- phones -------------------------------------------------------------------------------

function renderPhones() {
  const list = $("phones");
  const phones = START.phones || [];
  if (!START.agent) { clear(list, h("li", { class: "muted" }, t("desk.not_agent"))); return; }
  if (!phones.length) { clear(list, h("li", { class: "muted" }, t("phone.none"))); return; }
  clear(list, phones.map((phone) => {
    const regs = phone.registrations;
    return h("li", {},
      h("strong", {}, phone.account), " ",
      h("span", { class: `badge ${regs.length ? "ok" : "warn"}` }, regs.length ? t("phone.registered") : t("phone.unregistered")),
      regs.map((r) => h("div", { class: "muted small" }, `${r.user_agent || "SIP"} · ${r.transport} · ${r.source}`)));
  }));
}

// -- the call -----------------------------------------------------------------------------

function showCall() {
  const call = desk.call;
  $("call-empty").hidden = Boolean(call);
  $("call").hidden = !call;
  if (!call) return;
  $("pop-caller").textContent = call.caller || t("desk.anonymous");
  $("pop-called").textContent = call.called || "";
  $("pop-queue").textContent = call.queue || "";
  const status = call.endedAt ? "ended" : call.answeredAt ? "talking" : "ringing";
  const badge = $("pop-status");
  badge.textContent = t(`desk.call_${status}`);
  badge.className = `badge ${status === "ringing" ? "warn" : status === "talking" ? "ok" : ""}`;
  if (status !== "talking") $("call-timer").textContent = call.endedAt && call.answeredAt ? fmtDuration((call.endedAt - call.answeredAt) / 1000) : "";
  const data = Object.entries(call.data || {});
  const path = (call.ivrPath || []).map((step) => `${step.node}${step.digits ? ` [${step.digits}]` : ""}`);
  clear($("pop-ivr"),
    path.length ? h("p", { class: "small" }, path.join(" → ")) : null,
    call.digits && call.digits.length ? h("p", { class: "small" }, `${t("desk.digits")}: `, h("code", {}, call.digits.join(" "))) : null,
    data.length ? h("ul", { class: "plain" }, data.map(([k, v]) => h("li", {}, h("code", {}, k), ` = ${v}`))) : null,
    !path.length && !data.length ? t("desk.no_ivr") : null);
  const live = Boolean(call.answeredAt) && !call.endedAt;
  const answer = $("btn-answer");
  answer.disabled = !phone.ringing;
  answer.title = phone.mode === "browser" ? "" : t("desk.answer_on_phone");
  for (const button of document.querySelectorAll("#call [data-action]")) {
    const local = phone.inCall && LOCAL_ACTIONS.has(button.dataset.action);
    const available = local || Boolean(desk.actions[button.dataset.action]);
    button.disabled = !available || !(live || local);
    button.title = available ? "" : t("desk.not_available");
  }
}

/** A call rings in the browser: show it, unless the screen pop already does. */
function ringing({ from }) {
  if (!desk.call || desk.call.endedAt) {
    desk.call = { callId: null, caller: from, called: "", queue: "", data: {}, ivrPath: [], digits: [], answeredAt: null, endedAt: null };
  }
  showCall();
}

function renderDial() {
  const available = Boolean(desk.actions.dial);
  $("dial-go").disabled = !available;
  $("dial-go").title = available ? "" : t("desk.not_available");
}

async function screenPop(event) {
  desk.call = {
    callId: event.call_id, caller: event.caller, called: event.called, queue: event.queue, data: event.data || {},
    ivrPath: event.ivr_path || [], digits: event.digits || [], answeredAt: null, endedAt: null,
  };
  showCall();
  clear($("pop-customer"), t("common.loading"));
  clear($("pop-history"));
  let customer = event.customer;
  if (customer === undefined) {
    const found = await attempt(() => get(`/customers/lookup${qs({ number: event.caller })}`));
    customer = found && found.customer;
  }
  desk.call.customer = customer || null;
  sms.forCall(desk.call);
  clear($("pop-customer"), customer
    ? [h("a", { href: `/records#customer/${customer.id}`, target: "_blank" }, customer.name),
      customer.company ? ` · ${customer.company}` : "", " ", h("span", { class: `badge tier-${customer.tier}` }, label("tier", customer.tier))]
    : t("desk.unknown_customer"));
  if (customer) {
    const history = await attempt(() => get(`/customers/${customer.id}/timeline${qs({ limit: 5 })}`));
    if (history) clear($("pop-history"), h("h3", {}, t("desk.history")), h("ul", { class: "plain" },
      history.items.map((item) => h("li", {}, h("span", { class: "muted" }, fmtDate(item.at)), " ", label("timeline", item.kind), ": ", item.title))));
  }
  suggest(event.call_id, event.queue);
}

async function loadRecords(selectCallId) {
  const page = await attempt(() => get(`/call-records${qs({ limit: 10 })}`));
  if (!page) return;
  desk.records = page.items;
  const select = $("record-select");
  clear(select, page.items.length ? page.items.map((r) => h("option", { value: String(r.id) },
    `${fmtDate(r.started_at)} · ${r.caller || t("desk.anonymous")} · ${label("outcome", r.outcome)}`)) : h("option", { value: "" }, t("desk.no_records")));
  const wanted = selectCallId && page.items.find((r) => r.call_id === selectCallId);
  if (wanted) select.value = String(wanted.id);
  fillNotes();
}

function currentRecord() {
  return desk.records.find((r) => String(r.id) === $("record-select").value) || null;
}

function fillNotes() {
  const record = currentRecord();
  $("notes").value = record && record.notes ? record.notes : "";
  $("disposition").value = record && record.disposition ? record.disposition : "";
}

async function saveNotes(ev) {
  ev.preventDefault();
  const record = currentRecord();
  if (!record) { toast(t("desk.no_records"), "error"); return; }
  const body = { notes: $("notes").value || null, disposition: $("disposition").value || null };
  const saved = await attempt(() => api("PATCH", `/call-records/${record.id}`, body), t("desk.notes_saved"));
  if (saved) Object.assign(record, saved);
}

function openWorkOrder() {
  const record = currentRecord();
  const caller = (desk.call && desk.call.caller) || (record && record.caller) || "";
  $("wo-title").value = t("wo.from_call", { caller: caller || t("desk.anonymous") });
  $("wo-description").value = $("notes").value;
  $("wo-form").hidden = false;
  $("wo-title").focus();
}

async function createWorkOrder(ev) {
  ev.preventDefault();
  const record = currentRecord();
  const body = {
    title: $("wo-title").value,
    description: $("wo-description").value,
    priority: $("wo-priority").value,
    department_id: $("wo-department").value ? Number($("wo-department").value) : null,
    call_record_id: record ? record.id : null,
    customer_id: desk.call && desk.call.customer ? desk.call.customer.id : null,
  };
  const made = await attempt(() => api("POST", "/workorders", body));
  if (made) {
    $("wo-form").hidden = true;
    toast(t("wo.created", { id: made.id }), "ok");
  }
}

// -- knowledge base -------------------------------------------------------------------------

function showArticles(items, heading) {
  const box = $("kb-results");
  clear(box, heading ? h("h3", {}, heading) : null, items.length ? h("ul", { class: "results" }, items.map((a) =>
    h("li", {}, h("button", { type: "button", class: "link", onclick: () => openArticle(a.id) }, a.title),
      h("p", { class: "muted small" }, a.snippet)))) : h("p", { class: "muted" }, t("kb.nothing")));
}

async function openArticle(id) {
  const article = await attempt(() => get(`/kb/articles/${id}`));
  if (!article) return;
  const box = $("kb-article");
  clear(box, h("h3", {}, article.title), h("div", { class: "article-body" }, article.body),
    h("button", { type: "button", class: "ghost", onclick: () => { box.hidden = true; } }, t("common.close")));
  box.hidden = false;
  box.querySelector("h3").tabIndex = -1;
  box.querySelector("h3").focus();
}

async function search(ev) {
  if (ev) ev.preventDefault();
  const page = await attempt(() => get(`/kb/search${qs({ q: $("kb-q").value, language: $("kb-lang").value, limit: 10 })}`));
  if (page) showArticles(page.items, null);
}

async function suggest(callId, queue) {
  const items = await attempt(() => get(`/kb/suggest${qs({ call_id: callId, queue, language: LANG })}`));
  if (items && items.length) showArticles(items, t("kb.suggested"));
}

// -- events ---------------------------------------------------------------------------------

function onEvent(event) {
  if (event.user_id !== undefined && event.user_id !== null && event.user_id !== ME.user_id) return;
  switch (event.event) {
    case "acd.agent_state":
      desk.state = Object.assign(desk.state || {}, {
        state: event.state, reason: event.reason, since: event.since, call_id: event.call_id, queue_ids: event.queue_ids,
      });
      renderState();
      break;
    case "acd.call_offered":
      screenPop(event);
      break;
    case "acd.call_answered":
      if (desk.call && desk.call.callId === event.call_id) { desk.call.answeredAt = Date.now(); showCall(); }
      break;
    case "acd.call_ended":
      if (desk.call && desk.call.callId === event.call_id) { desk.call.endedAt = Date.now(); showCall(); }
      loadRecords(event.call_id);
      loadState();
      break;
    default:
      break;
  }
}

async function runAction(action) {
  if (phone.inCall && LOCAL_ACTIONS.has(action)) {
    if (action === "hangup") phone.hangup();
    else phone.dtmf($("dtmf").value);
    return;
  }
  if (!desk.call || !desk.call.callId) return;
  const body = commandBody(action, { kind: $("dest-kind").value, target: $("target").value, digits: $("dtmf").value });
  const path = desk.actions[action].replace(/\{[^}]+\}/, encodeURIComponent(desk.call.callId));
  await attempt(() => api("POST", path, body), t("desk.done"));
}

async function dial(ev) {
  ev.preventDefault();
  if (!desk.actions.dial || !$("dial-target").value) return;
  const body = commandBody("dial", { kind: $("dial-kind").value, target: $("dial-target").value });
  const call = await attempt(() => api("POST", desk.actions.dial, body), t("desk.dialing"));
  if (call) {
    desk.call = { callId: call.call_id, caller: $("dial-target").value, called: "", queue: "", data: {}, ivrPath: [], digits: [], answeredAt: Date.now(), endedAt: null, outbound: true };
    showCall();
  }
}

// -- start ------------------------------------------------------------------------------------

async function start() {
  renderQueues();
  renderPhones();
  if (START.agent) phone.start();
  sms.start();
  if (!START.agent) {
    clear($("state"), t("desk.not_agent"));
    for (const id of ["go-ready", "go-pause", "queue-login", "queue-logout", "reason-select"]) $(id).disabled = true;
  } else {
    await loadState();
  }
  const [reasons, dispositions, departments] = await Promise.all([
    attempt(() => get("/reason-codes?limit=100")),
    attempt(() => get("/dispositions?active=true")),
    attempt(() => get("/departments?limit=100")),
  ]);
  desk.reasons = reasons ? reasons.items : [];
  clear($("reason-select"), desk.reasons.filter((r) => r.name !== "missed-offers").map((r) => h("option", { value: r.name }, reasonLabel(r.name))));
  clear($("disposition"), h("option", { value: "" }, t("common.none")), (dispositions || []).map((d) => h("option", { value: d.code }, label("disposition", d.code) === d.code ? d.label : label("disposition", d.code))));
  clear($("wo-priority"), ["low", "normal", "high", "urgent"].map((p) => h("option", { value: p, selected: p === "normal" }, label("priority", p))));
  clear($("wo-department"), h("option", { value: "" }, t("common.none")), (departments ? departments.items : []).map((d) => h("option", { value: String(d.id) }, d.name)));
  renderState();
  new EventStream({ onEvent, onStatus: streamBadge($("stream")), onReconnect: loadState });
  setInterval(tick, 1000);
  await loadRecords(null);
  desk.actions = liveCallActions(START.live_calls);
  showCall();
  renderDial();
  const wanted = new URLSearchParams(location.search).get("dial");
  if (wanted) { $("dial-target").value = wanted; $("dial-target").focus(); }
  document.documentElement.dataset.ready = "desktop";
}

$("go-ready").addEventListener("click", () => changeState("available"));
$("go-pause").addEventListener("click", () => changeState("not_ready", $("reason-select").value));
$("queue-login").addEventListener("click", async () => {
  const ids = chosenQueues();
  if (!ids.length) { toast(t("desk.pick_queue"), "error"); return; }
  const result = await attempt(() => api("POST", "/agents/me/login", { queue_ids: ids }));
  if (result) { desk.state = result; renderState(); }
});
$("queue-logout").addEventListener("click", async () => {
  const result = await attempt(() => api("POST", "/agents/me/logout"));
  if (result) { desk.state = result; renderState(); }
});
$("record-select").addEventListener("change", fillNotes);
$("notes-form").addEventListener("submit", saveNotes);
$("new-wo").addEventListener("click", openWorkOrder);
$("wo-cancel").addEventListener("click", () => { $("wo-form").hidden = true; });
$("wo-form").addEventListener("submit", createWorkOrder);
$("kb-form").addEventListener("submit", search);
for (const button of document.querySelectorAll("#call [data-action]")) button.addEventListener("click", () => runAction(button.dataset.action));
$("dial-form").addEventListener("submit", dial);
$("btn-answer").addEventListener("click", () => phone.answer());

start().catch((error) => toast(error instanceof ApiError ? problem(error) : String(error), "error"));
