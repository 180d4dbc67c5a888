// Admin sections that are more than a table and a form: prompts (upload, text-to-speech
// preview), VoiceXML (upload with problems shown at their line), IVR flows (into the
// designer), registered phones and the audit log.
import { ApiError, api, attempt, clear, field, fmtDate, get, h, label, problem, qs, t, toast } from "./common.js";
import { recorderCard } from "./prompt_recorder.js";
import { openMenuEditor } from "./menu_editor.js";

const LANGS = [["en", "English"], ["zh", "简体中文"], ["ko", "한국어"]];
const langSelect = (id) => h("select", { id }, LANGS.map(([v, text]) => h("option", { value: v }, text)));

export async function promptsPanel(panel) {
  const listBox = h("div");
  const upload = h("form", { class: "card", "aria-labelledby": "up-h" },
    h("h3", { id: "up-h" }, t("adm.upload_prompt")),
    h("div", { class: "row" },
      field("up-name", t("adm.name"), h("input", { required: true, placeholder: "welcome" })),
      field("up-lang", t("lang.label"), langSelect("up-lang")),
      field("up-file", t("adm.audio_file"), h("input", { type: "file", accept: "audio/*", required: true }))),
    h("button", { type: "submit" }, t("adm.upload")));
  upload.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData();
    form.append("name", upload.querySelector("#up-name").value);
    form.append("language", upload.querySelector("#up-lang").value);
    form.append("file", upload.querySelector("#up-file").files[0]);
    if (await attempt(() => api("POST", "/prompts", form), t("adm.saved"))) load();
  });
  const preview = h("div", { "aria-live": "polite" });
  const tts = h("form", { class: "card", "aria-labelledby": "tts-h" },
    h("h3", { id: "tts-h" }, t("adm.tts")),
    field("tts-text", t("adm.tts_text"), h("textarea", { rows: 2, required: true })),
    h("div", { class: "row" },
      field("tts-lang", t("lang.label"), langSelect("tts-lang")),
      field("tts-name", t("adm.tts_keep"), h("input", { placeholder: "closed" }))),
    h("div", { class: "buttons" }, h("button", { type: "submit" }, t("adm.tts_preview"))), preview);
  tts.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { text: tts.querySelector("#tts-text").value, language: tts.querySelector("#tts-lang").value };
    const name = tts.querySelector("#tts-name").value;
    if (name) body.name = name;
    const made = await attempt(() => api("POST", "/prompts/tts", body));
    if (!made) return;
    clear(preview, h("p", {}, t("adm.tts_made", { voice: made.voice, ms: made.duration_ms })), h("audio", { controls: true, src: made.preview_url.startsWith("/") ? made.preview_url : `/${made.preview_url}` }));
    if (made.prompt) load();
  });
  async function load() {
    const page = await attempt(() => get("/prompts?limit=200"));
    if (!page) return;
    clear(listBox, h("table", {}, h("thead", {}, h("tr", {}, [t("adm.name"), t("lang.label"), t("adm.source"), t("adm.duration"), t("adm.listen"), ""].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, page.items.length ? page.items.map((p) => h("tr", {},
        h("td", {}, p.name), h("td", {}, p.language), h("td", {}, label("source", p.source)), h("td", {}, `${(p.duration_ms / 1000).toFixed(1)} s`),
        h("td", {}, h("audio", { controls: true, preload: "none", src: `/${p.audio_url.replace(/^\//, "")}`, "aria-label": p.name })),
        h("td", {}, h("button", { type: "button", class: "danger", onclick: async () => {
          if (window.confirm(t("adm.confirm_delete")) && (await attempt(() => api("DELETE", `/prompts/${p.id}`), t("adm.deleted"))) !== undefined) load();
        } }, t("adm.delete"))))) : h("tr", {}, h("td", { colspan: 6, class: "empty" }, t("common.none"))))));
  }
  clear(panel, h("h2", {}, t("adm.prompts")), listBox, h("div", { class: "row" }, upload, recorderCard(langSelect, load), tts));
  await load();
}

