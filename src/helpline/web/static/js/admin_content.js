// Admin sections for content and data: SMS gateways and three-language templates, surveys
// (questions, scale, languages, the queues that offer them), knowledge-base articles
// (draft, publish, versions), and the customer CSV import with its row-by-row report.
import { api, attempt, clear, field, fmtDate, get, h, problem, qs, t } from "./common.js";
import { LANGS, choices, crudPanel, yesNo } from "./crud.js";
import { showOnce } from "./admin_integrations.js";

const queueChoices = choices("/queues");
const categories = choices("/kb/categories");
const byLanguage = (group, type = "textarea") => LANGS.map(([code, name]) => ({ name: `${group}.${code}`, group, key: code, type, omitEmpty: true, rows: 2, label: `${t(`adm2.${group}`)} (${name})` }));
const texts = (value) => LANGS.filter(([code]) => value && value[code]).map(([code]) => `${code}: ${value[code]}`).join(" · ");

export const smsGatewaysPanel = crudPanel({
  title: t("adm2.sms_gateways"), path: "/sms/gateways",
  columns: [[t("adm.name"), (x) => x.name], [t("adm2.kind"), (x) => x.kind], [t("adm2.sender"), (x) => x.sender],
    [t("adm2.default"), (x) => yesNo(x.is_default)], [t("adm.enabled"), (x) => yesNo(x.enabled)]],
  fields: [
    { name: "name", label: t("adm.name"), required: true },
    { name: "kind", label: t("adm2.kind"), type: "select", required: true, createOnly: true, default: "kannel", options: [["kannel", "Kannel"], ["smpp", "SMPP"]] },
    { name: "sender", label: t("adm2.sender") },
    { name: "password", label: t("login.password"), type: "password", hint: t("adm2.password_write_only") },
    { name: "is_default", label: t("adm2.default"), type: "bool" },
    { name: "enabled", label: t("adm.enabled"), type: "bool", default: true },
    { name: "settings", label: t("adm2.gateway_settings"), type: "json", rows: 5, default: { sendsms_url: "http://127.0.0.1:13013/cgi-bin/sendsms", username: "helpline" },
      hint: t("adm2.gateway_settings_hint") },
  ],
  afterSave: (saved) => { if (saved.callback) showOnce(t("adm2.callback_key"), saved.callback.kannel_get_url); },
});

export const smsTemplatesPanel = crudPanel({
  title: t("adm2.sms_templates"), path: "/sms/templates",
  columns: [[t("adm.name"), (x) => x.name], [t("adm2.bodies"), (x) => texts(x.bodies)], [t("adm2.variables"), (x) => x.variables.join(", ")]],
  fields: [
    { name: "name", label: t("adm.name"), required: true },
    { name: "description", label: t("adm.description") },
    ...byLanguage("bodies"),
  ],
});

const QUESTION = [{ key: "score", text: { en: "How satisfied were you? Press 1 to 5.", zh: "您对本次服务满意吗？请按1到5。", ko: "서비스에 만족하셨습니까? 1에서 5까지 누르세요." }, low: 1, high: 5 }];

