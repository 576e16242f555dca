/** HTTP helpers for the e2e suite. */
import { createHash } from "node:crypto";

export async function getJson<T = Record<string, unknown>>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as T };
}

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export { eventually } from "./wait";

/** The data chunk of a canonical 44-byte-header WAV, after checking the header says 16 kHz s16 mono. */
export function wavData(wav: Uint8Array): { data: Uint8Array; sampleRate: number; dataBytes: number } {
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  const tag = (at: number) => String.fromCharCode(...wav.subarray(at, at + 4));
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE" || tag(12) !== "fmt " || tag(36) !== "data") throw new Error("not a canonical WAV");
  if (view.getUint16(20, true) !== 1 || view.getUint16(22, true) !== 1 || view.getUint16(34, true) !== 16) throw new Error("not 16-bit mono PCM");
  const dataBytes = view.getUint32(40, true);
  if (view.getUint32(4, true) !== 36 + dataBytes) throw new Error("RIFF size disagrees with the data size");
  return { data: wav.subarray(44, 44 + dataBytes), sampleRate: view.getUint32(24, true), dataBytes };
}
