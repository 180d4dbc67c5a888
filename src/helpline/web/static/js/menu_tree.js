// The IVR tree-menu editor's model and its two-way mapping to flow documents (the JSON
// helpline.ivr.flow checks and runs). Pure: no DOM, so Node.js tests run it as is.
//
// A tree is {prompt, timeout, retries, keys: [{key, dest}]}; a ``dest`` is
// {kind: "queue", queue} | {kind: "menu", menu} | {kind: "voicemail", box} |
// {kind: "transfer", number} | {kind: "agent", agent} | {kind: "hangup", prompt} |
// {kind: "back"}; a prompt is {names: [...], text: {en, zh, ko}}. Node ids come from the
// path: the root menu is ``main``, its key 1 ``main_1``, that menu's key 2 ``main_1_2``
// (* and # are ``star`` and ``hash``); every menu's ``on_fail`` is the ``goodbye`` node.
// A document read back keeps its own ids where they differ from those (a flow drawn in
// the visual designer): a key's ``id``, the tree's ``rootId`` and ``goodbyeId``, so that
// statistics per IVR node go on under the same names after an edit here.

export const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];
export const KINDS = ["queue", "menu", "voicemail", "transfer", "agent", "hangup", "back"];
export const LANGUAGES = ["en", "zh", "ko"];
export const ROOT = "main";
const GOODBYE = "goodbye";
const DEFAULT_GOODBYE = { type: "hangup", prompt: { names: ["ivr/goodbye"] } };
const KEY_IDS = { "*": "star", "#": "hash" };
/** Fields that may be present with their default value (published documents have them). */
const DEFAULTS = {
  invalid_prompt: { names: ["ivr/invalid-option"] },
  no_input_prompt: { names: ["ivr/please-try-again"] },
  priority: 0,
  skills: {},
};
/** Fields each node type may have to be shown by the tree editor without loss. */
const ALLOWED = {
  menu: ["type", "prompt", "options", "timeout", "retries", "on_fail"],
  queue: ["type", "queue"],
  voicemail: ["type", "box"],
  transfer: ["type", "number", "agent"],
  hangup: ["type", "prompt"],
};

/** Put a menu's keys in keypad order (1-9, 0, *, #), as they are shown and read back. */
export const sortKeys = (menu) => menu.keys.sort((a, b) => KEYS.indexOf(a.key) - KEYS.indexOf(b.key));
export const childId = (parent, key) => `${parent}_${KEY_IDS[key] || key}`;
export const emptyPrompt = () => ({ names: [], text: Object.fromEntries(LANGUAGES.map((l) => [l, ""])) });
export const newMenu = () => ({ prompt: emptyPrompt(), timeout: 5, retries: 2, keys: [] });
/** A fresh tree with the document-level extras (language, variables, goodbye) kept. */
export const newTree = () => ({ root: newMenu(), goodbye: DEFAULT_GOODBYE, extra: {} });

export function newDest(kind) {
  switch (kind) {
    case "queue": return { kind, queue: "" };
    case "menu": return { kind, menu: newMenu() };
    case "voicemail": return { kind, box: "" };
    case "transfer": return { kind, number: "" };
    case "agent": return { kind, agent: "" };
    case "hangup": return { kind, prompt: emptyPrompt() };
    default: return { kind: "back" };
  }
}

function promptOut(prompt) {
  const out = {};
  const names = (prompt.names || []).filter(Boolean);
  if (names.length) out.names = names;
  const text = Object.fromEntries(LANGUAGES.filter((l) => (prompt.text[l] || "").trim()).map((l) => [l, prompt.text[l]]));
  if (Object.keys(text).length) out.text = text;
  return out;
}

function hasPrompt(prompt) {
  const out = promptOut(prompt);
  return Boolean(out.names || out.text);
}

function destNode(dest) {
  switch (dest.kind) {
    case "queue": return { type: "queue", queue: dest.queue };
    case "voicemail": return { type: "voicemail", box: dest.box };
    case "transfer": return { type: "transfer", number: dest.number };
    case "agent": return { type: "transfer", agent: dest.agent };
    default: return hasPrompt(dest.prompt) ? { type: "hangup", prompt: promptOut(dest.prompt) } : { type: "hangup" };
  }
}

/** ``id``, or ``id_2``, ``id_3`` ... when a kept id already took it. */
function unique(taken, id) {
  let out = id;
  for (let n = 2; taken.has(out); n += 1) out = `${id}_${n}`;
  taken.add(out);
  return out;
}

/** Every id kept from a document read back, so derived ids for new keys avoid them. */
function keptIds(menu, into) {
  for (const { dest } of menu.keys) {
    if (dest.id) into.add(dest.id);
    if (dest.kind === "menu") keptIds(dest.menu, into);
  }
  return into;
}

function addMenu(nodes, taken, id, parent, menu, fail) {
  const options = {};
  nodes[id] = { type: "menu", prompt: promptOut(menu.prompt), options, timeout: Number(menu.timeout), retries: Number(menu.retries), on_fail: fail };
  for (const { key, dest } of menu.keys) {
    if (dest.kind === "back") { options[key] = parent || id; continue; }
    const child = dest.id || unique(taken, childId(id, key));
    options[key] = child;
    if (dest.kind === "menu") addMenu(nodes, taken, child, id, dest.menu, fail);
    else nodes[child] = destNode(dest);
  }
}

