// A generic list-and-edit panel for one API collection: a paged table, and a form whose
// fields are declared once (text, number, bool, select, multi, list, json, password,
// datetime, textarea). Validation errors are shown at their field.
import { ApiError, api, attempt, clear, field, get, h, label, problem, qs, t, toast } from "./common.js";

const PAGE = 50;

export const LANGS = [["en", "English"], ["zh", "简体中文"], ["ko", "한국어"]];
export const yesNo = (v) => (v ? t("common.yes") : t("common.no"));
/** [[value, label]] of an enum whose labels are ``prefix.value`` in the catalog. */
export const enumOptions = (prefix, values) => values.map((v) => [v, label(prefix, v)]);

async function options(def) {
  if (typeof def.options === "function") return def.options();
  return def.options || [];
}

function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function current(item, f) {
  if (!item) return f.default;
  if (f.group) return item[f.group] ? item[f.group][f.key] : undefined;
  return item[f.from || f.name];
}

async function control(f, value, creating) {
  const id = `f-${f.group ? `${f.group}-${f.key}` : f.name}`;
  const common = { id, name: f.name, required: Boolean(f.required && (creating || f.type !== "password")), "aria-describedby": `${id}-err` };
  switch (f.type) {
    case "bool":
      return h("input", { ...common, type: "checkbox", checked: value === undefined ? Boolean(f.default) : Boolean(value), required: false });
    case "number":
      return h("input", { ...common, type: "number", step: f.step || "1", value: value === null || value === undefined ? "" : String(value) });
    case "select":
    case "multi": {
      const multi = f.type === "multi";
      const chosen = multi ? (value || []).map(String) : [value === null || value === undefined ? "" : String(value)];
      const opts = await options(f);
      const list = [...(!multi && !f.required ? [["", t("common.none")]] : []), ...opts];
      return h("select", { ...common, multiple: multi, size: multi ? Math.min(6, Math.max(3, opts.length)) : undefined },
        list.map(([v, text]) => h("option", { value: String(v), selected: chosen.includes(String(v)) }, text)));
    }
    case "list":
      return h("input", { ...common, value: (value || []).join(", ") });
    case "json":
      return h("textarea", { ...common, class: "json", rows: f.rows || 5, spellcheck: "false" }, value === undefined ? JSON.stringify(f.default === undefined ? null : f.default, null, 2) : JSON.stringify(value, null, 2));
    case "textarea":
      return h("textarea", { ...common, rows: f.rows || 3 }, value || "");
    case "password":
      return h("input", { ...common, type: "password", autocomplete: "new-password", value: "" });
    case "datetime":
      return h("input", { ...common, type: "datetime-local", value: localInput(value) });
    default:
      return h("input", { ...common, value: value === null || value === undefined ? "" : String(value), pattern: f.pattern, placeholder: f.placeholder });
  }
}

function read(f, node) {
  switch (f.type) {
    case "bool": return node.checked;
    case "number": return node.value === "" ? "" : Number(node.value);
    case "select": {
      if (node.value === "") return "";
      return f.numeric ? Number(node.value) : node.value;
    }
    case "multi": return [...node.selectedOptions].map((o) => (f.numeric ? Number(o.value) : o.value));
    case "list": return node.value.split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
    case "json": {
      if (!node.value.trim()) return "";
      try { return JSON.parse(node.value); } catch (error) { throw new FieldError(f.name, t("adm.bad_json", { error: error.message })); }
    }
    case "datetime": return node.value ? new Date(node.value).toISOString() : "";
    default: return node.value;
  }
}

class FieldError extends Error {
  constructor(name, message) { super(message); this.field = name; }
}

/** Show ``message`` at the field named ``name`` in ``form`` (true when found). */
export function markField(form, name, message) {
  const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
  if (!input) return false;
  input.setAttribute("aria-invalid", "true");
  const box = input.closest(".field");
  let note = box.querySelector(".error");
  if (!note) { note = h("small", { class: "error problems", id: `${input.id}-err` }); box.append(note); }
  note.textContent = message;
  return true;
}

function clearMarks(form) {
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of form.querySelectorAll(".field .error")) node.remove();
}

/** Show an API failure at the fields it names, else as a toast. */
export function showFailure(form, error) {
  if (error instanceof FieldError) { markField(form, error.field, error.message); return; }
  let shown = false;
  if (error instanceof ApiError && Array.isArray(error.details)) {
    for (const d of error.details) {
      const loc = (d.loc || []).filter((p) => p !== "body");
      if (loc.length && markField(form, String(loc[0]), `${loc.slice(1).join(".")} ${d.msg || d.message || ""}`.trim())) shown = true;
    }
  }
  if (error instanceof ApiError && error.details && error.details.field && markField(form, error.details.field, problem(error))) shown = true;
  if (!shown) toast(problem(error), "error");
}

/**
 * A panel for one collection. ``def``: {title, path, columns: [[header, (row, reload) =>
 * cell]], fields: [...], list?: "array", filters?: [...], canCreate?, canDelete?, readOnly?,
 * fetchItem?(row) (the full object to edit), afterForm?(box, item), afterSave?(saved, form,
 * creating), describe?(row), sort?}. A field may read its value ``from`` another key, and a
 * grouped field with ``omitEmpty`` is left out when empty.
 */
