// The admin console: one section per configuration collection (declared for crud.js),
// custom sections for prompts, VoiceXML, IVR flows and the audit log (admin_media.js),
// tenants, e-mail, webhooks and API tokens (admin_integrations.js), SMS, surveys, the
// knowledge base and the customer import (admin_content.js).
import { api, attempt, clear, fmtDate, get, h, label, t, tabs, toast } from "./common.js";
import { LANGS, choices, crudPanel, enumOptions, yesNo } from "./crud.js";
import { auditPanel, flowsPanel, promptsPanel, registrationsPanel, vxmlPanel } from "./admin_media.js";
import { mailPanel, tenantsPanel, tokensPanel, webhooksPanel } from "./admin_integrations.js";
import { articlesPanel, customerImportPanel, smsGatewaysPanel, smsTemplatesPanel, surveysPanel } from "./admin_content.js";

const services = choices("/services");
const queues = choices("/queues", (q) => q.name, (q) => q.name);
const teams = choices("/teams");
const users = choices("/users", (u) => `${u.username}${u.display_name ? ` (${u.display_name})` : ""}`);
const supervisors = choices("/users?role=supervisor", (u) => u.username);

function targetText(target) {
  if (!target) return "";
  const what = { flow: target.flow_id, vxml: target.document_id, queue: target.queue, voicemail: target.box_id, announcement: target.prompt }[target.kind];
  return `${label("target", target.kind)} ${what ?? ""}`;
}

function rulesText(rules) {
  return rules.map((r) => {
    const days = r.kind === "weekly" ? r.days.map((d) => label("day", d)).join(" ") : r.kind === "holiday" ? r.country : r.kind === "dates" ? `${r.dates.length}` : `${r.start_date}…${r.end_date}`;
    const hours = r.start || r.end ? ` ${(r.start || "00:00").slice(0, 5)}-${(r.end || "24:00").slice(0, 5)}` : "";
    return `${r.name || label("rule", r.kind)}: ${days}${hours} → ${targetText(r.target)}`;
  }).join("; ");
}

const RULE_TEMPLATES = {
  weekly: { kind: "weekly", name: "office hours", days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "18:00", target: { kind: "flow", flow_id: 1 } },
  holiday: { kind: "holiday", name: "public holidays", country: "US", target: { kind: "announcement", prompt: "closed" } },
  dates: { kind: "dates", name: "company days", dates: ["2026-12-24"], yearly: true, target: { kind: "announcement", prompt: "closed" } },
  range: { kind: "range", name: "closed for works", start_date: "2026-08-01", end_date: "2026-08-02", target: { kind: "announcement", prompt: "closed" } },
};

