// Records: recordings (search and play in the browser), the voicemail inbox, work orders
// (list and detail with status, comments and timeline) and customers with their timeline.
import { ME, api, attempt, clear, field, fmtDate, fmtDuration, get, h, label, qs, t, table, tabs } from "./common.js";

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const STAFF = ME && ME.role !== "agent";

function play(url, title) {
  const player = $("player");
  $("player-box").hidden = false;
  $("player-title").textContent = title;
  player.src = url;
  player.play().catch(() => { /* the user presses play */ });
}

function pager(page, offset, go) {
  if (page.total <= PAGE) return null;
  return h("div", { class: "pager" },
    h("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, t("common.prev")),
    h("span", {}, t("common.range", { from: offset + 1, to: Math.min(page.total, offset + PAGE), total: page.total })),
    h("button", { type: "button", class: "secondary", disabled: offset + PAGE >= page.total, onclick: () => go(offset + PAGE) }, t("common.next")));
}

// -- recordings ------------------------------------------------------------------------------

async function recordings(panel) {
  const caller = h("input", { type: "search" });
  const agent = h("input", { type: "search", value: STAFF ? "" : ME.username, disabled: !STAFF });
  const from = h("input", { type: "date" });
  const to = h("input", { type: "date" });
  const listBox = h("div");
  const iso = (day, end) => { if (!day) return ""; const d = new Date(`${day}T00:00:00`); if (end) d.setDate(d.getDate() + 1); return d.toISOString(); };
  async function load(offset = 0) {
    const page = await attempt(() => get(`/recordings${qs({ caller: caller.value, agent: STAFF ? agent.value : "", started_from: iso(from.value), started_to: iso(to.value, true), limit: PAGE, offset })}`));
    if (!page) return;
    clear(listBox, table(null, [
      [t("rec.started"), (r) => fmtDate(r.started_at)],
      [t("rec.caller"), (r) => r.caller],
      [t("rec.callee"), (r) => r.callee],
      [t("rec.agent"), (r) => r.agent || ""],
      [t("rec.duration"), (r) => fmtDuration(r.duration_seconds)],
      [t("rec.status"), (r) => label("recstatus", r.status)],
      [t("rec.play"), (r) => h("button", { type: "button", class: "secondary", "data-recording": String(r.id), disabled: r.status === "recording" || r.status === "failed",
        onclick: () => play(`/${r.audio_url.replace(/^\//, "")}`, `${fmtDate(r.started_at)} · ${r.caller} → ${r.callee}`) }, `▶ ${t("rec.play")}`)],
      [t("rec.download"), (r) => h("a", { href: `/${r.audio_url.replace(/^\//, "")}`, download: `recording-${r.id}.wav` }, "WAV")],
    ], page.items, { empty: t("rec.no_recordings") }), pager(page, offset, load));
  }
  const form = h("form", { class: "filters", role: "search" },
    field("r-caller", t("rec.caller"), caller), field("r-agent", t("rec.agent"), agent),
    field("r-from", t("rec.from"), from), field("r-to", t("rec.to"), to), h("button", { type: "submit" }, t("rec.search")));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(0); });
  clear(panel, h("h2", {}, t("rec.recordings")), form, listBox);
  await load(0);
}

// -- voicemail ---------------------------------------------------------------------------------

