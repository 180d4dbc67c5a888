// Admin sections for the platform and integrations: tenants and their capacity limits
// (platform admins; a tenant admin sees their own tenant), the tenant's own SMTP server
// with a test e-mail, webhooks with their delivery log, and API tokens. Secrets made by
// the server (webhook secrets, tokens) are shown once, in a dialog.
import { ApiError, ME, api, attempt, clear, field, fmtDate, get, h, label, t, toast } from "./common.js";
import { LANGS, crudPanel, enumOptions, showFailure, yesNo } from "./crud.js";

const TIERS = ["small", "medium", "large", "custom"];
const SMTP_ERRORS = { smtp_failed: "adm2.smtp_failed", smtp_not_configured: "adm2.smtp_not_configured" };
const WEBHOOK_EVENTS = ["call.offered", "call.answered", "call.ended", "workorder.changed"];

/** A modal dialog showing ``value`` (a secret the server shows this once). */
export function showOnce(title, value, note = t("adm2.shown_once")) {
  const box = h("input", { id: "once-value", readonly: true, value, class: "code", size: Math.min(64, value.length + 2) });
  const dialog = h("dialog", { id: "once-dialog", "aria-labelledby": "once-h" },
    h("h2", { id: "once-h" }, title), h("p", {}, note), field("once-value", t("adm2.secret_value"), box),
    h("div", { class: "buttons" },
      h("button", { type: "button", class: "secondary", onclick: async () => { box.select(); try { await navigator.clipboard.writeText(value); toast(t("adm2.copied"), "ok"); } catch { document.execCommand("copy"); } } }, t("adm2.copy")),
      h("button", { type: "button", onclick: () => dialog.close() }, t("adm2.done"))));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  box.select();
}

const limitsColumns = [[t("adm2.tier"), (x) => label("adm2.tier", x.tier)], [t("adm2.max_lines"), (x) => x.max_lines],
  [t("adm2.max_agents"), (x) => x.max_agents], [t("adm2.max_ivr_ports"), (x) => x.max_ivr_ports]];

const platformTenants = crudPanel({
  title: t("adm2.tenants"), path: "/tenants", describe: (x) => x.slug,
  columns: [[t("adm2.slug"), (x) => x.slug], [t("adm.name"), (x) => x.name], ...limitsColumns, [t("adm.active"), (x) => yesNo(x.active)]],
  fields: [
    { name: "slug", label: t("adm2.slug"), required: true, createOnly: true, pattern: "[a-z0-9][a-z0-9\\-]{1,62}", hint: t("adm2.slug_hint") },
    { name: "name", label: t("adm.name"), required: true },
    { name: "timezone", label: t("adm.timezone"), default: "UTC", placeholder: "Asia/Seoul" },
    { name: "locale", label: t("lang.label"), type: "select", required: true, default: "en", options: LANGS },
    { name: "tier", label: t("adm2.tier"), type: "select", required: true, default: "small", options: enumOptions("adm2.tier", TIERS), hint: t("adm2.tier_hint") },
    { name: "max_lines", label: t("adm2.max_lines"), type: "number" },
    { name: "max_agents", label: t("adm2.max_agents"), type: "number" },
    { name: "max_ivr_ports", label: t("adm2.max_ivr_ports"), type: "number" },
    { name: "active", label: t("adm.active"), type: "bool", updateOnly: true },
    { name: "admin_username", label: t("adm2.first_admin"), createOnly: true },
    { name: "admin_password", label: t("adm2.first_admin_password"), type: "password", createOnly: true },
  ],
});