/** The VoiceXML source with line numbers; ``problems`` ({line, message}) marked. */
export function sourceView(text, problems = []) {
  const byLine = new Map();
  for (const p of problems) byLine.set(p.line, [...(byLine.get(p.line) || []), p]);
  const lines = text.split("\n");
  const cells = [];
  lines.forEach((line, i) => {
    const n = i + 1;
    const bad = byLine.has(n);
    cells.push(h("span", { class: `ln${bad ? " bad" : ""}` }, String(n)), h("span", { class: `tx${bad ? " bad" : ""}`, dataset: { line: n } }, line || " "));
    for (const p of byLine.get(n) || []) cells.push(h("span", { class: "ln" }), h("span", { class: "msg", role: "note", dataset: { problemLine: n } }, `⚠ ${t("vxml.line", { line: n })}: ${p.message}${p.attribute ? ` (${p.attribute})` : ""}`));
  });
  return h("div", { class: "source", role: "region", "aria-label": t("adm.vxml_source") }, cells);
}

export async function vxmlPanel(panel) {
  const listBox = h("div");
  const viewer = h("div", { "aria-live": "polite" });
  const source = h("textarea", { rows: 10, class: "code", spellcheck: "false", required: true });
  const name = h("input", { required: true, placeholder: "my-menu" });
  const file = h("input", { type: "file", accept: ".vxml,.xml,text/xml" });
  file.addEventListener("change", async () => { if (file.files[0]) source.value = await file.files[0].text(); });
  const form = h("form", { class: "card", "aria-labelledby": "vx-h" },
    h("h3", { id: "vx-h" }, t("adm.vxml_upload")),
    h("div", { class: "row" }, field("vx-name", t("adm.name"), name), field("vx-file", t("adm.vxml_file"), file)),
    field("vx-source", t("adm.vxml_source"), source),
    h("button", { type: "submit" }, t("adm.upload")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const made = await api("POST", "/vxml-documents", { name: name.value, source: source.value });
      toast(t("adm.saved"), "ok");
      clear(viewer, h("h3", {}, made.name), sourceView(made.source));
      load();
    } catch (error) {
      if (error instanceof ApiError && Array.isArray(error.details) && error.details.some((d) => d.line)) {
        clear(viewer, h("h3", { class: "problems" }, t("adm.vxml_refused", { count: error.details.length })), sourceView(source.value, error.details));
      } else toast(problem(error), "error");
    }
  });
  async function load() {
    const page = await attempt(() => get("/vxml-documents?limit=200"));
    if (!page) return;
    clear(listBox, h("table", {}, h("thead", {}, h("tr", {}, [t("adm.name"), t("adm.size"), t("adm.updated"), ""].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, page.items.length ? page.items.map((d) => h("tr", {}, h("td", {}, d.name), h("td", {}, `${d.size_bytes} B`), h("td", {}, fmtDate(d.updated_at)),
        h("td", {}, h("button", { type: "button", class: "secondary", onclick: async () => {
          const doc = await attempt(() => get(`/vxml-documents/${d.id}`));
          if (doc) clear(viewer, h("h3", {}, doc.name), sourceView(doc.source));
        } }, t("adm.view")), " ", h("button", { type: "button", class: "danger", onclick: async () => {
          if (window.confirm(t("adm.confirm_delete")) && (await attempt(() => api("DELETE", `/vxml-documents/${d.id}`), t("adm.deleted"))) !== undefined) load();
        } }, t("adm.delete"))))) : h("tr", {}, h("td", { colspan: 4, class: "empty" }, t("common.none"))))));
  }
  clear(panel, h("h2", {}, t("adm.vxml")), listBox, form, viewer);
  await load();
}