async function voicemail(panel) {
  const boxes = await attempt(() => get("/voicemail-boxes?limit=200"));
  const choice = h("select", {}, (boxes ? boxes.items : []).map((b) => h("option", { value: String(b.id) }, b.name)));
  const unheard = h("input", { type: "checkbox" });
  const listBox = h("div");
  async function load(offset = 0) {
    if (!choice.value) { clear(listBox, h("p", { class: "muted" }, t("rec.no_boxes"))); return; }
    const page = await attempt(() => get(`/voicemail-boxes/${choice.value}/messages${qs({ heard: unheard.checked ? "false" : "", limit: PAGE, offset })}`));
    if (!page) return;
    clear(listBox, table(null, [
      [t("rec.received"), (m) => fmtDate(m.received_at)],
      [t("rec.caller"), (m) => m.caller],
      [t("rec.duration"), (m) => fmtDuration(m.duration_seconds)],
      [t("rec.heard"), (m) => (m.heard ? `${t("common.yes")} (${m.heard_by || ""})` : h("strong", {}, t("rec.new")))],
      [t("rec.play"), (m) => h("button", { type: "button", class: "secondary", onclick: () => { play(`/api/v1/voicemail-messages/${m.id}/audio`, `${fmtDate(m.received_at)} · ${m.caller}`); setTimeout(() => load(offset), 500); } }, `▶ ${t("rec.play")}`)],
      ["", (m) => h("button", { type: "button", class: "ghost", onclick: async () => { if (await attempt(() => api("PATCH", `/voicemail-messages/${m.id}`, { heard: !m.heard }))) load(offset); } }, m.heard ? t("rec.mark_new") : t("rec.mark_heard"))],
    ], page.items, { empty: t("rec.no_messages") }), pager(page, offset, load));
  }
  choice.addEventListener("change", () => load(0));
  unheard.addEventListener("change", () => load(0));
  clear(panel, h("h2", {}, t("rec.voicemail")), h("div", { class: "filters" }, field("v-box", t("rec.box"), choice),
    h("label", { class: "check" }, unheard, ` ${t("rec.only_new")}`)), listBox);
  await load(0);
}

// -- work orders ----------------------------------------------------------------------------------

const STATUSES = ["new", "open", "pending", "resolved", "closed"];
const PRIORITIES = ["low", "normal", "high", "urgent"];

async function workorders(panel, id) {
  if (id) { await workorder(panel, Number(id)); return; }
  const q = h("input", { type: "search" });
  const status = h("select", {}, h("option", { value: "" }, t("common.all")), STATUSES.map((s) => h("option", { value: s }, label("wostatus", s))));
  const priority = h("select", {}, h("option", { value: "" }, t("common.all")), PRIORITIES.map((p) => h("option", { value: p }, label("priority", p))));
  const listBox = h("div");
  async function load(offset = 0) {
    const page = await attempt(() => get(`/workorders${qs({ q: q.value, status: status.value, priority: priority.value, limit: PAGE, offset })}`));
    if (!page) return;
    clear(listBox, table(null, [
      ["#", (w) => w.id], [t("wo.title"), (w) => w.title], [t("wo.status"), (w) => label("wostatus", w.status)],
      [t("wo.priority"), (w) => label("priority", w.priority)], [t("wo.caller"), (w) => w.caller_number || ""],
      [t("wo.due"), (w) => fmtDate(w.resolution_due_at)], [t("wo.sla"), (w) => (w.breached ? h("span", { class: "badge bad" }, t("wo.breached")) : h("span", { class: "badge ok" }, t("wo.on_time")))],
      [t("wo.created_at"), (w) => fmtDate(w.created_at)],
    ], page.items, { empty: t("wo.none"), onRow: (w) => { location.hash = `workorder/${w.id}`; }, rowLabel: (w) => `#${w.id} ${w.title}` }), pager(page, offset, load));
  }
  const form = h("form", { class: "filters", role: "search" }, field("w-q", t("wo.search"), q), field("w-status", t("wo.status"), status), field("w-priority", t("wo.priority"), priority), h("button", { type: "submit" }, t("rec.search")));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(0); });
  clear(panel, h("h2", {}, t("rec.workorders")), form, listBox);
  await load(0);
}

