// The visual IVR flow designer (vendored Drawflow): nodes on a canvas, their fields in the
// side panel, each outgoing path an output port (also set from the panel with the keyboard).
// Saves the draft and publishes through /flows, the same documents helpline.ivr runs.
import { ApiError, START, api, attempt, clear, h, label, problem, t, toast } from "./common.js";
import { DEFAULTS, TYPES, joinNode, layout, portsOf, splitNode } from "./flowdoc.js";

const $ = (id) => document.getElementById(id);
const flowId = START.flow_id;
const LAYOUT_KEY = `helpline.flow.${flowId}.layout`;
const editor = new window.Drawflow($("drawflow"));
editor.reroute = false;
editor.start();

/** dfId -> {id, type, fields, targets: {port: dfId}} */
const nodes = new Map();
let flow = null;
let selected = null;
let docLanguage = null;
let docVariables = {};
let muted = false;
window.helplineDesigner = { nodes, editor };

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const byNodeId = (id) => [...nodes.entries()].find(([, n]) => n.id === id);

function markDirty(on = true) { $("dirty").textContent = on ? t("flow.unsaved") : ""; }

function nodeHtml(node) {
  const ports = portsOf(node.type, node.fields).map(portLabel);
  const box = h("div", { class: "dfnode" }, h("div", { class: "kind" }, label("node", node.type)),
    h("div", { class: "nid" }, node.id), h("div", { class: "ports" }, ports.join(" · ")));
  return box.outerHTML;
}

function portLabel(port) {
  const key = port.match(/^options\.(.*)$/);
  if (key) return t("flow.key", { key: key[1] });
  const route = port.match(/^routes\.(\d+)\.next$/);
  if (route) return t("flow.route", { n: Number(route[1]) + 1 });
  return label("port", port);
}

function refreshNode(dfId) {
  const node = nodes.get(dfId);
  const element = document.getElementById(`node-${dfId}`);
  if (!element) return;
  element.querySelector(".drawflow_content_node").innerHTML = nodeHtml(node);
  element.classList.toggle("is-start", $("start-node").value === node.id);
  const ports = portsOf(node.type, node.fields);
  element.querySelectorAll(".outputs .output").forEach((out, i) => { out.title = ports[i] || ""; out.setAttribute("aria-label", ports[i] || ""); });
}

function addNode(type, id, fields, x, y) {
  const ports = portsOf(type, fields);
  const dfId = editor.addNode(type, 1, ports.length, x, y, `t-${type}`, {}, "");
  nodes.set(dfId, { id, type, fields, targets: {} });
  refreshNode(dfId);
  return dfId;
}

function connect(fromDf, port, toDf) {
  const node = nodes.get(fromDf);
  const index = portsOf(node.type, node.fields).indexOf(port);
  if (index < 0 || !nodes.has(toDf)) return;
  const current = node.targets[port];
  muted = true;
  if (current && nodes.has(current)) editor.removeSingleConnection(fromDf, current, `output_${index + 1}`, "input_1");
  if (toDf) editor.addConnection(fromDf, toDf, `output_${index + 1}`, "input_1");
  muted = false;
  node.targets[port] = toDf;
}

function disconnect(fromDf, port) {
  const node = nodes.get(fromDf);
  const index = portsOf(node.type, node.fields).indexOf(port);
  const current = node.targets[port];
  if (current && nodes.has(current) && index >= 0) {
    muted = true;
    editor.removeSingleConnection(fromDf, current, `output_${index + 1}`, "input_1");
    muted = false;
  }
  delete node.targets[port];
}

/** Change a node's ports (menu keys, http routes), keeping the links of ports that stay. */
function reshape(dfId, mutate) {
  const node = nodes.get(dfId);
  const before = portsOf(node.type, node.fields);
  const kept = { ...node.targets };
  muted = true;
  for (let i = before.length; i >= 1; i -= 1) editor.removeNodeOutput(dfId, `output_${i}`);
  mutate(node);
  const after = portsOf(node.type, node.fields);
  for (let i = 0; i < after.length; i += 1) editor.addNodeOutput(dfId);
  muted = false;
  node.targets = {};
  for (const port of after) if (kept[port]) connect(dfId, port, kept[port]);
  refreshNode(dfId);
}

