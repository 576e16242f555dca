// The audio module decides what gets recorded and what engines hear, so these tests check
// what a user relies on: WAV files that other tools read and write, G.711 as the standard
// defines it, resampled audio that sounds the same, lasts as long, and does not depend on
// how the client happened to split it into frames.
import { describe, expect, it } from "vitest";
import { concatPcm } from "../../tools/fixtures/synth";
import {
  alawToS16,
  createAudioConverter,
  decodeAlaw,
  decodeMulaw,
  encodeAlaw,
  encodeMulaw,
  f32ArrayToS16,
  f32ToS16,
  isWholeSamples,
  MAX_RATE_RATIO,
  MAX_RESAMPLER_BYTES,
  MAX_STREAM_SAMPLE_RATE,
  MAX_UPLOAD_SAMPLE_RATE,
  MIN_INPUT_SAMPLE_RATE,
  mulawToS16,
  parseWav,
  parseWavHeader,
  readF32LE,
  readS16LE,
  Resampler,
  resamplerBytes,
  s16ToAlaw,
  s16ToF32,
  s16ToMulaw,
  WAV_HEADER_BYTES,
  WavError,
  wavHeader,
  writeF32LE,
  writeS16LE,
} from "../../src/audio";

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

const OUT_RATE = 16000;
const RATES = [8000, 11025, 22050, 32000, 44100, 48000] as const;
/** 44 101 Hz has 16 000 distinct phases, so it exercises the interpolated-phase path. */
const AWKWARD_RATE = 44101;

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sine(n: number, freq: number, rate: number, amplitude: number, phase = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return x;
}

/**
 * A DFT at one frequency, made exact for a non-integer number of cycles: the
 * least-squares fit of a·cos + b·sin to x[from..to). Returns the amplitude and
 * the phase φ of amplitude·sin(ωn + φ), on the sample clock of `rate`.
 */
function tone(x: ArrayLike<number>, freq: number, rate: number, from: number, to: number) {
  const w = (2 * Math.PI * freq) / rate;
  let cc = 0, ss = 0, sc = 0, xc = 0, xs = 0;
  for (let n = from; n < to; n++) {
    const c = Math.cos(w * n);
    const s = Math.sin(w * n);
    const v = x[n]!;
    cc += c * c;
    ss += s * s;
    sc += s * c;
    xc += v * c;
    xs += v * s;
  }
  const det = cc * ss - sc * sc;
  const a = (xc * ss - xs * sc) / det; // cos coefficient = A·sin φ
  const b = (xs * cc - xc * sc) / det; // sin coefficient = A·cos φ
  return { amplitude: Math.hypot(a, b), phase: Math.atan2(a, b) };
}

function rms(x: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  for (let n = from; n < to; n++) sum += x[n]! * x[n]!;
  return Math.sqrt(sum / (to - from));
}

const dB = (ratio: number) => 20 * Math.log10(ratio);

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whole stream through a fresh resampler, optionally in the given chunk sizes (cycled). */
function resample(input: Float32Array | Int16Array, inRate: number, chunks?: () => number): Int16Array {
  const r = new Resampler(inRate, OUT_RATE);
  const parts: Int16Array[] = [];
  if (chunks === undefined) {
    parts.push(r.process(input));
  } else {
    for (let i = 0; i < input.length; ) {
      const n = chunks();
      parts.push(r.process(input.subarray(i, i + n)));
      i += n;
    }
  }
  parts.push(r.flush());
  return concatPcm(...parts);
}

/** First index where two arrays differ, or -1; gives a readable failure instead of a 1M-element diff. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** The steady-state middle of an output: skips the filter's start-up and tail by a wide margin. */
const middle = (length: number) => ({ from: Math.floor(length * 0.1), to: Math.floor(length * 0.9) });

const passbandEdge = (inRate: number) => 0.875 * (Math.min(inRate, OUT_RATE) / 2);

/* ------------------------------------------------------------------ */
/* WAV                                                                 */
/* ------------------------------------------------------------------ */

function riff(chunks: Array<[string, Uint8Array]>, form = "WAVE"): Uint8Array {
  const body = concatBytes(
    chunks.flatMap(([id, data]) => {
      const head = new Uint8Array(8);
      head.set([...id].map((c) => c.charCodeAt(0)));
      new DataView(head.buffer).setUint32(4, data.length, true);
      return data.length % 2 ? [head, data, new Uint8Array(1)] : [head, data];
    }),
  );
  const head = new Uint8Array(12);
  head.set([..."RIFF"].map((c) => c.charCodeAt(0)));
  new DataView(head.buffer).setUint32(4, 4 + body.length, true);
  head.set([...form].map((c) => c.charCodeAt(0)), 8);
  return concatBytes([head, body]);
}

