// The desktop's phone card: answer calls on the linked SIP phone or in the browser.
//
// The choice is remembered in this browser. The browser phone asks the server for a
// short-lived SIP secret of the agent's own SIP account (POST /agents/me/browser-phone),
// registers with it over WSS through softphone.js, and asks for a new secret halfway
// through its life (JsSIP uses it from the next REGISTER on). It rings on an incoming
// call; the desktop's Answer, hang-up, mute and DTMF act on the browser's call, while
// hold, transfer and conference stay CTI commands on the server's legs.
import { api, attempt, label, problem, t } from "./common.js";
import { Softphone } from "./softphone.js";

const MODE_KEY = "helpline.phone_mode";
const $ = (id) => document.getElementById(id);

function storedMode() {
  try { return localStorage.getItem(MODE_KEY) === "browser" ? "browser" : "linked"; } catch { return "linked"; }
}

function storeMode(mode) {
  try { localStorage.setItem(MODE_KEY, mode); } catch { /* private mode: not remembered */ }
}

export class DesktopPhone {
  /**
   * @param {object} hooks
   * @param {(detail: {from: string, displayName: string}) => void} hooks.onRing  an
   *   incoming call rings in the browser
   * @param {() => void} hooks.onChange  the browser call's state changed
   */
  constructor({ onRing, onChange }) {
    this.onRing = onRing;
    this.onChange = onChange;
    this.mode = storedMode();
    this.phone = null;
    this.renewTimer = null;
  }

  /** Wire the card and start the remembered mode. */
  start() {
    for (const radio of document.querySelectorAll("input[name=phone-mode]")) {
      radio.checked = radio.value === this.mode;
      radio.addEventListener("change", () => { if (radio.checked) this.use(radio.value); });
    }
    $("bp-mute").addEventListener("click", () => { if (this.phone) this.phone.setMuted(!this.phone.muted); });
    for (const key of document.querySelectorAll("#bp-keypad [data-key]")) {
      key.addEventListener("click", () => this.dtmf(key.dataset.key));
    }
    addEventListener("pagehide", () => this.stopBrowser());
    this.use(this.mode);
  }

  /** Switch to "linked" or "browser". */
  use(mode) {
    this.mode = mode;
    storeMode(mode);
    $("linked-panel").hidden = mode !== "linked";
    $("browser-panel").hidden = mode !== "browser";
    if (mode === "browser") this.startBrowser();
    else this.stopBrowser();
    this.onChange();
  }

  /** True while the browser phone has a call (ringing, dialling or connected). */
  get inCall() {
    return Boolean(this.phone && this.phone.session);
  }

  /** True while a call rings in the browser. */
  get ringing() {
    return Boolean(this.phone && this.phone.state === "incoming");
  }

  answer() { if (this.ringing) this.phone.answer(); }

  hangup() { if (this.phone) this.phone.hangup(); }

  dtmf(keys) { if (this.inCall && keys) this.phone.sendDTMF(keys); }

  async startBrowser() {
    if (this.phone) return;
    if (!navigator.mediaDevices || !window.RTCPeerConnection) { this.note(t("phone.no_browser")); return; }
    const issued = await this.credential();
    if (!issued || this.mode !== "browser" || this.phone) return;
    const phone = new Softphone({
      server: issued.ws_url,
      uri: issued.uri,
      password: issued.password,
      displayName: issued.display_name,
      audio: $("bp-audio"),
      iceServers: issued.ice_servers,
    });
    this.phone = phone;
    $("bp-account").textContent = t("phone.account", { uri: issued.uri });
    phone.addEventListener("state", () => this.render());
    phone.addEventListener("muted", () => this.render());
    phone.addEventListener("incoming", (e) => this.onRing(e.detail));
    phone.addEventListener("registrationfailed", (e) => this.note(t("phone.failed", { cause: e.detail.cause || "?" })));
    phone.addEventListener("registered", () => this.note(""));
    phone.start();
    this.renewIn(issued.expires_in);
  }

  stopBrowser() {
    clearTimeout(this.renewTimer);
    if (this.phone) this.phone.stop();
    this.phone = null;
    this.render();
  }

  async credential() {
    try {
      return await api("POST", "/agents/me/browser-phone");
    } catch (error) {
      this.note(problem(error));
      return null;
    }
  }

  renewIn(seconds) {
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => this.renew(), Math.max(30, seconds / 2) * 1000);
  }

  async renew() {
    const issued = await attempt(() => api("POST", "/agents/me/browser-phone"));
    if (!this.phone) return;
    if (!issued) { this.renewIn(60); return; }
    this.phone.setPassword(issued.password, { register: this.phone.state === "failed" });
    this.renewIn(issued.expires_in);
  }

  note(text) { $("bp-note").textContent = text; }

  render() {
    const state = this.phone ? this.phone.state : "idle";
    const badge = $("bp-state");
    badge.dataset.state = state;
    badge.textContent = label("phone.state", state);
    badge.className = `badge ${["failed", "idle", "incoming", "unregistered"].includes(state) ? "warn" : "ok"}`;
    const live = state === "connected";
    $("bp-mute").disabled = !live;
    $("bp-mute").textContent = this.phone && this.phone.muted ? t("phone.unmute") : t("phone.mute");
    for (const key of document.querySelectorAll("#bp-keypad [data-key]")) key.disabled = !live;
    this.onChange();
  }
}
