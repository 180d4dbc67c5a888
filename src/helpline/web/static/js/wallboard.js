// The supervisor wallboard: queue tiles and agents by state, from one snapshot of
// /acd/realtime, then kept current by the event stream (agent states are applied as they
// arrive; call events reload the queue figures) with the live calls and the supervisor's
// commands on them (wallboard_calls.js). Durations tick in the browser. The team view
// shows the teams the supervisor leads by default (admins: all teams).
import { EventStream, LANG, ME, attempt, clear, fmtDuration, get, h, label, qs, since, streamBadge, t } from "./common.js";
import { LiveCalls } from "./wallboard_calls.js";

const $ = (id) => document.getElementById(id);
const board = { queues: new Map(), agents: new Map(), teams: new Map(), myTeams: new Set(), config: new Map(), sl: new Map(), reasons: new Map(), at: 0, loaded: 0 };
const ORDER = ["on_call", "reserved", "wrap_up", "available", "not_ready", "offline"];
window.helplineWallboard = board;

function contribution(agent, queueId) {
  const on = agent && agent.state !== "offline" && agent.queue_ids.includes(queueId);
  return { logged: on ? 1 : 0, available: on && agent.state === "available" ? 1 : 0 };
}

async function snapshot() {
  const view = await attempt(() => get("/acd/realtime"));
  if (!view) return;
  board.loaded += 1;
  board.at = Date.now();
  board.queues = new Map(view.queues.map((q) => [q.queue_id, { ...q, at: Date.now() }]));
  board.agents.clear();
  for (const a of view.agents) board.agents.set(a.agent_id, a);
  render();
}

let pending = null;
function snapshotSoon() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; snapshot(); }, 250);
}

async function serviceLevels() {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const page = await attempt(() => get(`/call-records${qs({ started_from: midnight.toISOString(), limit: 500 })}`));
  if (!page) return;
  const figures = new Map();
  for (const r of page.items) {
    if (!r.queue) continue;
    const cfg = board.config.get(r.queue) || { service_level_seconds: 20, short_abandon_seconds: 5 };
    const f = figures.get(r.queue) || { answered: 0, inTime: 0, abandoned: 0 };
    if (r.outcome === "answered") { f.answered += 1; if (r.wait_seconds <= cfg.service_level_seconds) f.inTime += 1; }
    else if (r.outcome === "abandoned_queue" && r.wait_seconds > cfg.short_abandon_seconds) f.abandoned += 1;
    figures.set(r.queue, f);
  }
  board.sl = figures;
  renderQueues();
}

function applyAgent(event) {
  const known = board.agents.get(event.agent_id);
  if (!known) { snapshotSoon(); return; }
  const updated = { ...known, state: event.state, reason: event.reason, since: event.since, call_id: event.call_id, queue_ids: event.queue_ids, team_id: event.team_id };
  for (const queue of board.queues.values()) {
    const before = contribution(known, queue.queue_id), after = contribution(updated, queue.queue_id);
    queue.agents_logged_in += after.logged - before.logged;
    queue.agents_available += after.available - before.available;
  }
  board.agents.set(event.agent_id, updated);
  render();
}

function applyQueue(event) {
  const known = board.queues.get(event.queue_id);
  if (!known) { snapshotSoon(); return; }
  Object.assign(known, {
    waiting: event.waiting, longest_wait_seconds: event.longest_wait_seconds, at: Date.now(),
    agents_logged_in: event.agents_logged_in, agents_available: event.agents_available,
    callbacks_pending: event.callbacks_pending, expected_wait_seconds: event.expected_wait_seconds,
  });
  queueEvents = true;
  renderQueues();
}

let queueEvents = false;
function onEvent(event) {
  if (board.calls) board.calls.onEvent(event);
  switch (event.event) {
    case "acd.agent_state": applyAgent(event); break;
    case "acd.queue": applyQueue(event); break;
    case "acd.call_offered": if (!queueEvents) snapshotSoon(); break;
    case "acd.call_answered":
    case "acd.call_ended": if (!queueEvents) snapshotSoon(); serviceLevels(); break;
    default: break;
  }
}

/** The teams shown: a Set of ids, or null for all. */
function teamFilter() {
  const value = $("team").value;
  if (value === "mine") return board.myTeams;
  return value ? new Set([Number(value)]) : null;
}
const shown = (teamId) => { const teams = teamFilter(); return teams === null || teams.has(teamId); };

