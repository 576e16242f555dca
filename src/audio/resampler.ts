/**
 * Streaming sample-rate conversion by a windowed-sinc polyphase filter.
 *
 * Written by hand because the npm resamplers either load WASM at runtime
 * (workerd forbids compiling WASM from bytes) or are unmaintained. It runs per
 * WebSocket frame inside a Durable Object, so the hot loop is one dot product
 * over typed arrays and nothing is allocated per sample.
 *
 * Output sample n is the input evaluated at instant n·inRate/outRate (in input
 * samples) through a zero-phase filter, so the output timeline lines up with
 * the input exactly: no group delay shifts transcript timestamps. The price is
 * a lookahead of half the filter span, held back until more input or flush().
 */
import { BLOCK, checkRates, filterBank, FINE_PHASES, gcd, type FilterBank, type ResamplerDesign } from "./filter-design";
import { OUTPUT_SAMPLE_RATE } from "./limits";
import { roundToS16 } from "./pcm";

export { MAX_RATE_RATIO, MAX_RESAMPLER_BYTES, resamplerBytes, type ResamplerDesign } from "./filter-design";

const S16_SCALE = 32768;

/**
 * Streaming resampler from `inRate` to `outRate` for mono audio, producing s16.
 *
 * Feeding a stream in frames of any size gives exactly the same samples as
 * feeding it in one call. Over a whole stream (all `process` calls plus
 * `flush`) it emits ceil(totalIn × outRate / inRate) samples, so the output
 * lasts as long as the input. With `inRate === outRate` it is an exact
 * passthrough (float input is only rounded to s16).
 */