export function crudPanel(def) {
  return async (panel) => {
    let offset = 0;
    const tableBox = h("div");
    const editorBox = h("div", { class: "editor", hidden: true });
    const filterValues = {};
    const header = h("div", { class: "buttons" }, h("h2", {}, def.title),
      def.canCreate === false ? null : h("button", { type: "button", onclick: () => edit(null) }, t("adm.new")));
    const filters = (def.filters || []).map((f) => {
      const input = h("input", { id: `filter-${f.name}`, type: "search", oninput: () => { filterValues[f.name] = input.value; offset = 0; clearTimeout(input.timer); input.timer = setTimeout(load, 300); } });
      return field(`filter-${f.name}`, f.label, input);
    });
    clear(panel, header, filters.length ? h("div", { class: "filters" }, filters) : null, tableBox, editorBox);

    async function load() {
      const params = def.list === "array" ? {} : { limit: PAGE, offset, sort: def.sort, ...filterValues };
      const data = await attempt(() => get(`${def.path}${qs(params)}`));
      if (!data) return;
      const items = Array.isArray(data) ? data : data.items;
      const total = Array.isArray(data) ? data.length : data.total;
      const pager = total > PAGE ? h("div", { class: "pager" },
        h("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, t("common.prev")),
        h("span", {}, t("common.range", { from: offset + 1, to: Math.min(total, offset + PAGE), total })),
        h("button", { type: "button", class: "secondary", disabled: offset + PAGE >= total, onclick: () => { offset += PAGE; load(); } }, t("common.next"))) : null;
      clear(tableBox, tableOf(items), pager);
    }

    function tableOf(items) {
      const head = h("tr", {}, def.columns.map(([title]) => h("th", { scope: "col" }, title)));
      const rows = items.map((item) => {
        const tr = h("tr", { class: def.readOnly ? "" : "clickable", tabIndex: def.readOnly ? undefined : 0 }, def.columns.map(([, cell]) => h("td", {}, cell(item, load))));
        if (!def.readOnly) {
          tr.setAttribute("aria-label", t("adm.edit_item", { name: def.describe ? def.describe(item) : item.name || item.id }));
          tr.addEventListener("click", (ev) => { if (!ev.target.closest("a,button,audio")) edit(item); });
          tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && ev.target === tr) edit(item); });
        }
        return tr;
      });
      return h("table", {}, h("thead", {}, head), h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colspan: def.columns.length }, t("common.none")))));
    }

    async function edit(listed) {
      const creating = listed === null;
      const item = !creating && def.fetchItem ? await attempt(() => def.fetchItem(listed)) : listed;
      if (item === undefined) return;
      const fields = def.fields.filter((f) => !(f.createOnly && !creating) && !(f.updateOnly && creating));
      const controls = [];
      for (const f of fields) {
        const node = await control(f, current(item, f), creating);
        controls.push([f, node]);
      }
      const form = h("form", { novalidate: true },
        h("h3", {}, creating ? t("adm.new_item", { what: def.title }) : t("adm.edit_item", { name: def.describe ? def.describe(item) : item.name || item.id })),
        h("div", { class: "grid" }, controls.filter(([f]) => !["json", "textarea"].includes(f.type)).map(([f, node]) => field(node.id, f.label, node, f.hint))),
        controls.filter(([f]) => ["json", "textarea"].includes(f.type)).map(([f, node]) => field(node.id, f.label, node, f.hint)),
        h("div", { class: "extra" }),
        h("div", { class: "buttons" },
          h("button", { type: "submit" }, creating ? t("adm.create") : t("adm.save")),
          !creating && def.canDelete !== false ? h("button", { type: "button", class: "danger", onclick: () => remove(item) }, t("adm.delete")) : null,
          h("button", { type: "button", class: "ghost", onclick: () => { editorBox.hidden = true; } }, t("common.cancel"))));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        clearMarks(form);
        const body = {};
        try {
          for (const [f, node] of controls) {
            const value = read(f, node);
            if (f.type === "password" && value === "") continue;
            const target = f.group ? (body[f.group] = body[f.group] || {}) : body;
            const key = f.group ? f.key : f.name;
            if (value === "") {
              if (f.group && !f.omitEmpty) target[key] = null;
              else if (!creating && f.nullable) target[key] = null;
              continue;
            }
            target[key] = value;
          }
          const saved = creating ? await api("POST", def.path, body) : await api("PATCH", `${def.path}/${item[def.idKey || "id"]}`, body);
          if (def.afterSave) await def.afterSave(saved, form, creating);
          toast(t("adm.saved"), "ok");
          editorBox.hidden = true;
          load();
        } catch (error) {
          showFailure(form, error);
        }
      });
      clear(editorBox, form);
      editorBox.hidden = false;
      if (def.afterForm) await def.afterForm(form.querySelector(".extra"), item);
      const first = form.querySelector("input,select,textarea");
      if (first) first.focus();
    }

    async function remove(item) {
      if (!window.confirm(t("adm.confirm_delete"))) return;
      const done = await attempt(() => api("DELETE", `${def.path}/${item[def.idKey || "id"]}`), t("adm.deleted"));
      if (done !== undefined) { editorBox.hidden = true; load(); }
    }

    await load();
  };
}

/** [[id, name]] of a collection, for select fields. */
export function choices(path, text = (x) => x.name, value = (x) => x.id) {
  let cached = null;
  return async () => {
    if (!cached) {
      const data = await get(`${path}${path.includes("?") ? "&" : "?"}limit=500`);
      cached = (Array.isArray(data) ? data : data.items).map((x) => [value(x), text(x)]);
    }
    return cached;
  };
}