function fmtChunk(tag: number, channels: number, rate: number, bits: number, extra?: Uint8Array): Uint8Array {
  const b = new Uint8Array(16 + (extra ? 2 + extra.length : 0));
  const v = new DataView(b.buffer);
  const align = (channels * bits) / 8;
  v.setUint16(0, tag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * align, true);
  v.setUint16(12, align, true);
  v.setUint16(14, bits, true);
  if (extra) {
    v.setUint16(16, extra.length, true);
    b.set(extra, 18);
  }
  return b;
}

/** WAVEFORMAT_EXTENSIBLE tail: valid bits, channel mask, SubFormat GUID for `subTag`. */
function extensible(validBits: number, subTag: number): Uint8Array {
  const b = new Uint8Array(22);
  const v = new DataView(b.buffer);
  v.setUint16(0, validBits, true);
  v.setUint32(2, 0x4, true); // front centre
  v.setUint16(6, subTag, true);
  b.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 8);
  return b;
}

const text = (s: string) => new TextEncoder().encode(s);

describe("wavHeader", () => {
  it("writes the canonical 44-byte PCM header that parseWav reads back", () => {
    const dataBytes = 32000;
    const header = wavHeader({ dataBytes });
    expect(header.length).toBe(WAV_HEADER_BYTES);
    const v = new DataView(header.buffer);
    expect(new TextDecoder().decode(header.subarray(0, 4))).toBe("RIFF");
    expect(v.getUint32(4, true)).toBe(36 + dataBytes);
    expect(new TextDecoder().decode(header.subarray(8, 16))).toBe("WAVEfmt ");
    expect(v.getUint32(16, true)).toBe(16);
    expect(v.getUint16(20, true)).toBe(1);
    expect(v.getUint32(28, true)).toBe(32000); // byte rate: 16000 × 1 × 2
    expect(v.getUint16(32, true)).toBe(2); // block align
    expect(new TextDecoder().decode(header.subarray(36, 40))).toBe("data");
    expect(v.getUint32(40, true)).toBe(dataBytes);

    const file = concatBytes([header, new Uint8Array(dataBytes)]);
    expect(parseWav(file)).toEqual({
      format: "pcm_s16le",
      sampleRate: 16000,
      channels: 1,
      bitsPerSample: 16,
      blockAlign: 2,
      dataOffset: 44,
      dataBytes,
    });
  });

  it("round-trips other rates, channel counts and widths", () => {
    const header = wavHeader({ dataBytes: 600, sampleRate: 44100, channels: 2, bitsPerSample: 24 });
    expect(new DataView(header.buffer).getUint32(28, true)).toBe(44100 * 6);
    const info = parseWav(concatBytes([header, new Uint8Array(600)]));
    expect(info).toMatchObject({ format: "pcm_s24le", sampleRate: 44100, channels: 2, blockAlign: 6, dataBytes: 600 });
  });

  it("rejects sizes a WAV header cannot express", () => {
    expect(() => wavHeader({ dataBytes: 3 })).toThrow(RangeError); // half a 16-bit sample
    expect(() => wavHeader({ dataBytes: 0xffffffff })).toThrow(RangeError);
    expect(() => wavHeader({ dataBytes: -2 })).toThrow(RangeError);
  });
});

