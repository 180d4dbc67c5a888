// Audio worklet of the prompt recorder: hands the microphone's samples to the page in
// chunks of CHUNK frames (first channel), on the audio thread, without altering them.
const CHUNK = 4096;

class PromptCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buffer = new Float32Array(CHUNK);
    this.filled = 0;
    this.port.onmessage = (event) => {
      if (event.data === "flush" && this.filled) {
        this.port.postMessage(this.buffer.slice(0, this.filled));
        this.filled = 0;
      }
    };
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (input) {
      let offset = 0;
      while (offset < input.length) {
        const take = Math.min(input.length - offset, CHUNK - this.filled);
        this.buffer.set(input.subarray(offset, offset + take), this.filled);
        this.filled += take;
        offset += take;
        if (this.filled === CHUNK) {
          this.port.postMessage(this.buffer.slice());
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("prompt-capture", PromptCapture);
