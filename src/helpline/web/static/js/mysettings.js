// "My settings": the signed-in user's display name, language and password, and for agents
// their profile (team, queues, skills, phones), in a modal dialog opened from the header.
import { ApiError, LANG, START, api, attempt, clear, field, get, h, t, toast } from "./common.js";
import { markField, showFailure } from "./crud.js";

const PASSWORD_ERRORS = { wrong_password: "adm2.wrong_password", current_password_required: "adm2.current_password_required" };
const LANGS = [["en", "English"], ["zh", "简体中文"], ["ko", "한국어"]];

function profileView(agent) {
  const skills = Object.entries(agent.skills).map(([name, level]) => `${name} ${level}`).join(", ");
  const rows = [
    [t("adm2.team"), agent.team ? agent.team.name : t("common.none")],
    [t("adm2.queues"), agent.queues.map((q) => q.queue).join(", ") || t("common.none")],
    [t("adm2.skills"), skills || t("common.none")],
    [t("adm2.phones"), agent.sip_accounts.join(", ") || t("common.none")],
  ];
  return h("section", { "aria-labelledby": "me-agent-h" }, h("h3", { id: "me-agent-h" }, t("adm2.my_agent_profile")),
    h("dl", { id: "me-agent", class: "kv" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

/** Open the dialog; focus goes back to ``opener`` when it closes. */
export async function openMySettings(opener) {
  const me = await attempt(() => get("/users/me"));
  if (!me) return;
  let agent = null;
  if (me.role === "agent" || START.agent) {
    try { agent = await get("/agents/me"); } catch (error) { if (!(error instanceof ApiError && error.status === 404)) throw error; }
  }
  const name = h("input", { name: "display_name", value: me.display_name, maxlength: 200, autocomplete: "name" });
  const lang = h("select", { name: "locale" }, LANGS.map(([v, text]) => h("option", { value: v, selected: v === me.locale, lang: v }, text)));
  const current = h("input", { name: "current_password", type: "password", autocomplete: "current-password" });
  const fresh = h("input", { name: "new_password", type: "password", autocomplete: "new-password", minlength: 8 });
  const dialog = h("dialog", { id: "my-settings-dialog", "aria-labelledby": "me-h" });
  const close = () => { dialog.close(); };
  const form = h("form", { novalidate: true },
    h("h2", { id: "me-h" }, t("adm2.my_settings")),
    h("p", { class: "muted" }, `${me.username}@${me.tenant}`),
    field("me-name", t("adm.display_name"), name),
    field("me-lang", t("lang.label"), lang),
    h("fieldset", {}, h("legend", {}, t("adm2.change_password")),
      field("me-current", t("adm2.current_password"), current),
      field("me-new", t("adm2.new_password"), fresh, t("adm2.password_hint"))),
    agent ? profileView(agent) : null,
    h("div", { class: "buttons" }, h("button", { type: "submit" }, t("adm.save")), h("button", { type: "button", class: "ghost", onclick: close }, t("common.cancel"))));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    const body = { display_name: name.value, locale: lang.value };
    if (fresh.value) {
      if (fresh.value.length < 8) { markField(form, "new_password", t("adm2.password_hint")); return; }
      Object.assign(body, { current_password: current.value, new_password: fresh.value });
    }
    try {
      await api("PATCH", "/users/me", body);
    } catch (error) {
      const known = error instanceof ApiError && PASSWORD_ERRORS[error.errorId];
      if (known) markField(form, "current_password", t(known));
      else showFailure(form, error);
      return;
    }
    toast(t("adm.saved"), "ok");
    close();
    if (lang.value !== LANG) {
      const url = new URL(location.href);
      url.searchParams.set("lang", lang.value);
      location.href = url.toString();
    } else if (name.value !== me.display_name) {
      location.reload();
    }
  });
  clear(dialog, form);
  dialog.addEventListener("close", () => { dialog.remove(); opener.focus(); });
  document.body.append(dialog);
  dialog.showModal();
  name.focus();
}
