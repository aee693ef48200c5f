// AudioWorklet: the microphone as 16-bit PCM frames of `frameSamples` samples at the context's
// rate (the page opens its AudioContext at 16 kHz, so the browser resamples the microphone).
// "flush" sends the frame being filled at once, then "flushed": pressing Done must not leave the
// answer's last words (up to a frame of them) in the worklet.
class PcmFrames extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.frameSamples;
    this.frame = new Int16Array(this.size);
    this.filled = 0;
    this.port.onmessage = (e) => {
      if (e.data !== "flush") return;
      if (this.filled > 0) {
        const part = this.frame.slice(0, this.filled);
        this.port.postMessage(part.buffer, [part.buffer]);
        this.filled = 0;
      }
      this.port.postMessage("flushed");
    };
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.frame[this.filled++] = s < 0 ? s * 32768 : s * 32767;
      if (this.filled === this.size) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(this.size);
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor("pcm-frames", PcmFrames);
