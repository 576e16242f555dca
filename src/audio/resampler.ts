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
import { MAX_UPLOAD_SAMPLE_RATE, MIN_INPUT_SAMPLE_RATE, OUTPUT_SAMPLE_RATE } from "./limits";
import { roundToS16 } from "./pcm";

/** Filter parameters a {@link Resampler} chose; read-only information. */
export interface ResamplerDesign {
  inRate: number;
  outRate: number;
  /** outRate / gcd: output samples per period of the rate ratio (the number of distinct filter phases). */
  interpolation: number;
  /** inRate / gcd: input samples per period of the rate ratio. */
  decimation: number;
  /** Filter taps applied per output sample (input samples in the filter span). */
  taps: number;
  /** Rows of coefficients stored: `interpolation`, or a finer table when that would be too large. */
  storedPhases: number;
  /** True when phases are linearly interpolated from a fine table instead of stored exactly. */
  interpolatedPhases: boolean;
  /** Kaiser window β. */
  beta: number;
  /** Design stopband attenuation (dB) the tap count was chosen for. */
  attenuationDb: number;
  /** Edge of the flat band (≤ 0.001 dB ripple by design). */
  passbandHz: number;
  /** −6 dB point of the filter. */
  cutoffHz: number;
  /** Start of the stopband: everything at or above it is attenuated by `attenuationDb`. */
  stopbandHz: number;
  /** Bytes this resampler holds: its coefficient table plus its input buffer (see {@link resamplerBytes}). */
  memoryBytes: number;
}

/*
 * Band edges as fractions of the lower rate's Nyquist. For 16 kHz output the
 * flat band reaches 7 kHz (all of speech that matters to recognition) and the
 * stopband starts at 8 kHz, so nothing aliases into the output at all; a
 * transition band straddling Nyquist would halve the taps but fold 8-9 kHz
 * fricative energy back down to 7-8 kHz.
 */
const PASSBAND_FRACTION = 0.875;
const STOPBAND_FRACTION = 1.0;
/*
 * 85 dB puts the aliases and images of speech-level input (−20 dBFS and
 * below) under the 16-bit output's own rounding noise, with margin over the
 * 70 dB the project asks for. Kaiser's formula gives β ≈ 8.41.
 */
const ATTENUATION_DB = 85;
const BETA = 0.1102 * (ATTENUATION_DB - 8.7);

/*
 * Exact phase rows are precomputed when they fit this many coefficients
 * (256 KiB of Float32). 44.1 kHz → 16 kHz needs 160 × 238; 11.025 kHz needs
 * 640 × 86. Awkward rates (say 44 101 Hz: 16 000 phases) use a table of
 * FINE_PHASES rows instead, interpolated linearly. At 512 rows a coefficient
 * is off by at most about −98 dB of the peak coefficient, and the error's
 * worst-case gain (sum of |error| over a row) stays under −90 dB: below the
 * stopband, so the interpolated path is as clean as the exact one.
 */
const MAX_STORED_COEFFICIENTS = 1 << 16;
const FINE_PHASES = 512;

/** Input samples copied in per pass, so a multi-second call needs no large buffer. */
const BLOCK = 4096;

/*
 * Downsampling by a ratio r needs a filter r times as long (its transition band
 * is fixed in output hertz), and an interpolated table keeps FINE_PHASES + 1 rows
 * of it: memory and time per sample grow with the ratio. A header claiming
 * 100 MHz once made a 1.3 GB table. Refusing ratios beyond what the service
 * accepts (96 kHz uploads → 16 kHz; 8 kHz → 16 kHz the other way) bounds both
 * for every resampler that can exist, whatever the absolute rates.
 */
/** Largest ratio between the two rates, either way round. */
export const MAX_RATE_RATIO = Math.max(MAX_UPLOAD_SAMPLE_RATE / OUTPUT_SAMPLE_RATE, OUTPUT_SAMPLE_RATE / MIN_INPUT_SAMPLE_RATE);
/**
 * Most bytes one resampler holds at MAX_RATE_RATIO: 513 rows × 516 taps of
 * Float32 (1.01 MiB) plus its input buffer. The bank cache below keeps at most
 * BANK_CACHE_SIZE tables per isolate. A unit test checks every accepted ratio.
 */
export const MAX_RESAMPLER_BYTES = 1.1 * 1024 * 1024;

const S16_SCALE = 32768;

interface FilterBank {
  readonly design: ResamplerDesign;
  /** `storedPhases` rows of `taps` coefficients, each row summing to 1. */
  readonly coefficients: Float32Array;
}

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
      written = this.#bank!.design.interpolatedPhases ? this.#runInterpolated(out, written) : this.#run(out, written);
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

  #run(out: Int16Array, written: number): number {
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
      const row = phase * taps;
      let acc0 = 0;
      let acc1 = 0;
      // Two accumulators break the add dependency chain; taps is even.
      for (let j = 0; j < taps; j += 2) {
        acc0 += bank[row + j]! * buf[pos + j]!;
        acc1 += bank[row + j + 1]! * buf[pos + j + 1]!;
      }
      out[o++] = roundToS16(acc0 + acc1);
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

  #runInterpolated(out: Int16Array, written: number): number {
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
      // The exact instant phase/L falls between fine rows r/F and (r+1)/F.
      const fine = phase * FINE_PHASES;
      const r = Math.floor(fine / L);
      const frac = (fine - r * L) / L;
      const row0 = r * taps;
      const row1 = row0 + taps;
      let acc0 = 0;
      let acc1 = 0;
      for (let j = 0; j < taps; j++) {
        const x = buf[pos + j]!;
        acc0 += bank[row0 + j]! * x;
        acc1 += bank[row1 + j]! * x;
      }
      out[o++] = roundToS16(acc0 + frac * (acc1 - acc0));
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

