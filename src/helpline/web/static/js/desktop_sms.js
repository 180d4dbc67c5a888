// The desktop's SMS card: text the caller of the popped call (their customer record when
// one was found) or any number, with free text or one of the tenant's templates; the
// message is queued by the server and its status shown.
import { ApiError, LANG, api, attempt, get, h, label, problem, t, toast } from "./common.js";

const $ = (id) => document.getElementById(id);

export class DesktopSms {
  constructor() {
    this.templates = [];
    this.customerId = null;
  }

  async start() {
    const page = await attempt(() => get("/sms/templates?limit=200"));
    this.templates = page ? page.items : [];
    const select = $("sms-template");
    for (const tpl of this.templates) select.append(h("option", { value: String(tpl.id) }, tpl.name));
    select.addEventListener("change", () => this.preview());
    $("sms-form").addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
    $("sms-to").addEventListener("input", () => { this.customerId = null; });
  }

  /** Address the card to the popped call's caller (and their customer record). */
  forCall(call) {
    if (!call || !call.caller || call.outbound) return;
    $("sms-to").value = call.caller;
    this.customerId = call.customer ? call.customer.id : null;
    $("sms-who").textContent = call.customer ? call.customer.name : "";
  }

  preview() {
    const tpl = this.templates.find((x) => String(x.id) === $("sms-template").value);
    const text = $("sms-text");
    text.disabled = Boolean(tpl);
    if (tpl) text.value = tpl.bodies[LANG] || tpl.bodies.en || Object.values(tpl.bodies)[0] || "";
  }

  async send() {
    const to = $("sms-to").value.trim();
    const templateId = $("sms-template").value;
    const body = templateId ? { template_id: Number(templateId), language: LANG } : { text: $("sms-text").value };
    if (this.customerId !== null) body.customer_id = this.customerId;
    else body.to = to;
    const status = $("sms-status");
    try {
      const sent = await api("POST", "/sms/messages", body);
      status.textContent = t("dsms.queued", { to: sent.number, status: label("smsstatus", sent.status) });
      toast(t("dsms.sent"));
      if (!templateId) $("sms-text").value = "";
    } catch (error) {
      status.textContent = "";
      toast(error instanceof ApiError ? problem(error) : String(error), "error");
    }
  }
}