describe("parseWav", () => {
  it("skips LIST and odd-sized chunks (with their pad byte) before data", () => {
    const file = riff([
      ["junk", new Uint8Array(3)], // odd: followed by a pad byte the size does not count
      ["fmt ", fmtChunk(1, 1, 8000, 16)],
      ["LIST", concatBytes([text("INFOISFT"), new Uint8Array([5, 0, 0, 0]), text("lavf"), new Uint8Array(1)])],
      ["data", new Uint8Array(10)],
    ]);
    const info = parseWav(file);
    expect(info).toMatchObject({ format: "pcm_s16le", sampleRate: 8000, dataBytes: 10 });
    expect(new TextDecoder().decode(file.subarray(info.dataOffset - 8, info.dataOffset - 4))).toBe("data");
  });

  it("reads WAVE_FORMAT_EXTENSIBLE by its SubFormat", () => {
    const pcm = riff([["fmt ", fmtChunk(0xfffe, 1, 48000, 16, extensible(16, 1))], ["data", new Uint8Array(4)]]);
    expect(parseWav(pcm)).toMatchObject({ format: "pcm_s16le", sampleRate: 48000, bitsPerSample: 16 });
    const float = riff([["fmt ", fmtChunk(0xfffe, 1, 48000, 32, extensible(32, 3))], ["data", new Uint8Array(8)]]);
    expect(parseWav(float).format).toBe("pcm_f32le");
    const mulaw = riff([["fmt ", fmtChunk(0xfffe, 1, 8000, 8, extensible(8, 7))], ["data", new Uint8Array(3)]]);
    expect(parseWav(mulaw).format).toBe("mulaw");

    const odd = extensible(16, 1);
    odd[21] = 0x72; // not the KSDATAFORMAT GUID family
    const bad = riff([["fmt ", fmtChunk(0xfffe, 1, 48000, 16, odd)], ["data", new Uint8Array(4)]]);
    expect(() => parseWav(bad)).toThrow(expect.objectContaining({ name: "WavError", code: "unsupported" }));
  });

  it("reads float, A-law, μ-law and 8/24/32-bit PCM", () => {
    const cases: Array<[number, number, string]> = [
      [3, 32, "pcm_f32le"],
      [3, 64, "pcm_f64le"],
      [6, 8, "alaw"],
      [7, 8, "mulaw"],
      [1, 8, "pcm_u8"],
      [1, 24, "pcm_s24le"],
      [1, 32, "pcm_s32le"],
    ];
    for (const [tag, bits, format] of cases) {
      // Float files carry a fact chunk; it must be skipped too.
      const file = riff([
        ["fmt ", fmtChunk(tag, 1, 22050, bits, new Uint8Array(0))],
        ["fact", new Uint8Array(4)],
        ["data", new Uint8Array(bits / 8)],
      ]);
      expect(parseWav(file), format).toMatchObject({ format, sampleRate: 22050, bitsPerSample: bits });
    }
  });

  it("throws WavError('truncated') when the file ends early", () => {
    const file = concatBytes([wavHeader({ dataBytes: 100 }), new Uint8Array(50)]);
    expect(() => parseWav(file)).toThrow(WavError);
    expect(() => parseWav(file)).toThrow(/declares 100 bytes but only 50/);
    for (const cut of [0, 3, 11, 20, 43]) {
      expect(() => parseWav(file.subarray(0, cut))).toThrow(expect.objectContaining({ code: "truncated" }));
    }
  });

  it("explains what is unsupported or malformed", () => {
    const mp3 = riff([["fmt ", fmtChunk(0x55, 1, 44100, 0)], ["data", new Uint8Array(4)]]);
    expect(() => parseWav(mp3)).toThrow(/format tag 0x0055 is not supported/);
    const pcm12 = riff([["fmt ", fmtChunk(1, 1, 8000, 12)], ["data", new Uint8Array(4)]]);
    expect(() => parseWav(pcm12)).toThrow(expect.objectContaining({ code: "unsupported" }));
    expect(() => parseWav(text("OggS\0\0\0\0\0\0\0\0"))).toThrow(expect.objectContaining({ code: "malformed" }));
    expect(() => parseWav(riff([["fmt ", fmtChunk(1, 1, 8000, 16)]], "AVI "))).toThrow(/"AVI "/);
    const dataFirst = riff([["data", new Uint8Array(2)], ["fmt ", fmtChunk(1, 1, 8000, 16)]]);
    expect(() => parseWav(dataFirst)).toThrow(/before the fmt chunk/);
    const partialFrame = riff([["fmt ", fmtChunk(1, 2, 8000, 16)], ["data", new Uint8Array(6)]]);
    expect(() => parseWav(partialFrame)).toThrow(/not a whole number of 4-byte frames/);
  });

  it("reads a streamed WAV whose data size is unknown (0xFFFFFFFF) to the end", () => {
    const file = concatBytes([wavHeader({ dataBytes: 0 }), new Uint8Array(7)]);
    new DataView(file.buffer).setUint32(40, 0xffffffff, true);
    expect(parseWav(file).dataBytes).toBe(6); // whole samples only
    expect(parseWavHeader(file)?.dataBytes).toBeUndefined();
  });
});