/** The flow document of ``tree`` (its checks are the API's: nothing is dropped here). */
export function toDocument(tree) {
  const nodes = {};
  const root = tree.rootId || ROOT;
  const fail = tree.goodbyeId || GOODBYE;
  addMenu(nodes, keptIds(tree.root, new Set([root, fail])), root, null, tree.root, fail);
  nodes[fail] = tree.goodbye;
  return { ...tree.extra, start: root, nodes };
}

class NotATree extends Error {}

const refuse = (message) => { throw new NotATree(message); };

function promptIn(prompt) {
  if (!prompt) return emptyPrompt();
  const keys = Object.keys(prompt).filter((k) => k !== "names" && k !== "text");
  if (keys.length) refuse(`prompt field ${keys[0]}`);
  const out = emptyPrompt();
  out.names = [...(prompt.names || [])];
  if (typeof prompt.text === "string") out.text.en = prompt.text;
  else if (prompt.text) {
    for (const [lang, text] of Object.entries(prompt.text)) {
      if (!LANGUAGES.includes(lang)) refuse(`prompt language ${lang}`);
      out.text[lang] = text;
    }
  }
  return out;
}

function destIn(node) {
  switch (node.type) {
    case "queue": return { kind: "queue", queue: node.queue };
    case "voicemail": return { kind: "voicemail", box: node.box };
    case "transfer": return node.agent !== undefined ? { kind: "agent", agent: node.agent } : { kind: "transfer", number: node.number };
    default: return { kind: "hangup", prompt: promptIn(node.prompt) };
  }
}

/** ``dest`` with the document's id of its node when it is not the one derived here. */
function kept(dest, target, id, key) {
  return target === childId(id, key) ? dest : { ...dest, id: target };
}

function menuIn(doc, id, parent, seen, fail) {
  const node = doc.nodes[id];
  seen.add(id);
  if (node.on_fail !== fail) refuse(`${id}: a different on_fail`);
  const menu = { prompt: promptIn(node.prompt), timeout: node.timeout ?? 5, retries: node.retries ?? 2, keys: [] };
  const back = parent || id;
  for (const [key, target] of Object.entries(node.options || {})) {
    if (target === back) { menu.keys.push({ key, dest: { kind: "back" } }); continue; }
    const child = doc.nodes[target];
    if (!child || seen.has(target) || target === fail) refuse(`${id}: key ${key} is not a branch of the tree`);
    if (child.type === "menu") menu.keys.push({ key, dest: kept({ kind: "menu", menu: menuIn(doc, target, id, seen, fail) }, target, id, key) });
    else { seen.add(target); menu.keys.push({ key, dest: kept(destIn(child), target, id, key) }); }
  }
  sortKeys(menu);
  return menu;
}

/**
 * The tree of ``doc``, or {error} when the document is more than nested keypad menus
 * (other node types or fields, shared or looping branches, nodes off the tree): such a
 * flow is left to the visual designer. A new flow's one-node draft gives a fresh tree.
 */
export function fromDocument(doc) {
  const nodes = (doc && doc.nodes) || {};
  const ids = Object.keys(nodes);
  if (ids.length === 1 && nodes[doc.start] && nodes[doc.start].type === "hangup") return { tree: { ...newTree(), goodbye: nodes[doc.start], extra: extraOf(doc) } };
  try {
    for (const [id, node] of Object.entries(nodes)) {
      const allowed = ALLOWED[node && node.type];
      if (!allowed) refuse(`${id}: ${node && node.type} nodes`);
      const other = Object.keys(node).find((k) => !allowed.includes(k) && !isDefault(k, node[k]));
      if (other) refuse(`${id}: field ${other}`);
    }
    const root = nodes[doc.start];
    if (!root || root.type !== "menu") refuse("the start is not a menu");
    const fail = root.on_fail;
    if (!nodes[fail] || nodes[fail].type !== "hangup") refuse("on_fail is not a hang-up");
    const seen = new Set([fail]);
    const tree = { root: menuIn(doc, doc.start, null, seen, fail), goodbye: nodes[fail], extra: extraOf(doc) };
    if (doc.start !== ROOT) tree.rootId = doc.start;
    if (fail !== GOODBYE) tree.goodbyeId = fail;
    const off = ids.find((id) => !seen.has(id));
    if (off) refuse(`${off} is off the tree`);
    return { tree };
  } catch (error) {
    if (error instanceof NotATree) return { error: error.message };
    throw error;
  }
}

function isDefault(key, value) {
  if (!Object.prototype.hasOwnProperty.call(DEFAULTS, key)) return false;
  const plain = value && value.names && !value.text ? { names: value.names } : value;
  return JSON.stringify(plain) === JSON.stringify(DEFAULTS[key]);
}

function extraOf(doc) {
  const { start: _start, nodes: _nodes, ...extra } = doc;
  return extra;
}