const SECTIONS = [
  ["numbers", () => crudPanel({
    title: t("adm.numbers"), path: "/numbers", describe: (n) => n.number,
    filters: [{ name: "number", label: t("adm.number") }],
    columns: [[t("adm.number"), (n) => n.number], [t("adm.service"), (n) => n.service_id], [t("adm.enabled"), (n) => yesNo(n.enabled)]],
    fields: [
      { name: "number", label: t("adm.number"), required: true },
      { name: "service_id", label: t("adm.service"), type: "select", numeric: true, required: true, options: services },
      { name: "enabled", label: t("adm.enabled"), type: "bool", default: true },
    ],
  })],
  ["services", () => crudPanel({
    title: t("adm.services"), path: "/services",
    columns: [[t("adm.name"), (s) => s.name], [t("adm.timezone"), (s) => s.timezone || t("adm.tenant_zone")], [t("adm.max_calls"), (s) => s.max_calls ?? "∞"],
      [t("adm.schedule"), (s) => rulesText(s.rules)], [t("adm.default_target"), (s) => targetText(s.default_target)]],
    fields: [
      { name: "name", label: t("adm.name"), required: true },
      { name: "timezone", label: t("adm.timezone"), nullable: true, placeholder: "Asia/Shanghai" },
      { name: "max_calls", label: t("adm.max_calls"), type: "number", nullable: true },
      { name: "over_limit_action", label: t("adm.over_limit"), type: "select", required: true, options: enumOptions("overlimit", ["busy", "announcement"]), default: "busy" },
      { name: "over_limit_prompt", label: t("adm.over_limit_prompt"), nullable: true },
      { name: "rules", label: t("adm.rules"), type: "json", rows: 8, default: [], hint: t("adm.rules_hint") },
      { name: "default_target", label: t("adm.default_target"), type: "json", rows: 3, default: { kind: "voicemail", box_id: 1 }, hint: t("adm.target_hint") },
    ],
    afterForm: async (box, item) => {
      const rules = box.closest("form").querySelector("[name=rules]");
      const add = (kind) => {
        let list = [];
        try { list = JSON.parse(rules.value || "[]"); } catch { list = []; }
        list.push(RULE_TEMPLATES[kind]);
        rules.value = JSON.stringify(list, null, 2);
      };
      const result = h("p", { class: "muted", "aria-live": "polite" });
      clear(box, h("div", { class: "buttons" }, h("span", {}, t("adm.add_rule")),
        Object.keys(RULE_TEMPLATES).map((kind) => h("button", { type: "button", class: "secondary", onclick: () => add(kind) }, label("rule", kind))),
        item ? h("button", { type: "button", class: "secondary", onclick: async () => {
          const route = await attempt(() => get(`/services/${item.id}/route`));
          if (route) result.textContent = t("adm.route_now", { time: route.local_time.slice(0, 16).replace("T", " "), zone: route.timezone, rule: route.rule_name || (route.rule_index === null ? t("adm.default_target") : `#${route.rule_index + 1}`), target: targetText(route.target) });
        } }, t("adm.route_check")) : null), result);
    },
  })],
  ["queues", () => crudPanel({
    title: t("adm.queues"), path: "/queues",
    columns: [[t("adm.name"), (q) => q.name], [t("adm.strategy"), (q) => label("strategy", q.strategy)], [t("adm.ring_timeout"), (q) => `${q.ring_timeout}s`],
      [t("adm.wrap_up"), (q) => `${q.wrap_up_seconds}s`], [t("adm.max_wait"), (q) => (q.max_wait_seconds ? `${q.max_wait_seconds}s` : "∞")],
      [t("adm.skills"), (q) => Object.entries(q.required_skills).map(([k, v]) => `${k}≥${v}`).join(", ")], [t("adm.recording"), (q) => yesNo(q.recording)]],
    fields: [
      { name: "name", label: t("adm.name"), required: true },
      { name: "strategy", label: t("adm.strategy"), type: "select", required: true, default: "longest_idle",
        options: enumOptions("strategy", ["ring_all", "longest_idle", "round_robin", "fewest_calls", "least_talk_time", "linear", "random", "weighted_random"]) },
      { name: "ring_timeout", label: t("adm.ring_timeout"), type: "number", default: 15 },
      { name: "wrap_up_seconds", label: t("adm.wrap_up"), type: "number", default: 10 },
      { name: "auto_pause_after", label: t("adm.auto_pause"), type: "number", default: 3 },
      { name: "max_length", label: t("adm.max_length"), type: "number", nullable: true },
      { name: "max_wait_seconds", label: t("adm.max_wait"), type: "number", nullable: true },
      { name: "service_level_seconds", label: t("adm.sl_seconds"), type: "number", default: 20 },
      { name: "music_on_hold", label: t("adm.moh"), default: "default" },
      { name: "announce_interval", label: t("adm.announce"), type: "number", default: 0 },
      { name: "sticky_seconds", label: t("adm.sticky"), type: "number", default: 0 },
      { name: "priority_aging", label: t("adm.aging"), type: "number", step: "0.1", default: 0 },
      { name: "callback_enabled", label: t("adm.callback"), type: "bool" },
      { name: "recording", label: t("adm.recording"), type: "bool" },
      { name: "required_skills", label: t("adm.skills"), type: "json", rows: 2, default: {}, hint: '{"support": 3}' },
      { name: "fallback", label: t("adm.fallback"), type: "json", rows: 2, nullable: true, default: null, hint: t("adm.fallback_hint") },
      { name: "overflow", label: t("adm.overflow"), type: "json", rows: 3, default: [], hint: '[{"after_seconds": 60, "min_level_drop": 1, "add_queues": ["sales"]}]' },
    ],
  })],
  ["skills", () => crudPanel({
    title: t("adm.skills"), path: "/skills",
    columns: [[t("adm.name"), (s) => s.name], [t("adm.description"), (s) => s.description]],
    fields: [{ name: "name", label: t("adm.name"), required: true }, { name: "description", label: t("adm.description") }],
  })],
  ["agents", () => crudPanel({
    title: t("adm.agents"), path: "/agents", describe: (a) => a.username,
    columns: [[t("adm.user"), (a) => `${a.username} ${a.display_name ? `(${a.display_name})` : ""}`], [t("adm.team"), (a) => a.team_id ?? ""],
      [t("adm.phones"), (a) => a.sip_accounts.join(", ")], [t("adm.weight"), (a) => a.weight], [t("adm.region"), (a) => a.region], [t("adm.enabled"), (a) => yesNo(a.enabled)]],
    fields: [
      { name: "user_id", label: t("adm.user"), type: "select", numeric: true, required: true, createOnly: true, options: users },
      { name: "team_id", label: t("adm.team"), type: "select", numeric: true, nullable: true, options: teams },
      { name: "weight", label: t("adm.weight"), type: "number", default: 1 },
      { name: "region", label: t("adm.region") },
      { name: "enabled", label: t("adm.enabled"), type: "bool", default: true },
    ],
    afterForm: async (box, item) => {
      if (!item) return;
      const [memberships, skills] = await Promise.all([get(`/agents/${item.id}/memberships`), get(`/agents/${item.id}/skills`)]);
      const queueArea = h("textarea", { id: "agent-memberships", class: "json", rows: 4 }, JSON.stringify(memberships.map(({ queue_id, position, penalty }) => ({ queue_id, position, penalty })), null, 2));
      const skillArea = h("textarea", { id: "agent-skills", class: "json", rows: 3 }, JSON.stringify(skills.skills, null, 2));
      const names = (await queues()).map(([name]) => name).join(", ");
      clear(box,
        h("div", { class: "field" }, h("label", { for: "agent-memberships" }, t("adm.memberships")), queueArea, h("small", { class: "hint" }, t("adm.memberships_hint", { queues: names }))),
        h("div", { class: "field" }, h("label", { for: "agent-skills" }, t("adm.agent_skills")), skillArea, h("small", { class: "hint" }, '{"sales": 5, "ko": 3}')),
        h("button", { type: "button", class: "secondary", onclick: async () => {
          let memberships2, skills2;
          try { memberships2 = JSON.parse(queueArea.value); skills2 = JSON.parse(skillArea.value); } catch (error) { toast(t("adm.bad_json", { error: error.message }), "error"); return; }
          await attempt(async () => {
            await api("PUT", `/agents/${item.id}/memberships`, { memberships: memberships2 });
            await api("PUT", `/agents/${item.id}/skills`, { skills: skills2 });
          }, t("adm.saved"));
        } }, t("adm.save_queues_skills")));
    },
  })],
  ["teams", () => crudPanel({
    title: t("adm.teams"), path: "/teams",
    columns: [[t("adm.name"), (x) => x.name], [t("adm.description"), (x) => x.description], [t("adm.supervisors"), (x) => x.supervisor_ids.join(", ")]],
    fields: [
      { name: "name", label: t("adm.name"), required: true },
      { name: "description", label: t("adm.description") },
      { name: "supervisor_ids", label: t("adm.supervisors"), type: "multi", numeric: true, options: supervisors },
    ],
  })],
  ["reasons", () => crudPanel({
    title: t("adm.reasons"), path: "/reason-codes",
    columns: [[t("adm.name"), (r) => r.name], ["English", (r) => r.labels.en || ""], ["中文", (r) => r.labels.zh || ""], ["한국어", (r) => r.labels.ko || ""]],
    fields: [
      { name: "name", label: t("adm.name"), required: true },
      { name: "labels.en", group: "labels", key: "en", label: `${t("adm.label")} (English)` },
      { name: "labels.zh", group: "labels", key: "zh", label: `${t("adm.label")} (中文)` },
      { name: "labels.ko", group: "labels", key: "ko", label: `${t("adm.label")} (한국어)` },
    ],
  })],
  ["dispositions", () => crudPanel({
    title: t("adm.dispositions"), path: "/dispositions", list: "array", describe: (d) => d.code,
    columns: [[t("adm.code"), (d) => d.code], [t("adm.label"), (d) => d.label], [t("adm.builtin"), (d) => yesNo(d.builtin)], [t("adm.enabled"), (d) => yesNo(d.active)]],
    fields: [
      { name: "code", label: t("adm.code"), required: true, createOnly: true },
      { name: "label", label: t("adm.label"), required: true },
      { name: "active", label: t("adm.enabled"), type: "bool", default: true },
    ],
  })],
  ["blacklist", () => crudPanel({
    title: t("adm.blacklist"), path: "/blacklist", describe: (b) => b.number || label("blockkind", b.kind),
    columns: [[t("adm.number"), (b) => b.number || ""], [t("adm.kind"), (b) => label("blockkind", b.kind)], [t("adm.action"), (b) => label("blockaction", b.action)],
      [t("adm.expires"), (b) => fmtDate(b.expires_at)], [t("adm.hits"), (b) => b.hit_count], [t("adm.note"), (b) => b.note]],
    fields: [
      { name: "kind", label: t("adm.kind"), type: "select", required: true, default: "exact", options: enumOptions("blockkind", ["exact", "prefix", "anonymous"]) },
      { name: "number", label: t("adm.number"), nullable: true },
      { name: "action", label: t("adm.action"), type: "select", required: true, default: "reject_busy", options: enumOptions("blockaction", ["reject_busy", "reject_announcement", "drop"]) },
      { name: "prompt", label: t("adm.prompt"), nullable: true },
      { name: "expires_at", label: t("adm.expires"), type: "datetime", nullable: true },
      { name: "note", label: t("adm.note") },
    ],
  })],
  ["trunks", () => crudPanel({
    title: t("adm.trunks"), path: "/trunks",
    columns: [[t("adm.name"), (x) => x.name], [t("adm.host"), (x) => `${x.host}:${x.port}/${x.transport}`], [t("adm.prefixes"), (x) => (x.prefixes || []).join(", ")],
      [t("adm.priority"), (x) => x.priority], [t("adm.register"), (x) => yesNo(x.register_enabled)], [t("adm.enabled"), (x) => yesNo(x.enabled)]],
    fields: [
      { name: "name", label: t("adm.name"), required: true },
      { name: "host", label: t("adm.host"), required: true },
      { name: "port", label: t("adm.port"), type: "number", default: 5060 },
      { name: "transport", label: t("adm.transport"), type: "select", required: true, default: "UDP", options: [["UDP", "UDP"], ["TCP", "TCP"], ["TLS", "TLS"]] },
      { name: "inbound_mode", label: t("adm.inbound_mode"), type: "select", required: true, default: "allowlist", options: enumOptions("inbound", ["allowlist", "digest"]) },
      { name: "allowed_sources", label: t("adm.allowed_sources"), type: "list", hint: "203.0.113.0/24" },
      { name: "username", label: t("adm.sip_user"), nullable: true },
      { name: "password", label: t("login.password"), type: "password" },
      { name: "auth_realm", label: t("adm.realm"), nullable: true },
      { name: "register_enabled", label: t("adm.register"), type: "bool" },
      { name: "from_domain", label: t("adm.from_domain"), nullable: true },
      { name: "prefixes", label: t("adm.prefixes"), type: "list", hint: "+86, 00" },
      { name: "strip_digits", label: t("adm.strip"), type: "number", default: 0 },
      { name: "prepend", label: t("adm.prepend") },
      { name: "priority", label: t("adm.priority"), type: "number", default: 100 },
      { name: "caller_id_mode", label: t("adm.caller_id_mode"), type: "select", required: true, default: "account", options: enumOptions("cid", ["account", "fixed"]) },
      { name: "caller_id_number", label: t("adm.caller_id"), nullable: true },
      { name: "max_channels", label: t("adm.max_channels"), type: "number", nullable: true },
      { name: "enabled", label: t("adm.enabled"), type: "bool", default: true },
    ],
  })],
  ["users", () => crudPanel({
    title: t("adm.users"), path: "/users", describe: (u) => u.username,
    columns: [[t("login.username"), (u) => u.username], [t("adm.display_name"), (u) => u.display_name], [t("home.role"), (u) => label("role", u.role)],
      [t("lang.label"), (u) => (LANGS.find(([c]) => c === u.locale) || [0, u.locale])[1]], [t("adm.email"), (u) => u.email || ""], [t("adm.active"), (u) => yesNo(u.active)]],
    fields: [
      { name: "username", label: t("login.username"), required: true, createOnly: true },
      { name: "password", label: t("login.password"), type: "password", required: true },
      { name: "role", label: t("home.role"), type: "select", required: true, default: "agent", options: enumOptions("role", ["agent", "supervisor", "tenant-admin"]) },
      { name: "display_name", label: t("adm.display_name") },
      { name: "email", label: t("adm.email"), nullable: true },
      { name: "locale", label: t("lang.label"), type: "select", required: true, default: "en", options: LANGS },
      { name: "active", label: t("adm.active"), type: "bool", updateOnly: true },
    ],
  })],
  ["sip", () => crudPanel({
    title: t("adm.sip_accounts"), path: "/sip-accounts", describe: (a) => a.username,
    columns: [[t("login.username"), (a) => a.username], [t("adm.realm"), (a) => a.realm], [t("adm.user"), (a) => a.user_id ?? ""], [t("adm.display_name"), (a) => a.display_name], [t("adm.active"), (a) => yesNo(a.active)]],
    fields: [
      { name: "username", label: t("login.username"), required: true, createOnly: true },
      { name: "password", label: t("login.password"), type: "password", required: true },
      { name: "user_id", label: t("adm.user"), type: "select", numeric: true, nullable: true, options: users },
      { name: "display_name", label: t("adm.display_name") },
      { name: "active", label: t("adm.active"), type: "bool", updateOnly: true },
    ],
  })],
  ["registrations", () => registrationsPanel],
  ["voicemail", () => crudPanel({
    title: t("adm.voicemail_boxes"), path: "/voicemail-boxes",
    columns: [[t("adm.name"), (b) => b.name], [t("adm.owner"), (b) => `${label("owner", b.owner_kind)} ${b.owner_ref}`], [t("adm.max_seconds"), (b) => b.max_seconds], [t("adm.notify"), (b) => b.notify_emails.join(", ")], [t("adm.enabled"), (b) => yesNo(b.enabled)]],
    fields: [
      { name: "name", label: t("adm.name"), required: true },
      { name: "owner_kind", label: t("adm.owner"), type: "select", required: true, default: "queue", options: enumOptions("owner", ["queue", "department", "agent"]) },
      { name: "owner_ref", label: t("adm.owner_ref"), required: true },
      { name: "greeting", label: t("adm.greeting"), nullable: true },
      { name: "max_seconds", label: t("adm.max_seconds"), type: "number", default: 120 },
      { name: "notify_emails", label: t("adm.notify"), type: "list" },
      { name: "language", label: t("lang.label"), type: "select", nullable: true, options: LANGS },
      { name: "timezone", label: t("adm.timezone"), nullable: true },
      { name: "enabled", label: t("adm.enabled"), type: "bool", default: true },
    ],
  })],
  ["departments", () => crudPanel({
    title: t("adm.departments"), path: "/departments",
    columns: [[t("adm.name"), (d) => d.name], [t("adm.description"), (d) => d.description], [t("adm.email"), (d) => d.email || ""], [t("adm.members"), (d) => d.member_ids.length]],
    fields: [
      { name: "name", label: t("adm.name"), required: true },
      { name: "description", label: t("adm.description") },
      { name: "email", label: t("adm.email"), nullable: true },
      { name: "member_ids", label: t("adm.members"), type: "multi", numeric: true, options: users },
    ],
  })],
  ["prompts", () => promptsPanel],
  ["vxml", () => vxmlPanel],
  ["flows", () => flowsPanel],
  ["audit", () => auditPanel],
  ["tenants", () => tenantsPanel],
  ["mail", () => mailPanel],
  ["webhooks", () => webhooksPanel],
  ["tokens", () => tokensPanel],
  ["smsgateways", () => smsGatewaysPanel],
  ["smstemplates", () => smsTemplatesPanel],
  ["surveys", () => surveysPanel],
  ["articles", () => articlesPanel],
  ["customers", () => customerImportPanel],
];

const list = document.getElementById("sections");
const panel = document.getElementById("panel");
for (const [name] of SECTIONS) {
  const text = t(`adm.section.${name}`);
  list.append(h("button", { type: "button", role: "tab", id: `tab-${name}`, "aria-controls": "panel", "aria-selected": "false", dataset: { tab: name } }, text === `adm.section.${name}` ? t(`adm2.section.${name}`) : text));
}
let rendering = 0;
const show = tabs(list, async (name) => {
  const found = SECTIONS.find(([n]) => n === name) || SECTIONS[0];
  history.replaceState(null, "", `#${found[0]}`);
  panel.setAttribute("aria-labelledby", `tab-${found[0]}`);
  const mine = ++rendering;
  clear(panel, h("p", { class: "muted" }, t("common.loading")));
  try {
    await found[1]()(panel);
  } catch (error) {
    if (mine === rendering) toast(String(error.message || error), "error");
  }
  if (mine === rendering) document.documentElement.dataset.section = found[0];
});
show((location.hash || "#numbers").slice(1));
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