function toDocument() {
  const out = { start: $("start-node").value, nodes: {} };
  for (const node of nodes.values()) {
    const targets = {};
    for (const [port, dfId] of Object.entries(node.targets)) if (nodes.has(dfId)) targets[port] = nodes.get(dfId).id;
    out.nodes[node.id] = joinNode(node.type, node.fields, targets);
  }
  if (docLanguage) out.language = docLanguage;
  if (Object.keys(docVariables).length) out.variables = docVariables;
  return out;
}

function saveLayout() {
  const places = {};
  for (const [dfId, node] of nodes) {
    const data = editor.getNodeFromId(dfId);
    places[node.id] = [data.pos_x, data.pos_y];
  }
  try { localStorage.setItem(LAYOUT_KEY, JSON.stringify(places)); } catch { /* private mode */ }
}

function load(document) {
  muted = true;
  editor.clear();
  muted = false;
  nodes.clear();
  docLanguage = document.language || null;
  docVariables = document.variables || {};
  $("flow-language").value = docLanguage || "";
  let stored = {};
  try { stored = JSON.parse(localStorage.getItem(LAYOUT_KEY) || "{}"); } catch { stored = {}; }
  const place = layout(document);
  const parts = {};
  for (const [id, raw] of Object.entries(document.nodes || {})) {
    const part = splitNode(raw);
    const [x, y] = stored[id] || [30 + place[id][0] * 215, 25 + place[id][1] * 105];
    parts[id] = { dfId: addNode(part.type, id, part.fields, x, y), targets: part.targets };
  }
  for (const { dfId, targets } of Object.values(parts)) {
    for (const [port, target] of Object.entries(targets)) if (parts[target]) connect(dfId, port, parts[target].dfId);
  }
  renderPicker(document.start);
  select(parts[document.start] ? parts[document.start].dfId : null);
  markDirty(false);
}

function renderPicker(startId) {
  const ids = [...nodes.values()].map((n) => n.id).sort();
  const start = startId ?? $("start-node").value;
  clear($("start-node"), ids.map((id) => h("option", { value: id, selected: id === start }, id)));
  clear($("node-picker"), h("option", { value: "" }, "—"), [...nodes.entries()].map(([dfId, n]) => h("option", { value: String(dfId), selected: dfId === selected }, `${n.id} (${label("node", n.type)})`)));
  for (const dfId of nodes.keys()) refreshNode(dfId);
}

// -- the property panel -----------------------------------------------------------------------

function promptText(prompt) {
  if (!prompt || prompt.text === undefined || prompt.text === null) return "";
  return typeof prompt.text === "string" ? prompt.text : JSON.stringify(prompt.text);
}

function setPrompt(fields, key, names, text) {
  const list = names.split(",").map((s) => s.trim()).filter(Boolean);
  let value = text.trim();
  if (value.startsWith("{")) { try { value = JSON.parse(value); } catch { /* keep as text */ } }
  if (!list.length && !value) { delete fields[key]; return; }
  fields[key] = { ...(list.length ? { names: list } : {}), ...(value ? { text: value } : {}) };
}

