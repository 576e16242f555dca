/**
 * Speech-like benchmark audio from tools/fixtures/synth.ts: conversation()
 * with alternating 110/220 Hz turns of 3 s and 0.7 s gaps, tiled to any length.
 */
import os from "node:os";
import { conversation } from "../tools/fixtures/synth";

const SAMPLE_RATE = 16000;
const GAP_SECONDS = 0.7;
export const AUDIO_DESCRIPTION =
  "tools/fixtures/synth.ts `conversation()` (alternating 110 Hz / 220 Hz harmonic voices, 3 s turns, 0.7 s gaps), tiled";

/**
 * `seconds` of 16 kHz s16le PCM. One period is [gap, 110 Hz turn, gap, 220 Hz turn];
 * repeating it gives the same layout as one long conversation(), and the last
 * 0.7 s are silence so the last turn ends by itself.
 *
 * `dither`: add deterministic noise of at most ±2 LSB (about −84 dBFS, far
 * below anything a VAD hears) so that no two stretches of the buffer are
 * equal; the latency benchmark finds where a chunk the engine received sits in
 * the stream by its content.
 */
export function speechLike(seconds: number, { dither = false }: { dither?: boolean } = {}): Buffer {
  const pattern = conversation({ turns: [{ f0: 110, seconds: 3 }, { f0: 220, seconds: 3 }], gapSeconds: GAP_SECONDS });
  const gap = Math.round(GAP_SECONDS * SAMPLE_RATE);
  const period = pattern.subarray(0, pattern.length - gap);
  const n = Math.round(seconds * SAMPLE_RATE);
  const out = new Int16Array(n);
  for (let at = 0; at < n; at += period.length) out.set(period.subarray(0, Math.min(period.length, n - at)), at);
  out.fill(0, Math.max(0, n - gap));
  if (dither) {
    let x = 0x9e3779b9;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = Math.max(-32768, Math.min(32767, out[i]! + ((x >>> 0) % 5) - 2));
    }
  }
  const bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  if (os.endianness() !== "LE") bytes.swap16();
  return bytes;
}
