// The IVR tree-menu editor: a form for nested keypad menus, in a modal dialog opened from
// the admin console's flows section. It saves the flow's draft (PATCH /flows/{id}) and
// publishes it; the API's problems are shown at the node and field they name. Flows that
// are more than a menu tree are left to the visual designer (menu_tree.js decides).
import { ApiError, api, clear, field, get, h, problem, t, toast } from "./common.js";
import { markField } from "./crud.js";
import { KEYS, KINDS, LANGUAGES, ROOT, childId, fromDocument, newDest, sortKeys, toDocument } from "./menu_tree.js";

const DEST_FIELD = { queue: "queue", voicemail: "box", transfer: "number", agent: "agent" };

function promptFields(id, prompt) {
  const text = (lang) => h("input", { name: `${id}.prompt.text.${lang}`, lang, "aria-describedby": `tr-${id}-text-${lang}-err`, value: prompt.text[lang] || "", oninput: (ev) => { prompt.text[lang] = ev.target.value; } });
  return h("div", { class: "row" },
    LANGUAGES.map((lang) => field(`tr-${id}-text-${lang}`, t(`tree.text_${lang}`), text(lang))),
    field(`tr-${id}-names`, t("tree.prompt_names"), h("input", { name: `${id}.prompt.names`, "aria-describedby": `tr-${id}-names-err`, value: prompt.names.join(", "),
      oninput: (ev) => { prompt.names = ev.target.value.split(",").map((s) => s.trim()).filter(Boolean); } })));
}

function menuView(id, menu, depth, rerender) {
  const number = (name, min, max, step) => field(`tr-${id}-${name}`, t(`tree.${name}`), h("input", { type: "number", name: `${id}.${name}`, "aria-describedby": `tr-${id}-${name}-err`, min, max, step, value: String(menu[name]),
    oninput: (ev) => { menu[name] = ev.target.value === "" ? "" : Number(ev.target.value); } }));
  const used = new Set(menu.keys.map((k) => k.key));
  const free = KEYS.find((k) => !used.has(k));
  const add = h("button", { type: "button", class: "secondary", id: `tr-${id}-add`, disabled: !free, onclick: () => {
    menu.keys.push({ key: free, dest: newDest("queue") });
    sortKeys(menu);
    rerender(`tr-${childId(id, free)}-key`);
  } }, t("tree.add_key"));
  return h("fieldset", { class: "tree-menu", dataset: { node: id }, style: `margin:.4rem 0 .4rem ${depth ? 1.2 : 0}rem;border:1px solid var(--line);border-radius:4px` },
    h("legend", {}, t("tree.menu", { id })),
    promptFields(id, menu.prompt),
    h("div", { class: "row" }, number("timeout", 0.5, 60, 0.5), number("retries", 0, 9, 1)),
    h("div", { class: "field" }, h("input", { type: "hidden", name: `${id}.options` })),
    h("ul", { class: "plain", "aria-label": t("tree.keys_of", { id }) }, menu.keys.map((entry) => keyRow(id, menu, entry, depth, rerender))),
    h("div", { class: "buttons" }, add));
}

function keyRow(parent, menu, entry, depth, rerender) {
  const id = childId(parent, entry.key);
  const used = new Set(menu.keys.map((k) => k.key));
  const keySelect = h("select", { name: `${parent}.options.${entry.key}`, onchange: (ev) => { entry.key = ev.target.value; sortKeys(menu); rerender(`tr-${childId(parent, entry.key)}-key`); } },
    KEYS.filter((k) => k === entry.key || !used.has(k)).map((k) => h("option", { value: k, selected: k === entry.key }, k)));
  const kinds = KINDS.filter((k) => k !== "back" || parent !== ROOT);
  const kindSelect = h("select", { name: `${id}.type`, onchange: (ev) => { entry.dest = newDest(ev.target.value); rerender(`tr-${id}-kind`); } },
    kinds.map((k) => h("option", { value: k, selected: k === entry.dest.kind }, t(`tree.kind_${k}`))));
  const dest = entry.dest;
  let detail = null;
  if (DEST_FIELD[dest.kind]) {
    const name = DEST_FIELD[dest.kind];
    detail = field(`tr-${id}-${name}`, t(`tree.field_${dest.kind}`), h("input", { name: `${id}.${name}`, "aria-describedby": `tr-${id}-${name}-err`, required: true, value: dest[name], oninput: (ev) => { dest[name] = ev.target.value.trim(); } }));
  } else if (dest.kind === "hangup") detail = promptFields(id, dest.prompt);
  const remove = h("button", { type: "button", class: "danger", "aria-label": t("tree.remove_key", { key: entry.key, id: parent }), onclick: () => {
    menu.keys.splice(menu.keys.indexOf(entry), 1);
    rerender(`tr-${parent}-add`);
  } }, t("tree.remove"));
  const head = h("div", { class: "row", dataset: { node: dest.kind === "back" ? parent : id } },
    field(`tr-${id}-key`, t("tree.key"), keySelect), field(`tr-${id}-kind`, t("tree.destination"), kindSelect),
    dest.kind === "menu" ? null : detail, h("div", { class: "buttons" }, remove));
  if (dest.kind !== "menu") return h("li", { class: "tree-key" }, head);
  return h("li", { class: "tree-key" }, head,
    h("details", { open: true }, h("summary", {}, t("tree.submenu", { id })), menuView(id, dest.menu, depth + 1, rerender)));
}