export async function flowsPanel(panel) {
  const listBox = h("div");
  const name = h("input", { required: true, pattern: "[A-Za-z0-9][A-Za-z0-9 ._\\-]{0,99}" });
  const form = h("form", { class: "buttons", "aria-labelledby": "nf-h" }, h("h3", { id: "nf-h" }, t("flow.new")), field("nf-name", t("adm.name"), name), h("button", { type: "submit" }, t("flow.create")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const made = await attempt(() => api("POST", "/flows", { name: name.value }));
    if (made) location.href = `/designer/${made.id}`;
  });
  const page = await attempt(() => get("/flows?limit=200"));
  const head = h("tr", {}, [t("adm.name"), t("adm.description"), t("flow.version"), t("adm.updated"), ""].map((x) => h("th", { scope: "col" }, x)));
  const rows = (page ? page.items : []).map((f) => h("tr", {},
    h("td", {}, f.name), h("td", {}, f.description),
    h("td", {}, f.latest_version ? `v${f.latest_version}` : t("flow.draft_only")),
    h("td", {}, fmtDate(f.updated_at)),
    h("td", {}, h("a", { href: `/designer/${f.id}` }, t("flow.open")), " ",
      h("button", { type: "button", class: "secondary", "aria-label": t("tree.edit_named", { name: f.name }), onclick: (ev) => openMenuEditor(f.id, ev.currentTarget) }, t("tree.edit")))));
  clear(listBox, h("table", {}, h("thead", {}, head), h("tbody", {}, rows)));
  clear(panel, h("h2", {}, t("adm.flows")), listBox, form);
}

export async function registrationsPanel(panel) {
  const page = await attempt(() => get("/registrations?limit=200"));
  clear(panel, h("h2", {}, t("adm.registrations")), h("table", {}, h("thead", {}, h("tr", {}, [t("login.username"), t("adm.contact"), t("adm.transport"), t("adm.source"), t("adm.user_agent"), t("adm.expires")].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, page && page.items.length ? page.items.map((r) => h("tr", {}, h("td", {}, r.username), h("td", {}, r.contact), h("td", {}, r.transport), h("td", {}, `${r.source_host}:${r.source_port}`), h("td", {}, r.user_agent), h("td", {}, fmtDate(r.expires_at))))
      : h("tr", {}, h("td", { colspan: 6, class: "empty" }, t("adm.no_registrations"))))));
}

function changes(entry) {
  const before = entry.before || {}, after = entry.after || {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  const show = (v) => (v === undefined ? "–" : JSON.stringify(v)).slice(0, 80);
  return h("ul", { class: "plain small" }, keys.slice(0, 8).map((k) => h("li", {}, h("code", {}, k), `: ${show(before[k])} → ${show(after[k])}`)));
}

export async function auditPanel(panel) {
  const entity = h("input", { type: "search", placeholder: "queue" });
  const action = h("input", { type: "search", placeholder: "update" });
  const listBox = h("div");
  let offset = 0;
  async function load() {
    const page = await attempt(() => get(`/audit${qs({ entity: entity.value, action: action.value, limit: 50, offset })}`));
    if (!page) return;
    clear(listBox, h("table", {}, h("thead", {}, h("tr", {}, [t("adm.when"), t("adm.actor"), t("adm.action"), t("adm.entity"), t("adm.changes")].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, page.items.map((e) => h("tr", {}, h("td", {}, fmtDate(e.at)), h("td", {}, e.actor), h("td", {}, e.action), h("td", {}, `${e.entity} #${e.entity_id}`), h("td", {}, changes(e)))))),
    h("div", { class: "pager" },
      h("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - 50); load(); } }, t("common.prev")),
      h("span", {}, t("common.range", { from: page.total ? offset + 1 : 0, to: Math.min(page.total, offset + 50), total: page.total })),
      h("button", { type: "button", class: "secondary", disabled: offset + 50 >= page.total, onclick: () => { offset += 50; load(); } }, t("common.next"))));
  }
  const reload = () => { offset = 0; load(); };
  entity.addEventListener("change", reload);
  action.addEventListener("change", reload);
  clear(panel, h("h2", {}, t("adm.audit")), h("div", { class: "filters" }, field("au-entity", t("adm.entity"), entity), field("au-action", t("adm.action"), action)), listBox);
  await load();
}