async function ownTenant(panel) {
  const tenant = await get("/tenants/current");
  const facts = [[t("adm2.slug"), tenant.slug], [t("adm2.sip_realm"), tenant.sip_realm], ...limitsColumns.map(([k, f]) => [k, f(tenant)])];
  const name = h("input", { name: "name", value: tenant.name, required: true });
  const zone = h("input", { name: "timezone", value: tenant.timezone });
  const lang = h("select", { name: "locale" }, LANGS.map(([v, text]) => h("option", { value: v, selected: v === tenant.locale }, text)));
  const form = h("form", { novalidate: true, class: "editor", "aria-labelledby": "own-h" }, h("h3", { id: "own-h" }, t("adm2.tenant_settings")),
    h("div", { class: "grid" }, field("own-name", t("adm.name"), name), field("own-zone", t("adm.timezone"), zone), field("own-lang", t("lang.label"), lang)),
    h("div", { class: "buttons" }, h("button", { type: "submit" }, t("adm.save"))));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await api("PATCH", "/tenants/current", { name: name.value, timezone: zone.value, locale: lang.value }); toast(t("adm.saved"), "ok"); } catch (error) { showFailure(form, error); }
  });
  clear(panel, h("h2", {}, t("adm2.my_tenant")),
    h("dl", { id: "tenant-facts", class: "kv" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
    h("p", { class: "muted" }, t("adm2.limits_read_only")), form);
}

export async function tenantsPanel(panel) {
  if (ME && ME.role === "platform-admin") return platformTenants(panel);
  return ownTenant(panel);
}

function deliveryLog(box, hook) {
  const list = h("div", { id: "deliveries", "aria-live": "polite" });
  async function load() {
    const page = await attempt(() => get(`/webhooks/${hook.id}/deliveries?limit=50`));
    if (!page) return;
    const rows = page.items.map((d) => h("tr", { dataset: { delivery: d.id, status: d.status } },
      h("td", {}, fmtDate(d.created_at)), h("td", {}, d.event), h("td", {}, label("adm2.delivery", d.status)), h("td", {}, d.attempts),
      h("td", {}, d.last_status_code ?? ""), h("td", {}, d.last_error || ""),
      h("td", {}, d.status === "delivered" ? "" : h("button", { type: "button", class: "secondary", onclick: async () => {
        if ((await attempt(() => api("POST", `/webhooks/${hook.id}/deliveries/${d.id}/retry`), t("adm2.retried"))) !== undefined) load();
      } }, t("adm2.retry")))));
    clear(list, h("table", {}, h("caption", {}, t("adm2.deliveries")),
      h("thead", {}, h("tr", {}, [t("adm2.when"), t("adm2.event"), t("adm2.status"), t("adm2.attempts"), t("adm2.http_status"), t("adm2.error"), ""].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 7, class: "empty" }, t("adm2.no_deliveries"))))));
  }
  clear(box, list, h("button", { type: "button", class: "secondary", onclick: load }, t("adm2.refresh")));
  return load();
}

export const webhooksPanel = crudPanel({
  title: t("adm2.webhooks"), path: "/webhooks",
  columns: [[t("adm.name"), (x) => x.name], [t("adm2.url"), (x) => x.url], [t("adm2.events"), (x) => x.events.join(", ")],
    [t("adm.enabled"), (x, reload) => h("button", { type: "button", class: "secondary", "aria-pressed": String(x.enabled), "aria-label": t(x.enabled ? "adm2.disable_item" : "adm2.enable_item", { name: x.name }), onclick: async () => {
      if ((await attempt(() => api("PATCH", `/webhooks/${x.id}`, { enabled: !x.enabled }), t("adm.saved"))) !== undefined) reload();
    } }, x.enabled ? t("adm2.disable") : t("adm2.enable"))]],
  fields: [
    { name: "name", label: t("adm.name"), required: true },
    { name: "url", label: t("adm2.url"), required: true, placeholder: "https://crm.example.com/hooks/helpline" },
    { name: "events", label: t("adm2.events"), type: "multi", required: true, options: WEBHOOK_EVENTS.map((e) => [e, e]) },
    { name: "secret", label: t("adm2.secret"), type: "password", hint: t("adm2.secret_hint") },
    { name: "enabled", label: t("adm.enabled"), type: "bool", default: true },
  ],
  afterForm: async (box, item) => { if (item) await deliveryLog(box, item); },
  afterSave: (saved) => { if (saved.secret) showOnce(t("adm2.webhook_secret"), saved.secret); },
});

