/**
 * The {@link Resampler}'s filter design: band edges, Kaiser window, tap count
 * and the polyphase coefficient tables (cached per rate pair). Pure numbers:
 * the streaming and the hot loop live in ./resampler.ts.
 */
import { MAX_UPLOAD_SAMPLE_RATE, MIN_INPUT_SAMPLE_RATE, OUTPUT_SAMPLE_RATE } from "./limits";

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
export const FINE_PHASES = 512;

/** Input samples copied in per pass, so a multi-second call needs no large buffer. */
export const BLOCK = 4096;

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

export interface FilterBank {
  readonly design: ResamplerDesign;
  /** `storedPhases` rows of `taps` coefficients, each row summing to 1. */
  readonly coefficients: Float32Array;
}

/*
 * Sessions in one isolate usually share a handful of rates; designing a bank
 * costs a few milliseconds, so keep the recent ones. Bounded, because a client
 * chooses the rate and could otherwise make the isolate keep thousands.
 */
const BANK_CACHE_SIZE = 8;
const bankCache = new Map<string, FilterBank>();

export function filterBank(inRate: number, outRate: number): FilterBank {
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

/** @throws RangeError unless both rates are positive integers at most MAX_RATE_RATIO apart */
export function checkRates(inRate: number, outRate: number): void {
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

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
