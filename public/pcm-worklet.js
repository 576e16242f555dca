/**
 * AudioWorklet processor: microphone audio (float, at the AudioContext's rate)
 * → 16 kHz signed 16-bit little-endian mono PCM, posted to the page in frames
 * of `frameSamples` (100 ms by default) as transferable ArrayBuffers.
 *
 * When the context already runs at 16 kHz (the page asks for that first) the
 * samples are only converted. Otherwise they are resampled here with a
 * windowed-sinc low-pass interpolator: cutoff at 45 % of the lower of the two
 * rates (7.2 kHz for 16 kHz out), Blackman window, 8 zero crossings on each
 * side, evaluated from a precomputed table. Good enough for speech; no
 * dependencies, no build step.
 *
 * Messages from the page: "flush" → post what is buffered (a short last
 * frame) and then {type: "flushed"}.
 * Messages to the page: {type: "frame", pcm: ArrayBuffer, level: 0..1 (RMS)},
 * {type: "flushed"}.
 */

const TABLE_STEPS = 128; // kernel samples per input sample
const ZERO_CROSSINGS = 8;

class Resampler {
  /** @param {number} inRate @param {number} outRate */
  constructor(inRate, outRate) {
    this.step = inRate / outRate; // input samples per output sample
    const scale = Math.min(1, outRate / inRate); // < 1 when decimating
    // Low-pass at 45 % of the lower rate; `bw` is twice the cutoff in cycles per input sample.
    this.bw = 0.9 * scale;
    this.half = Math.ceil(ZERO_CROSSINGS / scale); // half-width in input samples
    const n = this.half * TABLE_STEPS + 2;
    this.table = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / TABLE_STEPS; // distance in input samples
      const x = Math.PI * this.bw * t;
      const sinc = t === 0 ? 1 : Math.sin(x) / x;
      const w = t >= this.half ? 0 : 0.42 + 0.5 * Math.cos((Math.PI * t) / this.half) + 0.08 * Math.cos((2 * Math.PI * t) / this.half);
      this.table[i] = sinc * w;
    }
    this.buf = new Float32Array(8192);
    this.len = 0; // valid samples in buf
    this.pos = 0; // position of the next output sample, in buf coordinates
    // Start with `half` zeros of history so the first output is centred on sample 0.
    this.len = this.half;
    this.pos = this.half;
  }

  /** @param {Float32Array} input @param {(s: number) => void} emit */
  push(input, emit) {
    if (this.len + input.length > this.buf.length) {
      const grown = new Float32Array(Math.max(this.buf.length * 2, this.len + input.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(input, this.len);
    this.len += input.length;
    const { buf, table, half } = this;
    while (Math.floor(this.pos) + half < this.len) {
      const centre = Math.floor(this.pos);
      let acc = 0;
      let norm = 0;
      for (let k = centre - half + 1; k <= centre + half; k++) {
        const d = Math.abs(k - this.pos) * TABLE_STEPS;
        const i = Math.floor(d);
        const w = table[i] + (table[i + 1] - table[i]) * (d - i);
        acc += buf[k] * w;
        norm += w;
      }
      emit(norm > 0 ? acc / norm : 0);
      this.pos += this.step;
    }
    // Drop input that no future output can reach.
    const keepFrom = Math.floor(this.pos) - half;
    if (keepFrom > 4096) {
      buf.copyWithin(0, keepFrom, this.len);
      this.len -= keepFrom;
      this.pos -= keepFrom;
    }
  }
}

class PcmProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = (options && options.processorOptions) || {};
    this.outRate = o.targetRate || 16000;
    this.frameSamples = o.frameSamples || Math.round(this.outRate / 10);
    this.frame = new Int16Array(this.frameSamples);
    this.fill = 0;
    this.energy = 0;
    // `sampleRate` is the AudioWorkletGlobalScope's: the context's rate.
    this.resampler = sampleRate === this.outRate ? null : new Resampler(sampleRate, this.outRate);
    this.mono = new Float32Array(128);
    this.emit = (s) => {
      const clamped = s > 1 ? 1 : s < -1 ? -1 : s;
      this.energy += clamped * clamped;
      this.frame[this.fill++] = clamped < 0 ? Math.round(clamped * 32768) : Math.round(clamped * 32767);
      if (this.fill === this.frameSamples) this.post();
    };
    this.port.onmessage = (event) => {
      if (event.data === "flush") {
        if (this.fill > 0) this.post();
        this.port.postMessage({ type: "flushed" });
      }
    };
  }

  post() {
    const samples = this.frame.slice(0, this.fill);
    const level = Math.sqrt(this.energy / Math.max(1, this.fill));
    this.port.postMessage({ type: "frame", pcm: samples.buffer, level }, [samples.buffer]);
    this.fill = 0;
    this.energy = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || !input[0]) return true;
    let mono = input[0];
    if (input.length > 1) {
      if (this.mono.length !== mono.length) this.mono = new Float32Array(mono.length);
      for (let i = 0; i < mono.length; i++) {
        let sum = 0;
        for (let c = 0; c < input.length; c++) sum += input[c][i];
        this.mono[i] = sum / input.length;
      }
      mono = this.mono;
    }
    if (this.resampler) this.resampler.push(mono, this.emit);
    else for (let i = 0; i < mono.length; i++) this.emit(mono[i]);
    return true;
  }
}

registerProcessor("pcm-16k", PcmProcessor);