function surveyQueues(box, survey) {
  const listBox = h("div", { id: "survey-queues" });
  const queue = h("select", { name: "queue_id" });
  const keypad = h("input", { type: "checkbox", name: "keypad", checked: true });
  const sms = h("input", { type: "checkbox", name: "sms" });
  async function load() {
    const [links, names] = await Promise.all([get("/survey-queues"), queueChoices()]);
    const nameOf = new Map(names);
    clear(queue, names.map(([id, name]) => h("option", { value: id }, name)));
    const mine = links.filter((l) => l.survey_id === survey.id);
    clear(listBox, h("table", {}, h("caption", {}, t("adm2.survey_queues")),
      h("thead", {}, h("tr", {}, [t("adm2.queue"), t("adm2.keypad"), "SMS", ""].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, mine.length ? mine.map((l) => h("tr", {}, h("td", {}, nameOf.get(l.queue_id) || l.queue_id), h("td", {}, yesNo(l.keypad)), h("td", {}, yesNo(l.sms)),
        h("td", {}, h("button", { type: "button", class: "danger", onclick: async () => {
          if ((await attempt(() => api("DELETE", `/survey-queues/${l.queue_id}`), t("adm.deleted"))) !== undefined) load();
        } }, t("adm2.detach"))))) : h("tr", {}, h("td", { colspan: 4, class: "empty" }, t("common.none"))))));
  }
  clear(box, listBox, h("div", { class: "row" }, field("sq-queue", t("adm2.queue"), queue), field("sq-keypad", t("adm2.keypad"), keypad), field("sq-sms", "SMS", sms),
    h("button", { type: "button", class: "secondary", onclick: async () => {
      const body = { survey_id: survey.id, keypad: keypad.checked, sms: sms.checked };
      if ((await attempt(() => api("PUT", `/survey-queues/${queue.value}`, body), t("adm.saved"))) !== undefined) load();
    } }, t("adm2.attach"))));
  return load();
}

export const surveysPanel = crudPanel({
  title: t("adm2.surveys"), path: "/surveys",
  columns: [[t("adm.name"), (x) => x.name], [t("adm2.questions"), (x) => x.questions.map((q) => `${q.key} ${q.low}–${q.high}`).join(", ")],
    [t("adm2.languages"), (x) => [...new Set(x.questions.flatMap((q) => Object.keys(q.text)))].join(", ")], [t("adm.enabled"), (x) => yesNo(x.enabled)]],
  fields: [
    { name: "name", label: t("adm.name"), required: true },
    { name: "description", label: t("adm.description") },
    { name: "timeout_seconds", label: t("adm2.timeout"), type: "number", step: "0.5", default: 5 },
    { name: "retries", label: t("adm2.retries"), type: "number", default: 1 },
    { name: "link_valid_hours", label: t("adm2.link_hours"), type: "number", default: 72 },
    { name: "enabled", label: t("adm.enabled"), type: "bool", default: true },
    { name: "questions", label: t("adm2.questions"), type: "json", rows: 8, default: QUESTION, hint: t("adm2.questions_hint") },
    { name: "intro", label: t("adm2.intro"), type: "json", rows: 3, default: {}, hint: '{"en": "…", "zh": "…", "ko": "…"}' },
    { name: "thanks", label: t("adm2.thanks"), type: "json", rows: 3, default: {}, hint: '{"en": "…", "zh": "…", "ko": "…"}' },
    { name: "link_text", label: t("adm2.link_text"), type: "json", rows: 3, default: {}, hint: t("adm2.link_text_hint") },
  ],
  afterForm: async (box, item) => { if (item) await surveyQueues(box, item); },
});

function articleActions(box, article) {
  const versions = h("div", { id: "article-versions" });
  const state = h("p", { id: "article-state", role: "status" });
  const show = (a) => { state.textContent = a.published ? t("adm2.live_version", { version: a.live_version }) : t("adm2.not_published"); };
  async function load() {
    const page = await attempt(() => get(`/kb/articles/${article.id}/versions?limit=50`));
    if (!page) return;
    clear(versions, h("table", {}, h("caption", {}, t("adm2.versions")),
      h("thead", {}, h("tr", {}, [t("adm2.version"), t("adm2.title"), t("adm2.published_at"), t("adm2.published_by")].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, page.items.length ? page.items.map((v) => h("tr", {}, h("td", {}, v.version), h("td", {}, v.title), h("td", {}, fmtDate(v.published_at)), h("td", {}, v.published_by)))
        : h("tr", {}, h("td", { colspan: 4, class: "empty" }, t("common.none"))))));
  }
  const act = (what) => async () => {
    if ((await attempt(() => api("POST", `/kb/articles/${article.id}/${what}`), t(`adm2.done_${what}`))) === undefined) return;
    const fresh = await attempt(() => get(`/kb/articles/${article.id}/draft`));
    if (fresh) show(fresh);
    load();
  };
  show(article);
  clear(box, h("div", { class: "buttons" }, state,
    h("button", { type: "button", class: "secondary", onclick: act("publish") }, t("adm2.publish")),
    h("button", { type: "button", class: "secondary", onclick: act("unpublish") }, t("adm2.unpublish"))), versions);
  return load();
}

export const articlesPanel = crudPanel({
  title: t("adm2.articles"), path: "/kb/articles", describe: (x) => x.title || x.draft_title,
  fetchItem: (x) => get(`/kb/articles/${x.id}/draft`),
  columns: [[t("adm2.title"), (x) => x.title], [t("lang.label"), (x) => x.language], [t("adm2.published"), (x) => yesNo(x.published)],
    [t("adm2.live"), (x) => x.live_version ?? ""], [t("adm2.tags"), (x) => x.tags.join(", ")]],
  fields: [
    { name: "title", from: "draft_title", label: t("adm2.title"), required: true },
    { name: "language", label: t("lang.label"), type: "select", required: true, default: "en", options: LANGS },
    { name: "category_id", label: t("adm2.category"), type: "select", numeric: true, nullable: true, options: categories },
    { name: "tags", label: t("adm2.tags"), type: "list" },
    { name: "queues", label: t("adm2.suggest_queues"), type: "list" },
    { name: "body", from: "draft_body", label: t("adm2.body"), type: "textarea", rows: 10, hint: t("adm2.draft_hint") },
  ],
  afterForm: async (box, item) => { if (item) await articleActions(box, item); },
});

function reportView(report) {
  const facts = [[t("adm2.rows"), report.rows], [t("adm2.created"), report.created], [t("adm2.updated"), report.updated], [t("adm2.skipped"), report.skipped]];
  const verdict = report.committed ? t("adm2.import_committed") : report.dry_run ? t("adm2.import_dry_run") : t("adm2.import_refused");
  return h("section", { id: "import-report", "aria-labelledby": "report-h" }, h("h3", { id: "report-h" }, t("adm2.import_report")),
    h("p", { class: report.errors.length ? "error" : "ok", role: "status" }, verdict),
    h("dl", { class: "kv" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
    h("table", {}, h("caption", {}, t("adm2.import_errors", { count: report.errors.length })),
      h("thead", {}, h("tr", {}, [t("adm2.line"), t("adm2.column"), t("adm2.problem")].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, report.errors.length ? report.errors.map((e) => h("tr", { dataset: { row: e.row } }, h("td", {}, e.row), h("td", {}, e.field), h("td", {}, e.error)))
        : h("tr", {}, h("td", { colspan: 3, class: "empty" }, t("common.none"))))));
}

export async function customerImportPanel(panel) {
  const file = h("input", { type: "file", accept: ".csv,text/csv", required: true });
  const mode = h("select", {}, [["all_or_nothing", t("adm2.all_or_nothing")], ["skip_bad_rows", t("adm2.skip_bad_rows")]].map(([v, text]) => h("option", { value: v }, text)));
  const dry = h("input", { type: "checkbox" });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { novalidate: true, class: "editor", "aria-labelledby": "imp-h" }, h("h3", { id: "imp-h" }, t("adm2.import_csv")),
    h("p", { class: "muted" }, t("adm2.import_hint")),
    h("div", { class: "grid" }, field("imp-file", t("adm2.csv_file"), file), field("imp-mode", t("adm2.import_mode"), mode), field("imp-dry", t("adm2.dry_run"), dry)),
    h("div", { class: "buttons" }, h("button", { type: "submit" }, t("adm2.import"))));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!file.files[0]) { clear(out, h("p", { class: "error" }, t("adm2.choose_file"))); return; }
    const body = new FormData();
    body.append("file", file.files[0]);
    try {
      clear(out, reportView(await api("POST", `/customers/import${qs({ mode: mode.value, dry_run: dry.checked ? "true" : "" })}`, body)));
    } catch (error) {
      clear(out, h("p", { class: "error", role: "alert" }, problem(error)));
    }
  });
  clear(panel, h("h2", {}, t("adm2.customers")), form, out,
    h("section", { "aria-labelledby": "exp-h" }, h("h3", { id: "exp-h" }, t("adm2.export_csv")),
      h("p", {}, h("a", { href: "/api/v1/customers/export", download: "customers.csv", id: "export-link" }, t("adm2.download_csv")))));
}