function renderQueues() {
  const tiles = [...board.queues.values()].map((q) => {
    const wait = q.waiting ? q.longest_wait_seconds + (Date.now() - q.at) / 1000 : 0;
    const f = board.sl.get(q.name);
    const offered = f ? f.answered + f.abandoned : 0;
    const sl = offered ? Math.round((100 * f.inTime) / offered) : null;
    const cfg = board.config.get(q.name);
    const alert = q.waiting > 0 && q.agents_available === 0;
    return h("article", { class: `tile${alert ? " alert" : ""}`, "aria-label": q.name, dataset: { queue: q.name } },
      h("h3", {}, q.name),
      h("div", { class: "figures" },
        h("div", { class: "figure" }, h("b", { dataset: { k: "waiting" } }, q.waiting), h("span", {}, t("wb.waiting"))),
        h("div", { class: "figure" }, h("b", { dataset: { k: "longest" } }, fmtDuration(wait)), h("span", {}, t("wb.longest"))),
        h("div", { class: "figure" }, h("b", { dataset: { k: "sl" } }, sl === null ? "–" : `${sl}%`), h("span", {}, t("wb.sl", { s: cfg ? cfg.service_level_seconds : 20 }))),
        h("div", { class: "figure" }, h("b", { dataset: { k: "available" } }, q.agents_available), h("span", {}, t("wb.available"))),
        h("div", { class: "figure" }, h("b", { dataset: { k: "logged" } }, q.agents_logged_in), h("span", {}, t("wb.logged_in"))),
        h("div", { class: "figure" }, h("b", {}, f ? f.answered : 0), h("span", {}, t("wb.answered_today")))),
      q.callbacks_pending || q.expected_wait_seconds ? h("p", { class: "small muted" },
        q.callbacks_pending ? `${t("wb.callbacks")}: ${q.callbacks_pending} ` : "",
        q.expected_wait_seconds ? `${t("wb.expected")}: ${fmtDuration(q.expected_wait_seconds)}` : "") : null);
  });
  clear($("queues"), tiles.length ? tiles : h("p", { class: "muted" }, t("wb.no_queues")));
}

function renderAgents() {
  const agents = [...board.agents.values()].filter((a) => shown(a.team_id))
    .sort((a, b) => ORDER.indexOf(a.state) - ORDER.indexOf(b.state) || a.username.localeCompare(b.username));
  const queueNames = (ids) => ids.map((id) => (board.queues.get(id) || { name: `#${id}` }).name).join(", ");
  const rows = agents.map((a) => h("tr", { dataset: { agent: a.username } },
    h("td", {}, a.username),
    h("td", {}, a.team_id ? (board.teams.get(a.team_id) || `#${a.team_id}`) : ""),
    h("td", {}, h("span", { class: "state small", dataset: { state: a.state }, "data-role": "state" }, label("state", a.state))),
    h("td", { class: "timer", dataset: { since: a.since || "" } }, a.since && a.state !== "offline" ? fmtDuration(since(a.since)) : ""),
    h("td", {}, a.reason ? board.reasons.get(a.reason) || a.reason : ""),
    h("td", {}, queueNames(a.queue_ids || [])),
    h("td", {}, String(a.calls_today || 0))));
  const head = [t("wb.agent"), t("wb.team"), t("wb.state"), t("wb.in_state"), t("desk.reason"), t("desk.queues"), t("wb.calls_today")];
  clear($("agents"), h("table", {}, h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: head.length, class: "empty" }, t("wb.no_agents"))))));
  const counts = new Map();
  for (const a of agents) counts.set(a.state, (counts.get(a.state) || 0) + 1);
  clear($("counts"), ORDER.filter((s) => counts.get(s)).map((s) => h("span", { class: "state small", dataset: { state: s } }, `${label("state", s)} ${counts.get(s)}`)));
}

function render() { renderQueues(); renderAgents(); if (board.calls) board.calls.render(); }

function tick() {
  for (const cell of document.querySelectorAll("#agents td[data-since], #calls td[data-since]")) {
    if (cell.dataset.since && cell.textContent) cell.textContent = fmtDuration(since(cell.dataset.since));
  }
  for (const tile of document.querySelectorAll("#queues [data-queue]")) {
    const q = [...board.queues.values()].find((x) => x.name === tile.dataset.queue);
    if (q && q.waiting) tile.querySelector("[data-k=longest]").textContent = fmtDuration(q.longest_wait_seconds + (Date.now() - q.at) / 1000);
  }
}

async function start() {
  const [teams, queues, reasons] = await Promise.all([attempt(() => get("/teams?limit=500")), attempt(() => get("/queues?limit=500")), attempt(() => get("/reason-codes?limit=500"))]);
  for (const r of reasons ? reasons.items : []) board.reasons.set(r.name, (r.labels && r.labels[LANG]) || r.name);
  for (const team of teams ? teams.items : []) {
    board.teams.set(team.id, team.name);
    if (ME && team.supervisor_ids.includes(ME.user_id)) board.myTeams.add(team.id);
  }
  for (const q of queues ? queues.items : []) board.config.set(q.name, q);
  const mine = board.myTeams.size ? h("option", { value: "mine" }, t("sup.my_teams")) : null;
  clear($("team"), mine, h("option", { value: "" }, t("wb.all_teams")), [...board.teams].map(([id, name]) => h("option", { value: String(id) }, name)));
  $("team").value = mine ? "mine" : "";
  board.calls = new LiveCalls({ node: $("calls"), agents: board.agents, myTeams: board.myTeams, visible: shown });
  $("team").addEventListener("change", render);
  await snapshot();
  await board.calls.snapshot();
  await serviceLevels();
  new EventStream({ onEvent, onStatus: streamBadge($("stream")), onReconnect: async () => { await snapshot(); await board.calls.snapshot(); } });
  setInterval(tick, 1000);
  document.documentElement.dataset.ready = LANG;
}

start();