/** Show the API's problems ({node, field, message}) at their field, else their node. */
function showProblems(form, box, problems) {
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of form.querySelectorAll(".field .error, .tree-problem")) node.remove();
  const general = [];
  for (const p of problems) {
    const parts = p.field ? p.field.split(".") : [];
    let shown = false;
    for (let n = parts.length; n >= 1 && p.node && !shown; n -= 1) shown = markField(form, `${p.node}.${parts.slice(0, n).join(".")}`, p.message);
    const holder = !shown && p.node && form.querySelector(`[data-node="${CSS.escape(p.node)}"]`);
    if (holder) { holder.append(h("p", { class: "problems tree-problem", role: "note" }, `⚠ ${p.field ? `${p.field}: ` : ""}${p.message}`)); shown = true; }
    if (!shown) general.push(p);
  }
  clear(box, general.length ? h("ul", { class: "problems" }, general.map((p) => h("li", {}, `${p.node ? `${p.node} ` : ""}${p.field}: ${p.message}`))) : null);
}

/** Open the tree editor for flow ``flowId``; focus returns to ``opener`` on close. */
export async function openMenuEditor(flowId, opener) {
  let flow;
  try { flow = await get(`/flows/${flowId}`); } catch (error) { toast(problem(error), "error"); return; }
  const dialog = h("dialog", { id: "tree-dialog", "aria-labelledby": "tree-h", style: "width:min(64rem,96vw);max-height:94vh;overflow:auto" });
  dialog.addEventListener("close", () => { dialog.remove(); if (opener) opener.focus(); });
  const close = h("button", { type: "button", class: "ghost", onclick: () => dialog.close() }, t("tree.close"));
  const heading = h("h2", { id: "tree-h" }, t("tree.title", { name: flow.name }));
  document.body.append(dialog);
  const parsed = fromDocument(flow.document);
  if (parsed.error) {
    clear(dialog, heading, h("p", { id: "tree-refused", role: "alert" }, t("tree.not_a_tree")), h("p", { class: "muted" }, parsed.error),
      h("div", { class: "buttons" }, h("a", { href: `/designer/${flow.id}` }, t("flow.open")), close));
    dialog.showModal();
    return;
  }
  const tree = parsed.tree;
  const status = h("p", { id: "tree-status", role: "status" }, flow.latest_version ? t("flow.published_v", { version: flow.latest_version }) : t("flow.draft_only"));
  const general = h("div", { id: "tree-problems", "aria-live": "polite" });
  const body = h("div");
  const form = h("form", { novalidate: true }, body, general,
    h("div", { class: "buttons" },
      h("button", { type: "submit", id: "tree-save" }, t("flow.save")),
      h("button", { type: "button", id: "tree-publish", onclick: () => save(true) }, t("flow.publish")), close));
  const rerender = (focusId) => {
    clear(body, menuView(ROOT, tree.root, 0, rerender));
    const target = focusId && document.getElementById(focusId);
    if (target) target.focus();
  };
  async function save(publish) {
    let saved;
    try { saved = await api("PATCH", `/flows/${flow.id}`, { document: toDocument(tree) }); } catch (error) {
      if (error instanceof ApiError && Array.isArray(error.details)) showProblems(form, general, error.details.map((d) => ({ node: null, field: (d.loc || []).join("."), message: d.msg || d.message })));
      else toast(problem(error), "error");
      return;
    }
    showProblems(form, general, saved.problems.errors);
    if (!publish) { toast(t("flow.saved"), "ok"); return; }
    if (saved.problems.errors.length) { toast(t("flow.fix_first"), "error"); return; }
    try {
      const version = await api("POST", `/flows/${flow.id}/publish`);
      status.textContent = t("flow.published_v", { version: version.version });
      toast(t("flow.published", { version: version.version }), "ok");
    } catch (error) {
      if (error instanceof ApiError && Array.isArray(error.details)) showProblems(form, general, error.details);
      toast(problem(error), "error");
    }
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); save(false); });
  clear(dialog, heading, status, form);
  rerender(null);
  dialog.showModal();
}