async function workorder(panel, id) {
  const [w, comments, timeline, departments] = await Promise.all([
    attempt(() => get(`/workorders/${id}`)), attempt(() => get(`/workorders/${id}/comments`)),
    attempt(() => get(`/workorders/${id}/timeline`)), attempt(() => get("/departments?limit=200"))]);
  if (!w) return;
  const dept = departments ? departments.items.find((d) => d.id === w.department_id) : null;
  const person = w.customer_id ? await attempt(() => get(`/customers/${w.customer_id}`)) : null;
  const status = h("select", {}, STATUSES.map((s) => h("option", { value: s, selected: s === w.status }, label("wostatus", s))));
  const note = h("input", {});
  const statusForm = h("form", { class: "filters" }, field("wo-status", t("wo.status"), status), field("wo-status-note", t("wo.comment"), note), h("button", { type: "submit" }, t("wo.change_status")));
  statusForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await attempt(() => api("POST", `/workorders/${id}/status`, { status: status.value, comment: note.value || null }), t("adm.saved"))) workorder(panel, id);
  });
  const body = h("textarea", { rows: 3, required: true });
  const internal = h("input", { type: "checkbox" });
  const commentForm = h("form", {}, field("wo-comment", t("wo.add_comment"), body), h("label", { class: "check" }, internal, ` ${t("wo.internal")}`), h("div", { class: "buttons" }, h("button", { type: "submit" }, t("wo.add_comment"))));
  commentForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await attempt(() => api("POST", `/workorders/${id}/comments`, { body: body.value, internal: internal.checked }))) workorder(panel, id);
  });
  clear(panel,
    h("p", {}, h("a", { href: "#workorders" }, `← ${t("rec.workorders")}`)),
    h("h2", {}, `#${w.id} ${w.title}`, " ", h("span", { class: `badge ${w.breached ? "bad" : "ok"}` }, w.breached ? t("wo.breached") : t("wo.on_time"))),
    h("div", { class: "detail" },
      h("div", {},
        h("dl", { class: "kv" },
          h("dt", {}, t("wo.status")), h("dd", {}, label("wostatus", w.status)),
          h("dt", {}, t("wo.priority")), h("dd", {}, label("priority", w.priority)),
          h("dt", {}, t("wo.department")), h("dd", {}, dept ? dept.name : ""),
          h("dt", {}, t("wo.source")), h("dd", {}, label("wosource", w.source)),
          h("dt", {}, t("wo.caller")), h("dd", {}, w.caller_number || ""),
          h("dt", {}, t("desk.customer")), h("dd", {}, w.customer_id ? h("a", { href: `#customer/${w.customer_id}` }, person ? person.name : `#${w.customer_id}`) : ""),
          h("dt", {}, t("wo.first_response_due")), h("dd", {}, fmtDate(w.first_response_due_at)),
          h("dt", {}, t("wo.due")), h("dd", {}, fmtDate(w.resolution_due_at)),
          h("dt", {}, t("wo.created_at")), h("dd", {}, fmtDate(w.created_at))),
        h("div", { class: "article-body" }, w.description),
        statusForm),
      h("div", {},
        h("h3", {}, t("wo.comments")),
        h("ul", { class: "timeline" }, (comments || []).map((c) => h("li", {}, h("strong", {}, c.author), " ", h("span", { class: "muted" }, fmtDate(c.created_at)), c.internal ? h("span", { class: "badge warn" }, t("wo.internal")) : null, h("div", {}, c.body)))),
        commentForm,
        h("h3", {}, t("wo.timeline")),
        h("ul", { class: "timeline" }, (timeline || []).map((e) => h("li", {}, h("span", { class: "muted" }, fmtDate(e.at)), ` ${e.actor}: ${label("wotimeline", e.kind)}`))))));
}

// -- customers -------------------------------------------------------------------------------------

async function customers(panel, id) {
  if (id) { await customer(panel, Number(id)); return; }
  const q = h("input", { type: "search" });
  const listBox = h("div");
  async function load(offset = 0) {
    const page = await attempt(() => get(`/customers${qs({ q: q.value, limit: PAGE, offset })}`));
    if (!page) return;
    clear(listBox, table(null, [
      [t("cust.name"), (c) => c.name], [t("cust.company"), (c) => c.company || ""], [t("cust.tier"), (c) => label("tier", c.tier)],
      [t("cust.phones"), (c) => c.phones.map((p) => p.e164).join(", ")], [t("cust.region"), (c) => c.region || ""],
    ], page.items, { empty: t("cust.none"), onRow: (c) => { location.hash = `customer/${c.id}`; }, rowLabel: (c) => c.name }), pager(page, offset, load));
  }
  const form = h("form", { class: "filters", role: "search" }, field("c-q", t("cust.search"), q), h("button", { type: "submit" }, t("rec.search")));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(0); });
  clear(panel, h("h2", {}, t("rec.customers")), form, listBox);
  await load(0);
}