const SIMPLE = {
  play: [["prompt"]],
  menu: [["prompt"], ["keys", "list"], ["timeout", "number"], ["retries", "number"]],
  collect: [["prompt"], ["into"], ["min_length", "number"], ["max_length", "number"], ["pattern"], ["private", "bool"]],
  http: [["method", ["GET", "POST", "PUT", "PATCH", "DELETE"]], ["url"], ["timeout", "number"]],
  say: [["kind", ["number", "digits", "amount", "date"]], ["value"], ["currency"]],
  set: [["variable"], ["value"]],
  condition: [["variable"], ["operator", ["eq", "ne", "lt", "le", "gt", "ge", "in", "empty", "matches"]], ["value"]],
  language: [["language", ["en", "zh", "ko"]]],
  queue: [["queue"], ["priority"], ["data", "list"]],
  voicemail: [["box"]],
  transfer: [["number"], ["agent"]],
  survey: [["questions", "lines"], ["scale", "number"]],
  sms: [["template"], ["text"], ["to"]],
  hangup: [["prompt"]],
};

function input(dfId, name, kind) {
  const node = nodes.get(dfId);
  const f = node.fields;
  const id = `p-${name}`;
  const changed = (apply) => () => { apply(); markDirty(); refreshNode(dfId); renderAdvanced(dfId); };
  if (name === "prompt") {
    const names = h("input", { id: "p-prompt-names", value: (f.prompt && f.prompt.names || []).join(", ") });
    const text = h("textarea", { id: "p-prompt-text", rows: 2 }, promptText(f.prompt));
    const update = changed(() => setPrompt(f, "prompt", names.value, text.value));
    names.addEventListener("change", update);
    text.addEventListener("change", update);
    return [h("div", { class: "field" }, h("label", { for: "p-prompt-names" }, t("flow.prompt_names")), names),
      h("div", { class: "field" }, h("label", { for: "p-prompt-text" }, t("flow.prompt_text")), text)];
  }
  let control;
  if (Array.isArray(kind)) control = h("select", { id }, kind.map((v) => h("option", { value: v, selected: f[name] === v }, v)));
  else if (kind === "bool") control = h("input", { id, type: "checkbox", checked: Boolean(f[name]) });
  else if (kind === "lines") control = h("textarea", { id, rows: 3 }, (f.questions || []).map((q) => promptText(q.prompt)).join("\n"));
  else if (name === "text") control = h("textarea", { id, rows: 2 }, typeof f.text === "object" && f.text !== null ? JSON.stringify(f.text) : f.text ?? "");
  else control = h("input", { id, type: kind === "number" ? "number" : "text", step: "any", value: kind === "list" ? (f[name] || []).join(", ") : f[name] ?? "" });
  control.addEventListener("change", () => {
    if (name === "keys") {
      const keys = control.value.split(",").map((s) => s.trim()).filter(Boolean);
      reshape(dfId, (n) => { n.fields.keys = keys; });
      markDirty();
      renderProps(dfId);
      return;
    }
    changed(() => {
      const v = control.value;
      if (kind === "bool") f[name] = control.checked;
      else if (kind === "lines") f.questions = v.split("\n").map((s) => s.trim()).filter(Boolean).map((text) => ({ prompt: { text } }));
      else if (kind === "list") { const list = v.split(",").map((s) => s.trim()).filter(Boolean); if (list.length) f[name] = list; else delete f[name]; }
      else if (v === "") delete f[name];
      else if (name === "text" && v.trim().startsWith("{")) { try { f.text = JSON.parse(v); } catch { f.text = v; } }
      else if (kind === "number") f[name] = Number(v);
      else if (name === "value" && f.operator === "in") f[name] = v.split(",").map((s) => s.trim());
      else f[name] = v;
    })();
  });
  return [h("div", { class: kind === "bool" ? "field check" : "field" }, h("label", { for: id }, label("field", name)), control)];
}

function renderAdvanced(dfId) {
  const area = $("p-advanced");
  if (area && document.activeElement !== area) area.value = JSON.stringify(nodes.get(dfId).fields, null, 2);
}