describe("parseWavHeader", () => {
  it("asks for more bytes until the data chunk starts, then agrees with parseWav", () => {
    const file = riff([
      ["fmt ", fmtChunk(3, 1, 48000, 32)],
      ["LIST", new Uint8Array(26)],
      ["data", new Uint8Array(4800)],
    ]);
    const full = parseWav(file);
    for (let n = 0; n < full.dataOffset; n++) expect(parseWavHeader(file.subarray(0, n)), `prefix ${n}`).toBeNull();
    for (const n of [full.dataOffset, full.dataOffset + 1, file.length]) {
      expect(parseWavHeader(file.subarray(0, n))).toEqual(full);
    }
  });

  it("rejects a stream that is not WAV from its first bytes", () => {
    expect(() => parseWavHeader(text("Og"))).toThrow(WavError);
    expect(() => parseWavHeader(text("fLaC"))).toThrow(/not a WAV file/);
    expect(() => parseWavHeader(text("RIFX"))).toThrow(/big-endian/);
  });
});

/* ------------------------------------------------------------------ */
/* G.711                                                               */
/* ------------------------------------------------------------------ */

/**
 * Decoding straight from the G.711 definition (Tables 1a/2a, stated as formulas), written
 * independently of the module's bit tricks: the decoded value of segment s, step q is the
 * middle of its quantization interval, on the 14-bit (μ) or 13-bit (A) scale.
 */
function g711Mulaw(code: number): number {
  const c = ~code & 0xff; // every bit is transmitted inverted
  const s = (c >> 4) & 7;
  const q = c & 15;
  const magnitude = (2 * q + 33) * 2 ** s - 33; // 0 … 8031
  return (c & 0x80 ? -magnitude : magnitude) * 4 + 0; // + 0: the negative zero decodes to plain 0
}
function g711Alaw(code: number): number {
  const c = code ^ 0x55; // even bits are transmitted inverted
  const s = (c >> 4) & 7;
  const q = c & 15;
  const magnitude = s === 0 ? 2 * q + 1 : (2 * q + 33) * 2 ** (s - 1); // 1 … 4032
  return (c & 0x80 ? magnitude : -magnitude) * 8; // sign bit 1 = positive in A-law
}

