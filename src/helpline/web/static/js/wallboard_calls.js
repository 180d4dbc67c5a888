// The wallboard's live calls and the supervisor's commands on them (listen, whisper,
// barge: the supervisor's own phone rings first; hang up and intercept after a
// confirmation). One snapshot of GET /calls (the calls the server lets this user act on),
// then the event stream alone: an offer gives the caller, an answer starts the row, the
// end of the agent's call (or the agent leaving the on-call state) removes it. Buttons
// show only where the user may act: a tenant admin on every call, a supervisor on the
// calls of the agents of the teams they lead. GET /calls names the queue a call came
// through; an offer seen on the stream names it too.
import { ME, api, attempt, clear, fmtDuration, get, h, since, t, toast } from "./common.js";

const ADMINS = new Set(["tenant-admin", "platform-admin"]);
const JOIN = ["listen", "whisper", "barge"];
const CONFIRM = new Set(["hangup", "intercept"]);
const MAX_OFFERS = 500;

export class LiveCalls {
  /** ``agents`` is the wallboard's Map of agent_id -> agent state (with team_id). */
  constructor({ node, agents, myTeams, visible }) {
    Object.assign(this, { node, agents, myTeams, visible, calls: new Map(), offers: new Map(), asking: null });
    this.admin = ADMINS.has(ME && ME.role);
  }

  /** Load the calls the server shows this user now (on start and after a reconnection). */
  async snapshot() {
    const listed = await attempt(() => get("/calls"));
    if (!listed) return;
    const known = new Map(this.calls);
    this.calls.clear();
    for (const call of listed) {
      if (call.state === "ended") continue;
      const agent = [...this.agents.values()].find((a) => a.call_id === call.call_id);
      const customer = call.parties.find((p) => p.side === "customer");
      this.calls.set(call.call_id, {
        call_id: call.call_id, caller: customer ? customer.number : "", queue: (known.get(call.call_id) || {}).queue || call.queue || "",
        agent_id: agent ? agent.agent_id : null, agent: agent ? agent.username : call.agent || "",
        since: agent && agent.state === "on_call" ? agent.since : null,
        supervisors: call.supervisors.map((s) => `${s.account} (${t(`sup.${s.mode}`)})`), allowed: true,
      });
    }
    this.render();
  }

  /** Apply one event of the stream; true when it concerned a live call. */
  onEvent(event) {
    const call = this.calls.get(event.call_id);
    switch (event.event) {
      case "acd.call_offered":
        this.offers.set(event.call_id, { caller: event.caller, queue: event.queue });
        if (this.offers.size > MAX_OFFERS) this.offers.delete(this.offers.keys().next().value);
        return false;
      case "acd.call_answered": {
        const offer = this.offers.get(event.call_id) || {};
        this.offers.delete(event.call_id);
        this.calls.set(event.call_id, {
          call_id: event.call_id, caller: offer.caller || (call && call.caller) || "", queue: event.queue,
          agent_id: event.agent_id, agent: event.username, since: event.at, supervisors: [], allowed: null,
        });
        break;
      }
      case "acd.call_ended":
        this.offers.delete(event.call_id);
        if (!call || (call.agent_id !== null && call.agent_id !== event.agent_id)) return false;
        this.calls.delete(event.call_id);
        break;
      case "acd.agent_state": {
        if (event.state === "on_call") return false;
        const gone = [...this.calls.values()].filter((c) => c.agent_id === event.agent_id);
        if (!gone.length) return false;
        for (const c of gone) this.calls.delete(c.call_id);
        break;
      }
      case "call.supervisor_joined":
        if (!call) return false;
        call.supervisors = [...call.supervisors, `${event.supervisor} (${t(`sup.${event.mode}`)})`];
        break;
      case "call.transferred":
        if (!call || event.kind !== "intercept") return false;
        Object.assign(call, { agent: event.target, agent_id: null, supervisors: [], since: event.at });
        break;
      default:
        return false;
    }
    this.render();
    return true;
  }

  /** The team of the call's agent, from the agents' states (null: none known). */
  team(call) {
    const agent = call.agent_id === null ? null : this.agents.get(call.agent_id);
    return agent ? agent.team_id : null;
  }

  mayAct(call) {
    if (this.admin) return true;
    if (call.allowed !== null && call.allowed !== undefined) return call.allowed;
    const team = this.team(call);
    return team !== null && this.myTeams.has(team);
  }

  async run(call, action) {
    this.asking = null;
    const path = JOIN.includes(action) ? "supervise" : action;
    const body = JOIN.includes(action) ? { mode: action } : undefined;
    const done = await attempt(() => api("POST", `/calls/${encodeURIComponent(call.call_id)}/${path}`, body));
    if (done) {
      toast(t(`sup.done_${action}`, { agent: call.agent }), "ok");
      if (done.state === "ended") this.calls.delete(call.call_id);
    }
    this.render();
  }

  actions(call) {
    if (!this.mayAct(call)) return h("span", { class: "muted small" }, t("sup.not_yours"));
    const who = { agent: call.agent, caller: call.caller };
    if (this.asking && this.asking.call_id === call.call_id) {
      const action = this.asking.action;
      return h("span", { role: "group", "aria-label": t(`sup.confirm_${action}`, who) },
        h("span", { class: "small" }, t(`sup.confirm_${action}`, who), " "),
        h("button", { type: "button", class: "danger", "data-action": "confirm", onclick: () => this.run(call, action) }, t("sup.confirm")),
        " ",
        h("button", { type: "button", class: "secondary", "data-action": "cancel", onclick: () => { this.asking = null; this.render(); } }, t("sup.cancel")));
    }
    const button = (action) => h("button", {
      type: "button", class: CONFIRM.has(action) ? "danger" : "secondary", "data-action": action,
      "aria-label": t(`sup.${action}_label`, who),
      onclick: () => {
        if (!CONFIRM.has(action)) { this.run(call, action); return; }
        this.asking = { call_id: call.call_id, action };
        this.render();
        const cancel = this.node.querySelector(`tr[data-call="${CSS.escape(call.call_id)}"] [data-action=cancel]`);
        if (cancel) cancel.focus();
      },
    }, t(`sup.${action}`));
    return h("span", { role: "group", "aria-label": t("sup.actions_for", who) },
      [...JOIN, "hangup", "intercept"].map((a) => [button(a), " "]));
  }

  render() {
    const rows = [...this.calls.values()]
      .filter((call) => (this.team(call) === null ? call.allowed === true || this.visible(null) : this.visible(this.team(call))))
      .sort((a, b) => String(a.since || "").localeCompare(String(b.since || "")))
      .map((call) => h("tr", { dataset: { call: call.call_id, agent: call.agent } },
        h("td", {}, call.caller),
        h("td", {}, call.agent),
        h("td", {}, call.queue || "–"),
        h("td", { class: "timer", dataset: { since: call.since || "" } }, call.since ? fmtDuration(since(call.since)) : ""),
        h("td", {}, call.supervisors.join(", ")),
        h("td", {}, this.actions(call))));
    const head = [t("sup.caller"), t("wb.agent"), t("sup.queue"), t("sup.talk_time"), t("sup.supervisors"), t("sup.actions")];
    clear(this.node, h("table", {},
      h("caption", { class: "sr-only" }, t("sup.calls")),
      h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: head.length, class: "empty" }, t("sup.no_calls"))))));
  }
}