function detailText(detail) {
  return Object.entries(detail || {}).filter(([, v]) => v !== null && v !== "").map(([k, v]) => `${k}: ${v}`).join(" · ");
}

async function customer(panel, id) {
  const [c, timeline] = await Promise.all([attempt(() => get(`/customers/${id}`)), attempt(() => get(`/customers/${id}/timeline?limit=100`))]);
  if (!c) return;
  const body = h("textarea", { rows: 2, required: true });
  const noteForm = h("form", {}, field("c-note", t("cust.add_note"), body), h("div", { class: "buttons" }, h("button", { type: "submit" }, t("cust.add_note"))));
  noteForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await attempt(() => api("POST", `/customers/${id}/notes`, { body: body.value }))) customer(panel, id);
  });
  const custom = Object.entries(c.custom_fields || {});
  clear(panel,
    h("p", {}, h("a", { href: "#customers" }, `← ${t("rec.customers")}`)),
    h("h2", {}, c.name, " ", h("span", { class: "badge" }, label("tier", c.tier))),
    h("div", { class: "detail" },
      h("div", {},
        h("dl", { class: "kv" },
          h("dt", {}, t("cust.title")), h("dd", {}, c.title || ""),
          h("dt", {}, t("cust.company")), h("dd", {}, c.company || ""),
          h("dt", {}, t("cust.phones")), h("dd", {}, c.phones.map((p) => h("div", {}, `${p.e164} (${label("phonelabel", p.label)}) `,
            h("a", { href: `/desktop?dial=${encodeURIComponent(p.e164)}`, "aria-label": `${t("desk.dial")} ${p.e164}` }, `☎ ${t("desk.dial")}`)))),
          h("dt", {}, t("cust.emails")), h("dd", {}, c.emails.join(", ")),
          h("dt", {}, t("cust.addresses")), h("dd", {}, c.addresses.map((a) => h("div", {}, [a.label, a.line1, a.line2, a.city, a.state, a.postal_code, a.country].filter(Boolean).join(", "), a.default ? ` (${t("cust.default")})` : ""))),
          h("dt", {}, t("cust.region")), h("dd", {}, c.region || ""),
          h("dt", {}, t("lang.label")), h("dd", {}, c.language || ""),
          h("dt", {}, t("cust.tags")), h("dd", {}, c.tags.join(", ")),
          custom.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
        c.notes ? h("div", { class: "article-body" }, c.notes) : null,
        noteForm),
      h("div", {},
        h("h3", {}, t("cust.timeline")),
        h("ul", { class: "timeline" }, (timeline ? timeline.items : []).map((e) => h("li", {},
          h("span", { class: "muted" }, fmtDate(e.at)), " ", h("span", { class: "badge" }, label("timeline", e.kind)), " ", e.title,
          detailText(e.detail) ? h("div", { class: "muted small" }, detailText(e.detail)) : null))))));
}

// -- routing ------------------------------------------------------------------------------------------

const PANELS = { recordings, voicemail, workorders, customers };
const ALIAS = { workorder: "workorders", customer: "customers" };
let showing = "";
const select = tabs($("record-tabs"), (name) => {
  const [hashName] = (location.hash.slice(1) || "recordings").split("/");
  if ((ALIAS[hashName] || hashName) !== name) location.hash = name;
  else if (showing !== location.hash) route();
});

async function route() {
  const [name, id] = (location.hash.slice(1) || "recordings").split("/");
  const tab = ALIAS[name] || (PANELS[name] ? name : "recordings");
  showing = location.hash;
  select(tab);
  const panel = $(`panel-${tab}`);
  await PANELS[tab](panel, id);
  document.documentElement.dataset.ready = tab;
}

window.addEventListener("hashchange", route);
route();
