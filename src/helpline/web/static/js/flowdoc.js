// IVR flow documents (helpline.ivr.flow) <-> the designer's nodes: each node keeps its
// own fields, and its "ports" are the fields that lead to another node (next, on_fail,
// options.1 ...), one Drawflow output each, in this order.

export const TYPES = ["play", "menu", "collect", "http", "say", "set", "condition", "language", "queue", "voicemail", "transfer", "survey", "sms", "hangup"];

export const DEFAULTS = {
  play: () => ({ prompt: { text: "Welcome." } }),
  menu: () => ({ prompt: { text: "For sales, press 1. For support, press 2." }, keys: ["1", "2"] }),
  collect: () => ({ prompt: { text: "Please enter your account number, then press hash." }, into: "account" }),
  http: () => ({ method: "GET", url: "https://example.com/lookup?account={account}", routes: [] }),
  say: () => ({ kind: "number", value: "{account}" }),
  set: () => ({ variable: "topic", value: "" }),
  condition: () => ({ variable: "account", operator: "empty" }),
  language: () => ({ language: "en" }),
  queue: () => ({ queue: "sales" }),
  voicemail: () => ({ box: "demo-voicemail" }),
  transfer: () => ({ number: "1000" }),
  survey: () => ({ questions: [{ prompt: { text: "How satisfied were you? Press 1 to 5." } }] }),
  sms: () => ({ text: "Thank you for calling. Your reference: {call.id}" }),
  hangup: () => ({ prompt: { names: ["ivr/goodbye"] } }),
};

/** The port names of a node of ``type`` with ``fields`` (menu keys, http routes). */
export function portsOf(type, fields) {
  switch (type) {
    case "play": case "set": case "language": case "survey": return ["next"];
    case "menu": return [...(fields.keys || []).map((k) => `options.${k}`), "on_fail"];
    case "collect": return ["next", "on_invalid"];
    case "http": return ["next", "on_error", ...(fields.routes || []).map((_, i) => `routes.${i}.next`)];
    case "say": case "sms": return ["next", "on_error"];
    case "condition": return ["then", "else"];
    default: return [];
  }
}

const OPTIONAL_PORTS = new Set(["say:on_error", "sms:on_error"]);

/** Split a document node into its own fields and its targets by port. */
export function splitNode(node) {
  const { type, ...rest } = node;
  const fields = JSON.parse(JSON.stringify(rest));
  const targets = {};
  if (type === "menu") {
    fields.keys = Object.keys(rest.options || {});
    for (const [key, target] of Object.entries(rest.options || {})) targets[`options.${key}`] = target;
    delete fields.options;
  }
  if (type === "http" && Array.isArray(rest.routes)) {
    fields.routes = rest.routes.map((route, i) => { const { next, ...keep } = route; targets[`routes.${i}.next`] = next; return keep; });
  }
  for (const port of portsOf(type, fields)) {
    if (!port.includes(".") && rest[port] !== undefined) { targets[port] = rest[port]; delete fields[port]; }
  }
  return { type, fields, targets };
}

/** A document node from its fields and its targets by port (node ids). */
export function joinNode(type, fields, targets) {
  const node = { type, ...JSON.parse(JSON.stringify(fields)) };
  delete node.keys;
  if (type === "menu") {
    node.options = {};
    for (const key of fields.keys || []) node.options[key] = targets[`options.${key}`] || "";
  }
  if (type === "http") node.routes = (fields.routes || []).map((route, i) => ({ ...route, next: targets[`routes.${i}.next`] || "" }));
  for (const port of portsOf(type, fields)) {
    if (port.includes(".")) continue;
    if (targets[port]) node[port] = targets[port];
    else if (!OPTIONAL_PORTS.has(`${type}:${port}`)) node[port] = "";
  }
  return node;
}

/** Grid places [column, row] for the nodes, breadth first from ``start`` (then the
nodes no path reaches), ``columns`` to a row so that long chains stay on screen. */
export function layout(document, columns = 4) {
  const order = [];
  const seen = new Set();
  const queue = document.nodes[document.start] ? [document.start] : [];
  seen.add(document.start);
  while (queue.length) {
    const id = queue.shift();
    order.push(id);
    const { targets } = splitNode(document.nodes[id]);
    for (const target of Object.values(targets)) {
      if (target && !seen.has(target) && document.nodes[target]) { seen.add(target); queue.push(target); }
    }
  }
  for (const id of Object.keys(document.nodes)) if (!order.includes(id)) order.push(id);
  const place = {};
  order.forEach((id, i) => { place[id] = [i % columns, Math.floor(i / columns)]; });
  return place;
}
