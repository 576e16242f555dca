/**
 * Speech-like benchmark audio from tools/fixtures/synth.ts: conversation()
 * with alternating 110/220 Hz turns of 3 s and 0.7 s gaps, tiled to any length.
 */
import os from "node:os";
import { conversation, pcmBytes } from "../tools/fixtures/synth";

const SAMPLE_RATE = 16000;
const GAP_SECONDS = 0.7;
export const AUDIO_DESCRIPTION =
  "tools/fixtures/synth.ts `conversation()` (alternating 110 Hz / 220 Hz harmonic voices, 3 s turns, 0.7 s gaps), tiled to length; 16 kHz s16le mono";

/**
 * `seconds` of 16 kHz s16le PCM. One period is [gap, 110 Hz turn, gap, 220 Hz turn];
 * repeating it gives the same layout as one long conversation(), and the last
 * 0.7 s are silence so the last turn ends by itself.
 */
export function speechLike(seconds: number): Uint8Array {
  const pattern = conversation({ turns: [{ f0: 110, seconds: 3 }, { f0: 220, seconds: 3 }], gapSeconds: GAP_SECONDS });
  const gap = Math.round(GAP_SECONDS * SAMPLE_RATE);
  const period = pattern.subarray(0, pattern.length - gap);
  const n = Math.round(seconds * SAMPLE_RATE);
  const out = new Int16Array(n);
  for (let at = 0; at < n; at += period.length) out.set(period.subarray(0, Math.min(period.length, n - at)), at);
  out.fill(0, Math.max(0, n - gap));
  return os.endianness() === "LE" ? new Uint8Array(out.buffer) : pcmBytes(out);
}