describe("G.711", () => {
  it("decodes the reference values", () => {
    expect(mulawToS16(0xff)).toBe(0);
    expect(mulawToS16(0x7f)).toBe(0); // μ-law's negative zero
    expect(mulawToS16(0x00)).toBe(-32124);
    expect(mulawToS16(0x80)).toBe(32124);
    expect(alawToS16(0xd5)).toBe(8);
    expect(alawToS16(0x55)).toBe(-8);
    expect(alawToS16(0xaa)).toBe(32256);
    expect(alawToS16(0x2a)).toBe(-32256);
  });

  it("matches the G.711 definition for all 256 codes of each law", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(Array.from(decodeMulaw(all))).toEqual(Array.from(all, g711Mulaw));
    expect(Array.from(decodeAlaw(all))).toEqual(Array.from(all, g711Alaw));
  });

  it("re-encodes every decoded level to its own code", () => {
    for (let code = 0; code < 256; code++) {
      expect(s16ToAlaw(alawToS16(code))).toBe(code);
      // Both μ-law zeros decode to 0, which encodes as the positive zero 0xFF.
      expect(s16ToMulaw(mulawToS16(code))).toBe(code === 0x7f ? 0xff : code);
    }
  });

  it("decode(encode(x)) stays within half a quantization step across the whole range", () => {
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    const mu = decodeMulaw(encodeMulaw(all));
    const a = decodeAlaw(encodeAlaw(all));
    const failures: string[] = [];
    for (let i = 0; i < all.length; i++) {
      const x = all[i]!;
      // Half the step of the segment x was coded in (16-bit scale).
      const muSegment = (~s16ToMulaw(x) >> 4) & 7;
      const aSegment = ((s16ToAlaw(x) ^ 0x55) >> 4) & 7;
      const muHalfStep = 4 * 2 ** muSegment; // 14-bit step 2^(s+1), ×4, halved
      const aHalfStep = aSegment <= 1 ? 8 : 4 * 2 ** aSegment; // 13-bit step 2 or 2^s, ×8, halved
      // The encoders first drop the bits below the law's resolution (2 for μ-law, 3 for A-law).
      const muOk = Math.abs(x) <= 32635 ? Math.abs(mu[i]! - x) <= muHalfStep + 3 : Math.abs(mu[i]!) === 32124;
      if (!muOk) failures.push(`μ-law ${x} → ${mu[i]}`); // beyond μ-law's range it clips to its largest level
      if (Math.abs(a[i]! - x) > aHalfStep + 7) failures.push(`A-law ${x} → ${a[i]}`);
      // Companding is monotonic: a louder input never decodes quieter.
      if (i > 0 && (mu[i]! < mu[i - 1]! || a[i]! < a[i - 1]!)) failures.push(`not monotonic at ${x}`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});

/* ------------------------------------------------------------------ */
/* PCM                                                                 */
/* ------------------------------------------------------------------ */

describe("PCM conversions", () => {
  it("f32 → s16 rounds to nearest (ties away from zero) and clips", () => {
    const lsb = 1 / 32768;
    const cases: Array<[number, number]> = [
      [0, 0],
      [0.5, 16384],
      [-0.5, -16384],
      [1, 32767], // +1.0 is one step beyond s16; clipped
      [-1, -32768],
      [1.5, 32767],
      [-7, -32768],
      [0.4 * lsb, 0],
      [0.6 * lsb, 1],
      [0.5 * lsb, 1],
      [-0.5 * lsb, -1],
      [-2.5 * lsb, -3],
      [NaN, 0],
      [Infinity, 32767],
      [-Infinity, -32768],
    ];
    for (const [input, expected] of cases) expect(f32ToS16(input), String(input)).toBe(expected);
    expect(Array.from(f32ArrayToS16(Float32Array.from(cases, ([x]) => x)))).toEqual(cases.map(([, y]) => y));
  });

  it("s16 → f32 → s16 is exact for every sample value", () => {
    for (let s = -32768; s <= 32767; s++) if (f32ToS16(Math.fround(s16ToF32(s))) !== s) expect.fail(`${s}`);
  });

  it("reads little-endian samples from frames at odd byte offsets", () => {
    const backing = new Uint8Array([0xaa, 0x34, 0x12, 0x00, 0x80, 0xff, 0xff]);
    expect(Array.from(readS16LE(backing.subarray(1)))).toEqual([0x1234, -32768, -1]);
    const floats = new Float32Array([0.25, -1.5]);
    const odd = new Uint8Array(9);
    odd.set(writeF32LE(floats), 1);
    expect(Array.from(readF32LE(odd.subarray(1)))).toEqual([0.25, -1.5]);
    expect(() => readS16LE(backing.subarray(0, 3))).toThrow(RangeError);
  });

  it("writes little-endian s16", () => {
    expect(Array.from(writeS16LE(new Int16Array([0x1234, -2])))).toEqual([0x34, 0x12, 0xfe, 0xff]);
  });
});

/* ------------------------------------------------------------------ */
/* Resampler                                                           */
/* ------------------------------------------------------------------ */

describe("Resampler", () => {
  // The filter's flat band is 0.875 × the lower Nyquist with a designed ripple of ±0.0006 dB;
  // a 1 s tone fitted on s16 output is accurate to ~0.0001 dB. ±0.01 dB is tight enough to
  // catch a wrong gain or a misplaced band edge and loose enough not to depend on rounding.
  const PASSBAND_TOLERANCE_DB = 0.01;
  // Designed stopband: ≥ 85 dB from the lower Nyquist up. A full-scale tone's alias at that
  // level is about one s16 step, so the measurement (RMS of rounded output) is checked at 80 dB.
  const ALIAS_REJECTION_DB = 80;

  it("describes its filter", () => {
    const d = new Resampler(44100).design!;
    expect(d).toMatchObject({ interpolation: 160, decimation: 441, storedPhases: 160, interpolatedPhases: false });
    expect(d.passbandHz).toBe(7000);
    expect(d.stopbandHz).toBe(8000);
    expect(d.beta).toBeGreaterThan(8);
    expect(d.beta).toBeLessThan(9);
    expect(new Resampler(AWKWARD_RATE).design!.interpolatedPhases).toBe(true);
    expect(new Resampler(16000).design).toBeUndefined();
  });

  it("refuses rate ratios beyond MAX_RATE_RATIO before allocating anything", () => {
    // A 1 MHz header once made a 11 MB table and 100 MHz one of 1.1 GB; both must be refused up front.
    for (const [inRate, outRate] of [[1_000_000, 16000], [100_000_000, 16000], [MAX_UPLOAD_SAMPLE_RATE + 1, 16000], [16000, 1_000_000], [1000, 16000]]) {
      expect(() => new Resampler(inRate!, outRate), `${inRate} → ${outRate}`).toThrow(RangeError);
      expect(() => resamplerBytes(inRate!, outRate), `${inRate} → ${outRate}`).toThrow(/factor of at most 6/);
    }
    expect(MAX_RATE_RATIO).toBe(6);
    expect(() => new Resampler(MAX_UPLOAD_SAMPLE_RATE)).not.toThrow();
  });

  it(`holds at most MAX_RESAMPLER_BYTES (${MAX_RESAMPLER_BYTES}) for every accepted rate and ratio`, () => {
    let largest = 0;
    for (let inRate = MIN_INPUT_SAMPLE_RATE; inRate <= MAX_UPLOAD_SAMPLE_RATE; inRate++) {
      largest = Math.max(largest, resamplerBytes(inRate, OUT_RATE));
    }
    // The filter's length depends on the ratio only, so the bound holds at any absolute rates.
    for (const base of [1, 7, 1000, 8000, 16000, 44100, 1_000_000, 123_456_789]) {
      for (const [inRate, outRate] of [[base * MAX_RATE_RATIO, base], [base, base * MAX_RATE_RATIO], [base * MAX_RATE_RATIO - 1, base]]) {
        largest = Math.max(largest, resamplerBytes(inRate!, outRate!));
      }
    }
    expect(largest).toBeLessThanOrEqual(MAX_RESAMPLER_BYTES);
    expect(largest).toBeGreaterThan(MAX_RESAMPLER_BYTES / 2); // the bound is tight, not a guess

    // What a real resampler allocates agrees: its design and the memory Node sees it take.
    const before = process.memoryUsage().arrayBuffers;
    const worst = new Resampler(MAX_UPLOAD_SAMPLE_RATE - 1);
    const taken = process.memoryUsage().arrayBuffers - before;
    expect(worst.design!.memoryBytes).toBe(resamplerBytes(MAX_UPLOAD_SAMPLE_RATE - 1));
    expect(taken).toBeLessThanOrEqual(MAX_RESAMPLER_BYTES);
  });

  it("passes 16 kHz through exactly", () => {
    const rand = prng(1);
    const x = Int16Array.from({ length: 5000 }, () => Math.floor(rand() * 65536) - 32768);
    const r = new Resampler(16000, 16000);
    expect(r.passthrough).toBe(true);
    expect(firstDifference(r.process(x), x)).toBe(-1);
    expect(r.flush().length).toBe(0);
    const f = new Float32Array([0.5, -1, 2]);
    expect(Array.from(r.process(f))).toEqual([16384, -32768, 32767]);
  });

  const downRates = [22050, 32000, 44100, 48000, AWKWARD_RATE];
  it.each(downRates)("rejects tones above 8 kHz from %i Hz instead of aliasing them", (inRate) => {
    const amplitude = 0.99;
    for (const f of [8200, 9000, 12000, 15000].filter((f) => f < inRate / 2)) {
      const y = resample(sine(inRate, f, inRate, amplitude), inRate);
      const { from, to } = middle(y.length);
      const rejection = -dB(rms(y, from, to) / ((amplitude * 32768) / Math.SQRT2));
      expect(rejection, `${f} Hz`).toBeGreaterThanOrEqual(ALIAS_REJECTION_DB);
    }
  });

  it.each([8000, 11025])("adds no images above the band of %i Hz input", (inRate) => {
    // Upsampling creates mirror images at inRate − f; all that may remain is the tone itself.
    const f = 3000;
    const amplitude = 0.99;
    const y = resample(sine(inRate, f, inRate, amplitude), inRate);
    const { from, to } = middle(y.length);
    const fit = tone(y, f, OUT_RATE, from, to);
    const w = (2 * Math.PI * f) / OUT_RATE;
    const residual = Float64Array.from(y, (v, n) => v - fit.amplitude * Math.sin(w * n + fit.phase));
    const rejection = -dB(rms(residual, from, to) / (fit.amplitude / Math.SQRT2));
    expect(rejection).toBeGreaterThanOrEqual(ALIAS_REJECTION_DB);
  });

  describe.each([...RATES, AWKWARD_RATE])("from %i Hz", (inRate) => {
    it("keeps passband tones at their level and on the input's timeline", () => {
      const freqs = [1000, 3000, 6000].filter((f) => f <= passbandEdge(inRate));
      if (inRate >= 16000) freqs.push(7000); // the edge of the band promised for 16 kHz output
      const amplitude = 0.5;
      const phase = 0.7;
      for (const f of freqs) {
        const y = resample(sine(inRate, f, inRate, amplitude, phase), inRate);
        const { from, to } = middle(y.length);
        const fit = tone(y, f, OUT_RATE, from, to);
        expect(Math.abs(dB(fit.amplitude / (amplitude * 32768))), `${f} Hz gain`).toBeLessThan(PASSBAND_TOLERANCE_DB);
        // Same phase on the shared clock means zero delay: timestamps need no correction.
        expect(Math.abs(fit.phase - phase), `${f} Hz phase`).toBeLessThan(1e-3);
      }
    });

    it("keeps a constant level exactly constant", () => {
      const y = resample(new Int16Array(inRate).fill(-30000), inRate);
      const { from, to } = middle(y.length);
      expect(y.subarray(from, to).every((v) => v === -30000)).toBe(true);
    });

    it("keeps the energy of a sweep across the band", () => {
      const top = Math.min(7000, passbandEdge(inRate));
      const seconds = 2;
      const n = inRate * seconds;
      const amplitude = 0.5;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const t = i / inRate;
        x[i] = amplitude * Math.sin(2 * Math.PI * (100 * t + ((top - 100) / (2 * seconds)) * t * t));
      }
      const y = resample(x, inRate);
      // Compare the same stretch of time (0.2 s … 1.8 s) on both sides.
      const inRms = rms(x, Math.round(0.2 * inRate), Math.round(1.8 * inRate)) * 32768;
      const outRms = rms(y, 0.2 * OUT_RATE, 1.8 * OUT_RATE);
      expect(Math.abs(dB(outRms / inRms))).toBeLessThan(0.05);
    });

    it("gives identical output whatever the frame sizes", () => {
      const rand = prng(inRate);
      const noise = Float32Array.from({ length: 3 * inRate }, () => rand() * 1.8 - 0.9);
      const whole = resample(noise, inRate);
      const chunked = resample(noise, inRate, () => 1 + Math.floor(rand() * 5000));
      expect(firstDifference(chunked, whole)).toBe(-1);
      const tiny = resample(noise.subarray(0, inRate / 4), inRate, () => 1 + Math.floor(rand() * 3));
      expect(firstDifference(tiny, resample(noise.subarray(0, inRate / 4), inRate))).toBe(-1);

      const s16 = f32ArrayToS16(noise);
      expect(firstDifference(resample(s16, inRate, () => 1 + Math.floor(rand() * 5000)), resample(s16, inRate))).toBe(-1);
    });

    it("outputs as long as it was given: 60 s in, 60 s out", () => {
      const rand = prng(inRate + 1);
      const r = new Resampler(inRate);
      const frame = new Int16Array(Math.round(inRate / 50)); // 20 ms frames
      let out = 0;
      for (let sent = 0; sent < 60 * inRate; ) {
        const n = Math.min(frame.length, 60 * inRate - sent, 1 + Math.floor(rand() * frame.length));
        out += r.process(frame.subarray(0, n)).length;
        sent += n;
      }
      out += r.flush().length;
      expect(Math.abs(out - 60 * OUT_RATE)).toBeLessThanOrEqual(16); // within 1 ms
      expect(out).toBe(60 * OUT_RATE);
    }, 30_000);

    it("outputs round(n × 16000 / inRate) ± 1 samples for any stream length", () => {
      const rand = prng(inRate + 2);
      const r = new Resampler(inRate);
      for (let trial = 0; trial < 50; trial++) {
        const n = Math.floor(rand() * 3000);
        const total = r.process(new Int16Array(n)).length + r.flush().length; // flush also resets
        expect(Math.abs(total - Math.round((n * OUT_RATE) / inRate)), `${n} samples`).toBeLessThanOrEqual(1);
      }
    });
  });
});

/* ------------------------------------------------------------------ */
/* Converter                                                           */
/* ------------------------------------------------------------------ */

const s16Bytes = (...samples: number[]) => writeS16LE(Int16Array.from(samples));

describe("createAudioConverter", () => {
  it("passes 16 kHz s16le frames through as the same object", () => {
    const c = createAudioConverter("pcm_s16le", 16000);
    expect(c.passthrough).toBe(true);
    const frame = new Uint8Array([1, 2, 3, 4]);
    expect(c.push(frame)).toBe(frame);
    expect(c.flush().length).toBe(0);
  });

  it("decodes μ-law, A-law and f32 at 16 kHz to the expected samples", () => {
    const mu = createAudioConverter("mulaw", 16000);
    expect(mu.passthrough).toBe(false);
    expect(mu.push(new Uint8Array([0xff, 0x00, 0x80, 0x7f]))).toEqual(s16Bytes(0, -32124, 32124, 0));
    const a = createAudioConverter("alaw", 16000);
    expect(a.push(new Uint8Array([0xd5, 0x55, 0xaa, 0x2a]))).toEqual(s16Bytes(8, -8, 32256, -32256));
    const f = createAudioConverter("pcm_f32le", 16000);
    const floats = new Uint8Array(1 + 16);
    floats.set(writeF32LE(new Float32Array([0.5, -1, 1.5, -0.25])), 1); // odd byte offset, like a sliced frame
    expect(f.push(floats.subarray(1))).toEqual(s16Bytes(16384, -32768, 32767, -8192));
    expect(f.flush().length).toBe(0);
  });

  it("doubles the sample count of 8 kHz μ-law (telephony) over a stream", () => {
    const c = createAudioConverter("mulaw", 8000);
    const speechLike = encodeMulaw(f32ArrayToS16(sine(8000 * 3, 440, 8000, 0.3)));
    const parts: Uint8Array[] = [];
    for (let i = 0; i < speechLike.length; i += 160) parts.push(c.push(speechLike.subarray(i, i + 160)));
    parts.push(c.flush());
    const out = concatBytes(parts);
    expect(out.length).toBe(speechLike.length * 2 * 2); // twice the samples, 2 bytes each
    const y = readS16LE(out);
    const { from, to } = middle(y.length);
    expect(tone(y, 440, 16000, from, to).amplitude / (0.3 * 32768)).toBeCloseTo(1, 2);
  });

  it("resamples other rates exactly as the Resampler does", () => {
    const x = sine(4800, 1000, 48000, 0.4);
    const c = createAudioConverter("pcm_f32le", 48000);
    const bytes = writeF32LE(x);
    const out = concatBytes([c.push(bytes.subarray(0, 4 * 1001)), c.push(bytes.subarray(4 * 1001)), c.flush()]);
    expect(Array.from(readS16LE(out))).toEqual(Array.from(resample(x, 48000)));

    const s = createAudioConverter("pcm_s16le", 44100);
    expect(s.passthrough).toBe(false);
    const pcm = f32ArrayToS16(x);
    const fromS16 = concatBytes([s.push(writeS16LE(pcm)), s.flush()]);
    expect(Array.from(readS16LE(fromS16))).toEqual(Array.from(resample(pcm, 44100)));
  });

  it("refuses frames that are not whole samples", () => {
    expect(isWholeSamples("pcm_s16le", 4)).toBe(true);
    expect(isWholeSamples("pcm_s16le", 3)).toBe(false);
    expect(isWholeSamples("pcm_f32le", 6)).toBe(false);
    expect(isWholeSamples("mulaw", 3)).toBe(true);
    expect(() => createAudioConverter("pcm_s16le", 16000).push(new Uint8Array(3))).toThrow(RangeError);
    expect(() => createAudioConverter("pcm_f32le", 8000).push(new Uint8Array(6))).toThrow(/whole number/);
  });

  it(`converts ${MIN_INPUT_SAMPLE_RATE}–${MAX_UPLOAD_SAMPLE_RATE} Hz (streams up to ${MAX_STREAM_SAMPLE_RATE}) and refuses other rates`, () => {
    for (const rate of [MIN_INPUT_SAMPLE_RATE, MAX_STREAM_SAMPLE_RATE, 88200, MAX_UPLOAD_SAMPLE_RATE]) {
      expect(() => createAudioConverter("pcm_s16le", rate), `${rate}`).not.toThrow();
    }
    for (const rate of [MIN_INPUT_SAMPLE_RATE - 1, MAX_UPLOAD_SAMPLE_RATE + 1, 100_000_000]) {
      expect(() => createAudioConverter("pcm_s16le", rate), `${rate}`).toThrow(/from 8000 to 96000/);
    }
  });
});
