// Shared by every page: translations, the JSON API with the CSRF token, a tiny element
// builder, formatting, toasts, the event stream and the header's 'My settings' and
// sign-out buttons.

const catalogNode = document.getElementById("i18n");
const startNode = document.getElementById("start");
export const CATALOG = catalogNode ? JSON.parse(catalogNode.textContent) : {};
export const START = startNode ? JSON.parse(startNode.textContent) : {};
export const LANG = document.documentElement.lang || "en";
export const ME = START.me || null;

/** The message ``key`` in the page's language, with ``{name}`` placeholders filled. */
export function t(key, vars) {
  let text = Object.prototype.hasOwnProperty.call(CATALOG, key) ? CATALOG[key] : key;
  if (vars) for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(String(value));
  return text;
}

/** A label for an enum value (``state.available``), the raw value when untranslated. */
export function label(prefix, value) {
  if (value === null || value === undefined || value === "") return "";
  const key = `${prefix}.${value}`;
  return Object.prototype.hasOwnProperty.call(CATALOG, key) ? CATALOG[key] : String(value);
}

export function csrf() {
  const found = document.cookie.match(/(?:^|; )helpline_csrf=([^;]*)/);
  return found ? decodeURIComponent(found[1]) : "";
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
  get errorId() { return this.body.error_id || ""; }
  get details() { return this.body.details; }
}

/** Call ``/api/v1`` + ``path``; JSON in and out, FormData sent as is. */
export async function api(method, path, body) {
  const headers = {};
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers["content-type"] = "application/json"; payload = JSON.stringify(body); }
  if (method !== "GET") headers["x-csrf-token"] = csrf();
  const response = await fetch(path.startsWith("/api/") ? path : `/api/v1${path}`, {
    method, headers, body: payload, credentials: "same-origin",
  });
  if (response.status === 401) { location.href = `/?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`; throw new ApiError(401, {}); }
  const text = await response.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = { message: text }; } }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
export const get = (path) => api("GET", path);

/** Query string from an object, skipping empty values. */
export function qs(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => search.append(key, v));
    else search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Build an element: h("button", {type: "button", onclick: fn}, "text", child...). */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = value;
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node, ...children) { node.replaceChildren(); node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)); return node; }

export function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

const dateTime = new Intl.DateTimeFormat(LANG, { dateStyle: "short", timeStyle: "short" });
const timeOnly = new Intl.DateTimeFormat(LANG, { timeStyle: "medium" });
export function fmtDate(iso) { return iso ? dateTime.format(new Date(iso)) : ""; }
export function fmtTime(iso) { return iso ? timeOnly.format(new Date(iso)) : ""; }
export function since(iso) { return iso ? (Date.now() - new Date(iso).getTime()) / 1000 : 0; }

/** A short message at the top right; errors stay until clicked. */
export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h("div", { class: `toast ${kind}`, onclick: () => item.remove() }, message);
  box.append(item);
  if (kind !== "error") setTimeout(() => item.remove(), 4000);
}

/** The user-facing text of a failed call. */
export function problem(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  const known = `error.${error.errorId}`;
  let text = Object.prototype.hasOwnProperty.call(CATALOG, known) ? CATALOG[known] : error.message;
  const details = error.details;
  if (Array.isArray(details) && details.length) {
    const parts = details.slice(0, 5).map((d) => {
      if (d && d.loc) return `${d.loc.filter((p) => p !== "body").join(".")}: ${d.msg}`;
      if (d && d.message) return `${d.node ? d.node + (d.field ? "." + d.field : "") + ": " : d.line ? t("vxml.line", { line: d.line }) + ": " : ""}${d.message}`;
      return JSON.stringify(d);
    });
    text += ` (${parts.join("; ")})`;
  }
  return text;
}

/** Run ``action``; show its failure as a toast and return undefined. */
export async function attempt(action, okMessage) {
  try {
    const result = await action();
    if (okMessage) toast(okMessage, "ok");
    return result;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) toast(problem(error), "error");
    return undefined;
  }
}