export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** True when the rates are equal and samples are passed through unfiltered. */
  readonly passthrough: boolean;
  readonly #bank: FilterBank | undefined;
  readonly #taps: number;
  readonly #L: number;
  readonly #M: number;
  readonly #stepInt: number;
  readonly #stepFrac: number;
  /** Input history in s16 units: the current window plus whatever input has not been consumed yet. */
  readonly #buf: Float32Array;
  #len = 0;
  /** Index in #buf of the first tap of the next output's window. */
  #pos = 0;
  /** Fractional position of the next output instant, in 1/L input samples. */
  #phase = 0;

  /**
   * @param inRate input sample rate in Hz (positive integer)
   * @param outRate output sample rate in Hz (positive integer). @default 16000
   * @throws RangeError if a rate is not a positive integer, or one is more than MAX_RATE_RATIO times the other
   */
  constructor(inRate: number, outRate: number = OUTPUT_SAMPLE_RATE) {
    checkRates(inRate, outRate);
    this.inRate = inRate;
    this.outRate = outRate;
    this.passthrough = inRate === outRate;
    const g = gcd(inRate, outRate);
    this.#L = outRate / g;
    this.#M = inRate / g;
    this.#stepInt = Math.floor(this.#M / this.#L);
    this.#stepFrac = this.#M % this.#L;
    this.#bank = this.passthrough ? undefined : filterBank(inRate, outRate);
    this.#taps = this.#bank?.design.taps ?? 0;
    this.#buf = new Float32Array(this.passthrough ? 0 : this.#taps + BLOCK);
    this.reset();
  }

  /** The filter in use, or `undefined` for a passthrough. */
  get design(): ResamplerDesign | undefined {
    return this.#bank?.design;
  }

  /**
   * Consumes the next input samples and returns every output sample whose
   * filter window is now complete (a fresh array, possibly empty).
   *
   * @param input Int16Array in s16 units, or Float32Array with ±1.0 full scale
   *   (clipped to ±1.0; NaN counts as 0 so one bad sample cannot poison the stream).
   */
  process(input: Float32Array | Int16Array): Int16Array {
    if (this.passthrough) {
      return input instanceof Int16Array ? input.slice() : floatToS16(input);
    }
    const out = new Int16Array(this.#outputsAvailable(this.#len + input.length));
    let written = 0;
    for (let i = 0; i < input.length; ) {
      const n = Math.min(input.length - i, this.#buf.length - this.#len);
      this.#append(input, i, n);
      i += n;
      written = this.#run(out, written, this.#bank!.design.interpolatedPhases);
      this.#compact();
    }
    if (written !== out.length) throw new Error(`resampler bug: wrote ${written} of ${out.length} samples`);
    return out;
  }

  /**
   * Ends the stream: emits the held-back tail (the input is treated as followed
   * by silence) and resets, ready for a new stream.
   */
  flush(): Int16Array {
    if (this.passthrough) return new Int16Array(0);
    // Output n needs input up to n·M/L + taps/2; the last output instant lies before the end of the input.
    const tail = this.process(new Int16Array(this.#taps / 2));
    this.reset();
    return tail;
  }

  /** Forgets all history, as if newly constructed. */
  reset(): void {
    // The window of the first output is centred on input sample 0, so half of it
    // (taps/2 − 1 samples) lies before the stream: pre-fill that with silence.
    const lead = Math.max(0, this.#taps / 2 - 1);
    this.#buf.fill(0, 0, lead);
    this.#len = lead;
    this.#pos = 0;
    this.#phase = 0;
  }

  /** How many outputs can be computed once #buf holds `len` samples (counted from the current #pos). */
  #outputsAvailable(len: number): number {
    const room = len - this.#taps - this.#pos;
    if (room < 0) return 0;
    // Output k (from now) sits at #pos + floor((#phase + k·M) / L); count the k with that ≤ room.
    return Math.floor(((room + 1) * this.#L - this.#phase + this.#M - 1) / this.#M);
  }

  #append(input: Float32Array | Int16Array, start: number, n: number): void {
    const buf = this.#buf;
    const at = this.#len;
    if (input instanceof Int16Array) {
      buf.set(input.subarray(start, start + n), at);
    } else {
      for (let k = 0; k < n; k++) {
        const x = input[start + k]!;
        // Written so NaN fails every comparison and lands on 0.
        buf[at + k] = x >= -1 ? (x <= 1 ? x * S16_SCALE : S16_SCALE) : x < -1 ? -S16_SCALE : 0;
      }
    }
    this.#len = at + n;
  }

  /**
   * Every output the buffered input allows. Two inner products: one filter
   * row per phase, or (banks with interpolated phases) the two fine rows
   * around the exact instant, blended. The branch is the same for a whole
   * call, so it costs nothing per sample.
   */
  #run(out: Int16Array, written: number, interpolated: boolean): number {
    const buf = this.#buf;
    const bank = this.#bank!.coefficients;
    const taps = this.#taps;
    const L = this.#L;
    const stepInt = this.#stepInt;
    const stepFrac = this.#stepFrac;
    const last = this.#len - taps;
    let pos = this.#pos;
    let phase = this.#phase;
    let o = written;
    while (pos <= last) {
      let acc0 = 0;
      let acc1 = 0;
      if (interpolated) {
        // The exact instant phase/L falls between fine rows r/F and (r+1)/F.
        const fine = phase * FINE_PHASES;
        const r = Math.floor(fine / L);
        const frac = (fine - r * L) / L;
        const row0 = r * taps;
        const row1 = row0 + taps;
        for (let j = 0; j < taps; j++) {
          const x = buf[pos + j]!;
          acc0 += bank[row0 + j]! * x;
          acc1 += bank[row1 + j]! * x;
        }
        out[o++] = roundToS16(acc0 + frac * (acc1 - acc0));
      } else {
        const row = phase * taps;
        // Two accumulators break the add dependency chain; taps is even.
        for (let j = 0; j < taps; j += 2) {
          acc0 += bank[row + j]! * buf[pos + j]!;
          acc1 += bank[row + j + 1]! * buf[pos + j + 1]!;
        }
        out[o++] = roundToS16(acc0 + acc1);
      }
      pos += stepInt;
      phase += stepFrac;
      if (phase >= L) {
        phase -= L;
        pos++;
      }
    }
    this.#pos = pos;
    this.#phase = phase;
    return o;
  }

  /** Drops consumed input so the buffer never grows beyond taps + BLOCK. */
  #compact(): void {
    const drop = Math.min(this.#pos, this.#len);
    if (drop === 0) return;
    this.#buf.copyWithin(0, drop, this.#len);
    this.#len -= drop;
    this.#pos -= drop;
  }
}

function floatToS16(input: Float32Array): Int16Array {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = roundToS16(input[i]! * S16_SCALE);
  return out;
}