export const tokensPanel = crudPanel({
  title: t("adm2.tokens"), path: "/auth/tokens", list: "array", readOnly: true,
  columns: [[t("adm.name"), (x) => x.name], [t("adm2.prefix"), (x) => x.prefix], [t("adm2.scopes"), (x) => x.scopes.join(", ")],
    [t("adm2.created"), (x) => fmtDate(x.created_at)], [t("adm.expires"), (x) => fmtDate(x.expires_at) || "∞"], [t("adm2.last_used"), (x) => fmtDate(x.last_used_at)],
    ["", (x, reload) => x.revoked ? t("adm2.revoked_state") : h("button", { type: "button", class: "danger", "aria-label": t("adm2.revoke_item", { name: x.name }), onclick: async () => {
      if (window.confirm(t("adm2.confirm_revoke")) && (await attempt(() => api("DELETE", `/auth/tokens/${x.id}`), t("adm2.revoked"))) !== undefined) reload();
    } }, t("adm2.revoke"))]],
  fields: [
    { name: "name", label: t("adm.name"), required: true },
    { name: "scopes", label: t("adm2.scopes"), type: "multi", required: true, options: [["read", "read"], ["write", "write"], ["events", "events"]] },
    { name: "expires_at", label: t("adm.expires"), type: "datetime", nullable: true },
  ],
  afterSave: (saved) => { if (saved.token) showOnce(t("adm2.new_token"), saved.token); },
});

export async function mailPanel(panel) {
  const view = await get("/mail-settings");
  const s = view.settings || { host: "", port: 587, username: "", has_password: false, sender: "", starttls: true, enabled: true };
  const input = (name, value, attrs = {}) => h("input", { name, value: value ?? "", ...attrs });
  const host = input("host", s.host, { required: true, placeholder: "smtp.example.com" });
  const port = input("port", s.port, { type: "number", min: 1, max: 65535 });
  const user = input("username", s.username, { autocomplete: "off" });
  const password = input("password", "", { type: "password", autocomplete: "new-password", placeholder: s.has_password ? t("adm2.password_kept") : "" });
  const sender = input("sender", s.sender, { type: "email", required: true, placeholder: "support@example.com" });
  const starttls = h("input", { name: "starttls", type: "checkbox", checked: s.starttls });
  const enabled = h("input", { name: "enabled", type: "checkbox", checked: s.enabled });
  const status = h("p", { id: "mail-status", class: "muted" }, view.settings && view.settings.enabled ? t("adm2.mail_own") : view.node_server ? t("adm2.mail_node", { server: view.node_server }) : t("adm2.mail_none"));
  const form = h("form", { novalidate: true, class: "editor", "aria-labelledby": "mail-h" }, h("h3", { id: "mail-h" }, t("adm2.smtp_server")),
    h("div", { class: "grid" }, field("mail-host", t("adm.host"), host), field("mail-port", t("adm.port"), port), field("mail-user", t("adm2.smtp_user"), user),
      field("mail-password", t("login.password"), password, t("adm2.password_write_only")), field("mail-sender", t("adm2.sender"), sender),
      field("mail-starttls", "STARTTLS", starttls), field("mail-enabled", t("adm2.use_own_server"), enabled)),
    h("div", { class: "buttons" }, h("button", { type: "submit" }, t("adm.save"))));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { host: host.value, port: Number(port.value || 587), username: user.value, sender: sender.value, starttls: starttls.checked, enabled: enabled.checked };
    if (password.value) body.password = password.value;
    try { await api("PUT", "/mail-settings", body); toast(t("adm.saved"), "ok"); await mailPanel(panel); } catch (error) { showFailure(form, error); }
  });
  const to = h("input", { name: "to", type: "email", required: true, value: "" });
  const result = h("p", { id: "mail-test-result", role: "status" });
  const test = h("form", { novalidate: true, class: "editor", "aria-labelledby": "mail-test-h" }, h("h3", { id: "mail-test-h" }, t("adm2.send_test")),
    h("div", { class: "grid" }, field("mail-to", t("adm2.test_to"), to)), h("div", { class: "buttons" }, h("button", { type: "submit" }, t("adm2.send_test"))), result);
  test.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const sent = await api("POST", "/mail-settings/test", { to: to.value });
      result.textContent = t("adm2.test_sent", { server: sent.server });
    } catch (error) {
      const known = error instanceof ApiError && SMTP_ERRORS[error.errorId];
      if (!known) { result.textContent = ""; showFailure(test, error); return; }
      result.textContent = error.details && error.details.reason ? `${t(known)}: ${error.details.reason}` : t(known);
    }
  });
  clear(panel, h("h2", {}, t("adm2.mail")), status, form, test);
}
