/**
 * ITU-T G.711 μ-law and A-law, the 8-bit companded encodings telephony clients
 * send. Decoding is one table lookup per byte; the tables are computed once at
 * module load from the G.711 segment rules (the same arithmetic as the public
 * domain Sun Microsystems g711.c), so there is no 512-number literal to audit.
 *
 * Decoded values are on the 16-bit scale: μ-law's 14-bit range ×4 (±32124) and
 * A-law's 13-bit range ×8 (±32256), as every common decoder does.
 */

const MULAW_BIAS = 0x84; // 33 on the 14-bit scale: shifts every segment so segment ends are powers of two
const MULAW_CLIP = 8159; // largest 14-bit magnitude μ-law can represent (before the bias)

function decodeMulawByte(code: number): number {
  // μ-law transmits every bit inverted (G.711 §3.2).
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + MULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? MULAW_BIAS - t : t - MULAW_BIAS;
}

function decodeAlawByte(code: number): number {
  // A-law transmits the even bits inverted (G.711 §3.3).
  const a = code ^ 0x55;
  const segment = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  if (segment === 0) t += 8;
  else t = (t + 0x108) << (segment - 1);
  return a & 0x80 ? t : -t;
}

const MULAW_TABLE = buildTable(decodeMulawByte);
const ALAW_TABLE = buildTable(decodeAlawByte);

function buildTable(decode: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = decode(code);
  return table;
}

/** Decodes one μ-law byte to a 16-bit sample (`0xFF` → 0, `0x00` → -32124). */
export function mulawToS16(code: number): number {
  return MULAW_TABLE[code & 0xff]!;
}

/** Decodes one A-law byte to a 16-bit sample (`0xD5` → 8, `0x55` → -8). */
export function alawToS16(code: number): number {
  return ALAW_TABLE[code & 0xff]!;
}

/**
 * Decodes μ-law bytes into 16-bit samples.
 * @param out where to write; must hold `bytes.length` samples. @default a new Int16Array
 */
export function decodeMulaw(bytes: Uint8Array, out: Int16Array = new Int16Array(bytes.length)): Int16Array {
  return decodeWith(MULAW_TABLE, bytes, out);
}

/**
 * Decodes A-law bytes into 16-bit samples.
 * @param out where to write; must hold `bytes.length` samples. @default a new Int16Array
 */
export function decodeAlaw(bytes: Uint8Array, out: Int16Array = new Int16Array(bytes.length)): Int16Array {
  return decodeWith(ALAW_TABLE, bytes, out);
}

function decodeWith(table: Int16Array, bytes: Uint8Array, out: Int16Array): Int16Array {
  const n = bytes.length;
  if (out.length < n) throw new RangeError(`output holds ${out.length} samples, need ${n}`);
  for (let i = 0; i < n; i++) out[i] = table[bytes[i]!]!;
  return out;
}

const MULAW_SEGMENT_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const ALAW_SEGMENT_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function segmentOf(value: number, ends: readonly number[]): number {
  let segment = 0;
  while (segment < 8 && value > ends[segment]!) segment++;
  return segment;
}

/** Encodes one 16-bit sample as μ-law (G.711). Out-of-range input is clipped. */
export function s16ToMulaw(sample: number): number {
  let pcm = clampS16(sample) >> 2; // μ-law works on 14 bits
  let mask = 0xff;
  if (pcm < 0) {
    pcm = -pcm;
    mask = 0x7f;
  }
  if (pcm > MULAW_CLIP) pcm = MULAW_CLIP;
  pcm += MULAW_BIAS >> 2;
  const segment = segmentOf(pcm, MULAW_SEGMENT_END);
  if (segment >= 8) return 0x7f ^ mask; // only the clipped maximum lands here
  return ((segment << 4) | ((pcm >> (segment + 1)) & 0x0f)) ^ mask;
}

/** Encodes one 16-bit sample as A-law (G.711). Out-of-range input is clipped. */
export function s16ToAlaw(sample: number): number {
  let pcm = clampS16(sample) >> 3; // A-law works on 13 bits
  let mask = 0xd5;
  if (pcm < 0) {
    // One's complement rather than negation: A-law has no negative zero, so -1 shares interval 0.
    pcm = -pcm - 1;
    mask = 0x55;
  }
  const segment = segmentOf(pcm, ALAW_SEGMENT_END);
  if (segment >= 8) return 0x7f ^ mask;
  const mantissa = (pcm >> (segment < 2 ? 1 : segment)) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

/** Encodes 16-bit samples as μ-law bytes (for fixtures and tests). */
export function encodeMulaw(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = s16ToMulaw(samples[i]!);
  return out;
}

/** Encodes 16-bit samples as A-law bytes (for fixtures and tests). */
export function encodeAlaw(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = s16ToAlaw(samples[i]!);
  return out;
}

function clampS16(sample: number): number {
  const s = Math.trunc(sample);
  return s > 32767 ? 32767 : s < -32768 ? -32768 : s | 0;
}