/**
 * The WebSocket event stream (/api/v1/events/ws): ``onEvent`` gets each event object,
 * ``onStatus`` "open" / "closed"; reconnects with back-off, and calls ``onReconnect``
 * after a reconnection so the page can reload a snapshot it may have missed events of.
 */
export class EventStream {
  constructor({ onEvent, onStatus = () => {}, onReconnect = () => {} }) {
    Object.assign(this, { onEvent, onStatus, onReconnect, delay: 500, opened: false, stopped: false });
    this.connect();
  }
  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/events/ws`);
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 500;
      this.onStatus("open");
      if (this.opened) this.onReconnect();
      this.opened = true;
    };
    ws.onmessage = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      this.onEvent(event);
    };
    ws.onclose = (close) => {
      this.onStatus("closed");
      if (this.stopped) return;
      if (close.code === 4401) { location.href = `/?next=${encodeURIComponent(location.pathname)}`; return; }
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 15000);
    };
  }
  close() { this.stopped = true; if (this.ws) this.ws.close(); }
}

/** Show the stream's state in ``node`` (a live region in the page). */
export function streamBadge(node) {
  return (status) => {
    node.textContent = status === "open" ? t("stream.live") : t("stream.offline");
    node.className = `badge ${status === "open" ? "ok" : "warn"}`;
  };
}

/** Tabs: buttons with role=tab controlling panels; arrow keys move between them. */
export function tabs(list, onChange) {
  const buttons = [...list.querySelectorAll("[role=tab]")];
  const select = (button, focus) => {
    for (const b of buttons) {
      const on = b === button;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      const panel = document.getElementById(b.getAttribute("aria-controls"));
      if (panel && !on) panel.hidden = true;
    }
    const shown = document.getElementById(button.getAttribute("aria-controls"));
    if (shown) shown.hidden = false;
    if (focus) button.focus();
    onChange(button.dataset.tab);
  };
  buttons.forEach((button, i) => {
    button.addEventListener("click", () => select(button, false));
    button.addEventListener("keydown", (ev) => {
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[ev.key];
      if (step) { ev.preventDefault(); select(buttons[(i + step + buttons.length) % buttons.length], true); }
    });
  });
  return (name) => { const found = buttons.find((b) => b.dataset.tab === name); if (found) select(found, false); };
}

/** A form field with its label: field("tenant", t("x"), input). */
export function field(id, text, control, hint) {
  control.id = control.id || id;
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control, hint ? h("small", { class: "hint" }, hint) : null);
}

/** A table with a caption and rows; ``columns`` are [header, row => cell]. */
export function table(caption, columns, rows, { empty, onRow, rowLabel } = {}) {
  const head = h("thead", {}, h("tr", {}, columns.map(([header]) => h("th", { scope: "col" }, header))));
  const body = h("tbody", {}, rows.length ? rows.map((row) => {
    const tr = h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row))));
    if (onRow) {
      tr.tabIndex = 0;
      tr.classList.add("clickable");
      if (rowLabel) tr.setAttribute("aria-label", rowLabel(row));
      tr.addEventListener("click", () => onRow(row));
      tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); onRow(row); } });
    }
    return tr;
  }) : h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty || t("common.none"))));
  return h("table", {}, caption ? h("caption", {}, caption) : null, head, body);
}

const signout = document.getElementById("signout");
if (signout && ME) {
  const mine = h("button", { type: "button", id: "my-settings", class: "ghost", "aria-haspopup": "dialog" }, t("adm2.my_settings"));
  mine.addEventListener("click", async () => (await import("./mysettings.js")).openMySettings(mine));
  signout.before(mine);
}
if (signout) {
  signout.addEventListener("click", async () => {
    try { await api("POST", "/auth/logout"); } catch { /* signed out already */ }
    location.href = "/";
  });
}