/* ------------------------------------------------------------------ */
/* Filter design                                                       */
/* ------------------------------------------------------------------ */

/*
 * Sessions in one isolate usually share a handful of rates; designing a bank
 * costs a few milliseconds, so keep the recent ones. Bounded, because a client
 * chooses the rate and could otherwise make the isolate keep thousands.
 */
const BANK_CACHE_SIZE = 8;
const bankCache = new Map<string, FilterBank>();

function filterBank(inRate: number, outRate: number): FilterBank {
  const key = `${inRate}/${outRate}`;
  let bank = bankCache.get(key);
  if (bank !== undefined) {
    bankCache.delete(key); // re-insert as most recently used
  } else {
    bank = designBank(inRate, outRate);
    if (bankCache.size >= BANK_CACHE_SIZE) bankCache.delete(bankCache.keys().next().value!);
  }
  bankCache.set(key, bank);
  return bank;
}

/** The size of a filter, decided before any coefficient is computed or allocated. */
type FilterShape = Omit<ResamplerDesign, "beta" | "attenuationDb"> & { half: number };

function filterShape(inRate: number, outRate: number): FilterShape {
  const g = gcd(inRate, outRate);
  const L = outRate / g;
  const M = inRate / g;
  const nyquist = Math.min(inRate, outRate) / 2;
  const passbandHz = PASSBAND_FRACTION * nyquist;
  const stopbandHz = STOPBAND_FRACTION * nyquist;
  const cutoffHz = (passbandHz + stopbandHz) / 2;

  // Kaiser's length estimate, expressed in input samples (the polyphase filter's span).
  const transition = (2 * Math.PI * (stopbandHz - passbandHz)) / inRate;
  const span = (ATTENUATION_DB - 7.95) / (2.285 * transition);
  const half = Math.ceil(span / 2);
  const taps = 2 * half;

  const interpolatedPhases = L * taps > MAX_STORED_COEFFICIENTS;
  // With interpolation, row F (fraction 1.0) is stored too so row r+1 always exists.
  const storedPhases = interpolatedPhases ? FINE_PHASES + 1 : L;
  const memoryBytes = Float32Array.BYTES_PER_ELEMENT * (storedPhases * taps + taps + BLOCK);
  return { inRate, outRate, interpolation: L, decimation: M, taps, half, storedPhases, interpolatedPhases, passbandHz, cutoffHz, stopbandHz, memoryBytes };
}

/**
 * Bytes a resampler from `inRate` to `outRate` would hold (coefficient table and
 * input buffer), computed without building it.
 * @throws RangeError for rates the {@link Resampler} refuses
 */
export function resamplerBytes(inRate: number, outRate: number = OUTPUT_SAMPLE_RATE): number {
  checkRates(inRate, outRate);
  return inRate === outRate ? 0 : filterShape(inRate, outRate).memoryBytes;
}

function checkRates(inRate: number, outRate: number): void {
  for (const [name, rate] of [["inRate", inRate], ["outRate", outRate]] as const) {
    if (!Number.isSafeInteger(rate) || rate < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${rate}`);
    }
  }
  if (Math.max(inRate, outRate) > MAX_RATE_RATIO * Math.min(inRate, outRate)) {
    throw new RangeError(`cannot resample ${inRate} Hz to ${outRate} Hz: the rates may differ by a factor of at most ${MAX_RATE_RATIO}`);
  }
}

function designBank(inRate: number, outRate: number): FilterBank {
  const { half, ...shape } = filterShape(inRate, outRate);
  const { taps, storedPhases, interpolatedPhases, interpolation: L, cutoffHz } = shape;
  const rowStep = interpolatedPhases ? FINE_PHASES : L;

  const bandwidth = (2 * cutoffHz) / inRate; // sinc scale in cycles per input sample, ×2
  const i0Beta = besselI0(BETA);
  const coefficients = new Float32Array(storedPhases * taps);
  const row = new Float64Array(taps);
  for (let r = 0; r < storedPhases; r++) {
    // Tap j of this row weighs input sample (instant − (half − 1) + j); τ is its distance from the instant.
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const tau = r / rowStep + half - 1 - j;
      const w = tau / half;
      const window = w >= 1 || w <= -1 ? 0 : besselI0(BETA * Math.sqrt(1 - w * w)) / i0Beta;
      const value = bandwidth * sinc(bandwidth * tau) * window;
      row[j] = value;
      sum += value;
    }
    // Unit DC gain in every phase: a constant input stays exactly constant, instead of
    // picking up a tiny ripple that repeats with the phase pattern and shows up as a tone.
    for (let j = 0; j < taps; j++) coefficients[r * taps + j] = row[j]! / sum;
  }

  return { design: { ...shape, beta: BETA, attenuationDb: ATTENUATION_DB }, coefficients };
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for the β used here). */
function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; term > sum * 1e-17; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
