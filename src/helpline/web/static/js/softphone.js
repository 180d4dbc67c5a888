// Helpline's browser softphone: a small wrapper around the vendored JsSIP.
//
// It registers a SIP account over SIP-over-WebSocket (RFC 7118, Helpline's WS/WSS port),
// places and answers one call at a time, hangs up, sends DTMF (SIP INFO, which Helpline
// relays as RFC 4733) and mutes the microphone. Helpline's WebRTC gateway turns the
// call's ICE + DTLS-SRTP audio into plain RTP on the server, so the browser needs no
// STUN server on the same network.
//
//   import { Softphone } from "/static/js/softphone.js";
//   const phone = new Softphone({
//     server: "wss://helpline.example.com:5066",
//     uri: "sip:2001@demo", password: "...", audio: document.querySelector("audio"),
//   });
//   phone.addEventListener("incoming", (e) => phone.answer());
//   phone.start();
//
// Events (CustomEvent, details in `event.detail`): "registered", "unregistered",
// "registrationfailed" {cause}, "incoming" {from, displayName}, "progress",
// "connected", "ended" {cause}, "failed" {cause}, "muted" {muted}, "state" {state}.
// `phone.state` is one of "idle", "registering", "registered", "unregistered",
// "incoming", "calling", "connected", "failed".

import JsSIP from "../vendor/jssip/jssip.min.js";

const DTMF_KEYS = /^[0-9A-D#*]+$/i;

export class Softphone extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.server  WebSocket URL of Helpline's SIP port (ws:// or wss://)
   * @param {string} options.uri  the SIP account, e.g. "sip:2001@demo"
   * @param {string} options.password  its SIP password
   * @param {string} [options.displayName]
   * @param {HTMLAudioElement} [options.audio]  where the other side is played
   * @param {RTCIceServer[]} [options.iceServers]  none by default
   * @param {boolean|MediaTrackConstraints} [options.microphone]  getUserMedia audio
   *   constraints (echo cancellation, noise suppression ...); true: the browser's
   */
  constructor({
    server,
    uri,
    password,
    displayName = "",
    audio = null,
    iceServers = [],
    microphone = true,
  }) {
    super();
    this.options = { server, uri, password, displayName, audio, iceServers, microphone };
    this.ua = null;
    this.session = null;
    this.remoteStream = null;
    this.state = "idle";
  }

  /** Connect and register. */
  start() {
    if (this.ua) return;
    const { server, uri, password, displayName } = this.options;
    const socket = new JsSIP.WebSocketInterface(server);
    this.ua = new JsSIP.UA({
      sockets: [socket],
      uri,
      password,
      display_name: displayName || undefined,
      register: true,
      session_timers: false,
      user_agent: "Helpline softphone (JsSIP)",
    });
    this.ua.on("registered", () => this._set("registered", "registered"));
    this.ua.on("unregistered", () => this._set("unregistered", "unregistered"));
    this.ua.on("registrationFailed", (e) =>
      this._set("failed", "registrationfailed", { cause: e.cause }),
    );
    this.ua.on("newRTCSession", (e) => this._session(e));
    this._set("registering");
    this.ua.start();
  }

  /** Use a new password from the next REGISTER on (``register``: register now). */
  setPassword(password, { register = false } = {}) {
    this.options.password = password;
    if (!this.ua) return;
    this.ua.set("password", password);
    if (register) this.ua.register();
  }

  /** Hang up, unregister and disconnect. */
  stop() {
    this.hangup();
    if (this.ua) {
      this.ua.stop();
      this.ua = null;
    }
    this._set("idle");
  }

  /** Call `target`: an extension or service ("echo", "*43", "2002") or a SIP URI. */
  call(target) {
    if (!this.ua || this.session) throw new Error("not registered, or already in a call");
    this.ua.call(String(target), {
      mediaConstraints: { audio: this.options.microphone, video: false },
      pcConfig: { iceServers: this.options.iceServers },
      rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
    });
  }

  /** Answer the ringing incoming call. */
  answer() {
    if (!this.session || this.session.direction !== "incoming") return;
    this.session.answer({
      mediaConstraints: { audio: this.options.microphone, video: false },
      pcConfig: { iceServers: this.options.iceServers },
    });
  }

  /** End the call (cancel, reject or bye, whatever fits its state). */
  hangup() {
    if (this.session && !this.session.isEnded()) this.session.terminate();
  }

  /** Send DTMF keys (0-9, *, #, A-D) as SIP INFO. */
  sendDTMF(keys) {
    if (!this.session || !DTMF_KEYS.test(keys)) return;
    this.session.sendDTMF(keys, { transportType: "INFO", duration: 100, interToneGap: 70 });
  }

  /** Mute or unmute the microphone (no re-INVITE: the track is just disabled). */
  setMuted(muted) {
    if (!this.session) return;
    if (muted) this.session.mute({ audio: true });
    else this.session.unmute({ audio: true });
  }

  get muted() {
    return Boolean(this.session && this.session.isMuted().audio);
  }

  _session({ session, originator, request }) {
    if (this.session) {
      session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      return;
    }
    this.session = session;
    // An outgoing session made its peer connection before this event; an incoming one
    // makes it when answered.
    if (session.connection) this._media(session.connection);
    else session.on("peerconnection", ({ peerconnection }) => this._media(peerconnection));
    session.on("progress", () => this._emit("progress"));
    session.on("accepted", () => this._set("connected", "connected"));
    session.on("ended", (e) => this._over("ended", e.cause));
    session.on("failed", (e) => this._over("failed", e.cause));
    session.on("muted", () => this._emit("muted", { muted: true }));
    session.on("unmuted", () => this._emit("muted", { muted: false }));
    if (originator === "remote") {
      const from = request.from;
      this._set("incoming", "incoming", {
        from: from.uri.user,
        displayName: from.display_name || "",
      });
    } else {
      this._set("calling");
    }
  }

  _media(peerconnection) {
    peerconnection.addEventListener("track", (e) => {
      this.remoteStream = e.streams[0] || new MediaStream([e.track]);
      const audio = this.options.audio;
      if (audio) {
        audio.srcObject = this.remoteStream;
        audio.play().catch(() => {});
      }
    });
  }

  _over(name, cause) {
    this.session = null;
    this.remoteStream = null;
    if (this.options.audio) this.options.audio.srcObject = null;
    this._set(this.ua && this.ua.isRegistered() ? "registered" : "idle", name, { cause });
  }

  _set(state, event = null, detail = {}) {
    this.state = state;
    this._emit("state", { state });
    if (event) this._emit(event, detail);
  }

  _emit(name, detail = {}) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