function renderProps(dfId) {
  const form = $("props");
  if (dfId === null || !nodes.has(dfId)) { clear(form, h("p", { class: "muted" }, t("flow.none_selected"))); return; }
  const node = nodes.get(dfId);
  const idInput = h("input", { id: "p-id", value: node.id, required: true, maxlength: 64 });
  idInput.addEventListener("change", () => {
    const value = idInput.value.trim();
    if (!idPattern.test(value) || (byNodeId(value) && byNodeId(value)[0] !== dfId)) { toast(t("flow.bad_id"), "error"); idInput.value = node.id; return; }
    const wasStart = $("start-node").value === node.id;
    node.id = value;
    renderPicker(wasStart ? value : undefined);
    markDirty();
  });
  const links = portsOf(node.type, node.fields).map((port) => {
    const choice = h("select", { id: `link-${port}`, "data-port": port },
      h("option", { value: "" }, t("flow.not_linked")),
      [...nodes.entries()].filter(([other]) => other !== dfId).map(([other, n]) => h("option", { value: String(other), selected: node.targets[port] === other }, n.id)));
    choice.addEventListener("change", () => {
      if (choice.value) connect(dfId, port, Number(choice.value)); else disconnect(dfId, port);
      markDirty();
    });
    return h("div", { class: "field" }, h("label", { for: choice.id }, `${portLabel(port)} →`), choice);
  });
  const advanced = h("textarea", { id: "p-advanced", class: "json", rows: 6, spellcheck: "false" });
  const apply = h("button", { type: "button", class: "secondary", onclick: () => {
    let fields;
    try { fields = JSON.parse(advanced.value); } catch (error) { toast(t("adm.bad_json", { error: error.message }), "error"); return; }
    reshape(dfId, (n) => { n.fields = fields; });
    markDirty();
    renderProps(dfId);
  } }, t("flow.apply"));
  clear(form,
    h("p", {}, h("span", { class: "badge" }, label("node", node.type))),
    h("div", { class: "field" }, h("label", { for: "p-id" }, t("flow.node_id")), idInput),
    (SIMPLE[node.type] || []).map(([name, kind]) => input(dfId, name, kind)),
    links.length ? h("fieldset", {}, h("legend", {}, t("flow.links")), links) : null,
    h("details", {}, h("summary", {}, t("flow.advanced")), h("div", { class: "field" }, h("label", { for: "p-advanced" }, t("flow.fields_json")), advanced), apply),
    h("div", { class: "buttons" },
      h("button", { type: "button", class: "secondary", onclick: () => { $("start-node").value = node.id; renderPicker(); markDirty(); } }, t("flow.make_start")),
      h("button", { type: "button", class: "danger", onclick: () => { editor.removeNodeId(`node-${dfId}`); } }, t("flow.delete_node"))));
  renderAdvanced(dfId);
}

function select(dfId) {
  selected = dfId;
  $("node-picker").value = dfId === null ? "" : String(dfId);
  renderProps(dfId);
}

// -- validation, saving, publishing ------------------------------------------------------------------

function showProblems(check) {
  for (const dfId of nodes.keys()) { const el = document.getElementById(`node-${dfId}`); if (el) el.classList.remove("has-error"); }
  const box = $("problems");
  if (!check) { clear(box); return; }
  const item = (p, kind) => {
    const found = p.node ? byNodeId(p.node) : null;
    if (found && kind === "error") document.getElementById(`node-${found[0]}`).classList.add("has-error");
    return h("li", {}, found ? h("button", { type: "button", class: "link", onclick: () => select(found[0]) }, p.node) : p.node || t("flow.document"), p.field ? ` · ${p.field}` : "", `: ${p.message}`);
  };
  clear(box,
    check.valid ? h("p", { class: "badge ok" }, t("flow.valid")) : h("h3", { class: "problems" }, t("flow.errors", { count: check.errors.length })),
    check.errors.length ? h("ul", { class: "problems" }, check.errors.map((p) => item(p, "error"))) : null,
    check.warnings.length ? h("ul", { class: "muted" }, check.warnings.map((p) => item(p, "warning"))) : null);
}

async function validate() {
  const check = await attempt(() => api("POST", "/flows/validate", toDocument()));
  if (check) showProblems(check);
  return check;
}

