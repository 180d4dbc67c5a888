// The prompts section's browser recorder: the microphone is captured as PCM with the Web
// Audio API (not MediaRecorder, whose webm/opus the server's converter may not read),
// encoded here as a 16-bit mono WAV at the audio context's rate, listened to, then saved
// through the prompt upload endpoint (which converts it once to 8 kHz mono).
import { api, attempt, clear, field, h, t } from "./common.js";

/** Recordings stop by themselves after this long. */
export const MAX_SECONDS = 300;
const MAX_SAMPLES = 24 * 1024 * 1024;  // 48 MiB of 16-bit PCM: under the upload limit at any rate
const WORKLET = new URL("./prompt_capture.worklet.js", import.meta.url);

/** A 16-bit little-endian mono PCM WAV of Float32 ``chunks`` sampled at ``rate``. */
export function encodeWav(chunks, rate) {
  const samples = chunks.reduce((n, c) => n + c.length, 0);
  const view = new DataView(new ArrayBuffer(44 + samples * 2));
  const text = (at, s) => { for (let i = 0; i < s.length; i += 1) view.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + samples * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, samples * 2, true);
  let at = 44;
  for (const chunk of chunks) {
    for (const x of chunk) {
      const s = Math.max(-1, Math.min(1, x));
      view.setInt16(at, s < 0 ? s * 0x8000 : s * 0x7fff, true);
      at += 2;
    }
  }
  return new Blob([view.buffer], { type: "audio/wav" });
}

const clock = (seconds) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;

/** The "Record a prompt" card; ``langSelect(id)`` makes the language picker and
 * ``onSaved()`` runs after a recording was saved as a prompt. */
export function recorderCard(langSelect, onSaved) {
  const status = h("p", { id: "rec-status", "aria-live": "polite" }, t("recorder.limit", { minutes: MAX_SECONDS / 60 }));
  const meter = h("meter", { id: "rec-level", min: 0, max: 1, low: 0.6, high: 0.9, value: 0, "aria-label": t("recorder.level") });
  const elapsed = h("span", { id: "rec-elapsed", role: "timer", "aria-label": t("recorder.elapsed") }, clock(0));
  const start = h("button", { type: "button", id: "rec-start" }, t("recorder.start"));
  const stop = h("button", { type: "button", id: "rec-stop", hidden: true }, t("recorder.stop"));
  const playback = h("audio", { id: "rec-playback", controls: true, hidden: true, "aria-label": t("recorder.playback") });
  const discard = h("button", { type: "button", id: "rec-discard", class: "secondary", hidden: true }, t("recorder.discard"));
  const name = h("input", { required: true, placeholder: "greeting" });
  const save = h("form", { id: "rec-save", hidden: true },
    h("div", { class: "row" }, field("rec-name", t("recorder.name"), name), field("rec-lang", t("lang.label"), langSelect("rec-lang"))),
    h("button", { type: "submit" }, t("recorder.save")));
  const card = h("section", { class: "card", id: "recorder", "aria-labelledby": "rec-h" },
    h("h3", { id: "rec-h" }, t("recorder.title")), status,
    h("div", { class: "row" }, meter, elapsed),
    h("div", { class: "buttons" }, start, stop, discard), playback, save);

  let capture = null;  // {stream, context, nodes, chunks, samples} while recording
  let recording = null;  // the WAV Blob once stopped

  const show = (state) => {
    start.hidden = state !== "idle";
    stop.hidden = state !== "recording";
    for (const node of [discard, playback, save]) node.hidden = state !== "recorded";
  };

  async function begin() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.AudioContext) {
      clear(status, t("recorder.unsupported"));
      return;
    }
    let stream;
    try {
      // Raw input: echo cancellation and noise suppression would alter a recorded prompt.
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    } catch (error) {
      clear(status, t("recorder.denied", { reason: error.message || error.name }));
      return;
    }
    const context = new AudioContext();
    if (context.state === "suspended") await context.resume();
    await context.audioWorklet.addModule(WORKLET);
    const source = context.createMediaStreamSource(stream);
    const processor = new AudioWorkletNode(context, "prompt-capture", { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1 });
    const mute = context.createGain();
    mute.gain.value = 0;  // keeps the capture in the rendered graph, silently
    const limit = Math.min(MAX_SECONDS * context.sampleRate, MAX_SAMPLES);
    capture = { stream, context, nodes: [source, processor, mute], chunks: [], samples: 0 };
    processor.port.onmessage = (event) => {
      if (!capture) return;
      if (!card.isConnected) { release(); return; }  // the section was left: free the microphone
      const input = event.data;
      const take = Math.min(input.length, limit - capture.samples);
      capture.chunks.push(input.slice(0, take));
      capture.samples += take;
      let peak = 0;
      for (const x of input) peak = Math.max(peak, Math.abs(x));
      meter.value = peak;
      elapsed.textContent = clock(capture.samples / context.sampleRate);
      if (capture.samples >= limit) finish();
    };
    source.connect(processor);
    processor.connect(mute);
    mute.connect(context.destination);
    clear(status, t("recorder.recording"));
    show("recording");
    stop.focus();
  }

  function release() {
    if (!capture) return null;
    const done = capture;
    capture = null;
    done.nodes.forEach((node) => node.disconnect());
    done.stream.getTracks().forEach((track) => track.stop());
    done.context.close();
    meter.value = 0;
    return done;
  }

  function finish() {
    const done = release();
    if (!done) return;
    const seconds = done.samples / done.context.sampleRate;
    recording = encodeWav(done.chunks, done.context.sampleRate);
    playback.src = URL.createObjectURL(recording);
    clear(status, t("recorder.recorded", { seconds: seconds.toFixed(1) }));
    show("recorded");
    name.focus();
  }

  function reset() {
    release();
    if (playback.src) URL.revokeObjectURL(playback.src);
    playback.removeAttribute("src");
    recording = null;
    elapsed.textContent = clock(0);
    clear(status, t("recorder.limit", { minutes: MAX_SECONDS / 60 }));
    show("idle");
    start.focus();
  }

  start.addEventListener("click", begin);
  stop.addEventListener("click", finish);
  discard.addEventListener("click", reset);
  save.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!recording) return;
    const form = new FormData();
    form.append("name", name.value);
    form.append("language", save.querySelector("#rec-lang").value);
    form.append("file", new File([recording], `${name.value}.wav`, { type: "audio/wav" }));
    if (await attempt(() => api("POST", "/prompts", form), t("adm.saved"))) {
      name.value = "";
      reset();
      onSaved();
    }
  });
  return card;
}