async function save(quiet) {
  const saved = await attempt(() => api("PATCH", `/flows/${flowId}`, { document: toDocument() }), quiet ? undefined : t("flow.saved"));
  if (saved) { saveLayout(); showProblems(saved.problems); markDirty(false); }
  return saved;
}

async function publish() {
  const saved = await save(true);
  if (!saved) return;
  if (!saved.problems.valid) { toast(t("flow.fix_first"), "error"); return; }
  try {
    const version = await api("POST", `/flows/${flowId}/publish`);
    $("flow-version").textContent = t("flow.published_v", { version: version.version });
    $("flow-version").className = "badge ok";
    toast(t("flow.published", { version: version.version }), "ok");
  } catch (error) {
    if (error instanceof ApiError && Array.isArray(error.details)) showProblems({ valid: false, errors: error.details, warnings: [] });
    toast(problem(error), "error");
  }
}

// -- wiring ---------------------------------------------------------------------------------------------

editor.on("nodeSelected", (id) => select(Number(id)));
editor.on("nodeUnselected", () => {});
editor.on("nodeMoved", () => saveLayout());
editor.on("nodeRemoved", (id) => {
  const dfId = Number(id);
  nodes.delete(dfId);
  for (const node of nodes.values()) for (const [port, target] of Object.entries(node.targets)) if (target === dfId) delete node.targets[port];
  if (selected === dfId) select(null);
  renderPicker();
  markDirty();
});
editor.on("connectionCreated", (c) => {
  if (muted) return;
  const from = nodes.get(Number(c.output_id));
  const port = portsOf(from.type, from.fields)[Number(c.output_class.split("_")[1]) - 1];
  const previous = from.targets[port];
  if (previous && previous !== Number(c.input_id)) {
    muted = true;
    editor.removeSingleConnection(c.output_id, previous, c.output_class, "input_1");
    muted = false;
  }
  from.targets[port] = Number(c.input_id);
  if (selected === Number(c.output_id)) renderProps(selected);
  markDirty();
});
editor.on("connectionRemoved", (c) => {
  if (muted) return;
  const from = nodes.get(Number(c.output_id));
  if (!from) return;
  const port = portsOf(from.type, from.fields)[Number(c.output_class.split("_")[1]) - 1];
  if (from.targets[port] === Number(c.input_id)) delete from.targets[port];
  if (selected === Number(c.output_id)) renderProps(selected);
  markDirty();
});

clear($("palette"), TYPES.map((type) => h("button", { type: "button", class: "secondary", "data-type": type, onclick: () => {
  let n = 1;
  while (byNodeId(`${type}${n}`)) n += 1;
  const count = nodes.size;
  const dfId = addNode(type, `${type}${n}`, DEFAULTS[type](), 60 + (count % 4) * 60, 60 + (count % 6) * 70);
  renderPicker();
  select(dfId);
  markDirty();
  $("p-id").focus();
} }, `+ ${label("node", type)}`)));
$("node-picker").addEventListener("change", () => select($("node-picker").value ? Number($("node-picker").value) : null));
$("start-node").addEventListener("change", () => { renderPicker(); markDirty(); });
$("flow-language").addEventListener("change", () => { docLanguage = $("flow-language").value || null; markDirty(); });
$("validate").addEventListener("click", validate);
$("save").addEventListener("click", () => save(false));
$("publish").addEventListener("click", publish);
window.addEventListener("beforeunload", (ev) => { if ($("dirty").textContent) ev.preventDefault(); });

(async () => {
  const loaded = await attempt(() => api("GET", `/flows/${flowId}`));
  if (!loaded) return;
  flow = loaded;
  $("flow-name").textContent = `${t("flow.designer")}: ${flow.name}`;
  $("flow-version").textContent = flow.latest_version ? t("flow.published_v", { version: flow.latest_version }) : t("flow.draft_only");
  load(flow.document);
  showProblems(flow.problems);
  document.documentElement.dataset.ready = "designer";
})();
