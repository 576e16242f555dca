/**
 * What reached the engine emulator, per session key, fed by its
 * onFrameArrival hook (same process, same performance.now() clock as the
 * clients' send times).
 *
 * A "stream" track knows what the client sends (a contiguous stretch of a
 * unique, dithered audio buffer), so it can place every chunk the engine
 * receives in the stream, by order while chunks continue where the last one
 * ended and by content search otherwise (a reconnected engine link re-sending
 * audio from an earlier point). Each frame's arrival is the first time its
 * last byte reached the engine. A "count" track only sums bytes.
 */
import type { FrameArrivalHook } from "../tools/emulator/server";

const MATCH_BYTES = 64;

export interface CountTrack {
  kind: "count";
  frames: number;
  bytes: number;
  first: number;
  last: number;
}

export interface StreamTrack {
  kind: "stream";
  frameBytes: number;
  /** First arrival time of frame k (NaN until it arrived). */
  arrival: Float64Array;
  /** 1 when frame k first arrived as its own chunk, right after the previous one (the live relay path). */
  live: Uint8Array;
  framesArrived: number;
  /** Chunks received. */
  frames: number;
  bytes: number;
  /** Bytes received again (re-sent after an engine reconnect). */
  duplicateBytes: number;
  /** Bytes whose place in the stream could not be found. */
  unmatchedBytes: number;
  /** Chunks that did not continue the previous one (engine reconnects). */
  jumps: number;
  first: number;
  last: number;
  // internals
  audio: Buffer;
  base: number;
  totalBytes: number;
  expected: number;
  maxEnd: number;
}

export class ArrivalTracker {
  readonly #tracks = new Map<string, CountTrack | StreamTrack>();

  readonly hook: FrameArrivalHook = (key, bytes, t) => {
    const tr = this.#tracks.get(key);
    if (!tr) return;
    tr.frames++;
    tr.bytes += bytes.byteLength;
    if (tr.first < 0) tr.first = t;
    tr.last = t;
    if (tr.kind === "stream") placeChunk(tr, bytes, t);
  };

  count(key: string): CountTrack {
    const tr: CountTrack = { kind: "count", frames: 0, bytes: 0, first: -1, last: -1 };
    this.#tracks.set(key, tr);
    return tr;
  }

  /**
   * The client sends `totalBytes` bytes in frames of `frameBytes` (the last
   * one may be shorter), byte p of the stream being audio[baseFrame ·
   * frameBytes + p] (wrapping around the buffer).
   */
  stream(key: string, audio: Buffer, baseFrame: number, totalBytes: number, frameBytes: number): StreamTrack {
    const frames = Math.ceil(totalBytes / frameBytes);
    const tr: StreamTrack = {
      kind: "stream",
      frameBytes,
      arrival: new Float64Array(frames).fill(NaN),
      live: new Uint8Array(frames),
      framesArrived: 0,
      frames: 0,
      bytes: 0,
      duplicateBytes: 0,
      unmatchedBytes: 0,
      jumps: 0,
      first: -1,
      last: -1,
      audio,
      base: (baseFrame * frameBytes) % audio.byteLength,
      totalBytes,
      expected: 0,
      maxEnd: 0,
    };
    this.#tracks.set(key, tr);
    return tr;
  }

  untrack(key: string): void {
    this.#tracks.delete(key);
  }
}

function matchesAt(tr: StreamTrack, chunk: Uint8Array, pos: number): boolean {
  if (pos < 0) return false;
  const n = Math.min(MATCH_BYTES, chunk.byteLength);
  const size = tr.audio.byteLength;
  const start = (tr.base + pos) % size;
  for (let i = 0; i < n; i++) if (tr.audio[(start + i) % size] !== chunk[i]) return false;
  return true;
}

/** Stream position of `chunk` by content, or -1. */
function locate(tr: StreamTrack, chunk: Uint8Array): number {
  if (chunk.byteLength < 32) return -1;
  const pattern = Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(MATCH_BYTES, chunk.byteLength));
  const size = tr.audio.byteLength;
  const limit = tr.totalBytes;
  for (let at = tr.audio.indexOf(pattern); at >= 0; at = tr.audio.indexOf(pattern, at + 1)) {
    if (at % 2 !== 0) continue;
    const pos = (at - tr.base + size) % size;
    if (pos + chunk.byteLength <= limit) return pos;
  }
  return -1;
}

function placeChunk(tr: StreamTrack, chunk: Uint8Array, t: number): void {
  const len = chunk.byteLength;
  let pos = tr.expected;
  let continued = true;
  if (!matchesAt(tr, chunk, pos)) {
    continued = false;
    tr.jumps++;
    pos = locate(tr, chunk);
    if (pos < 0) {
      tr.unmatchedBytes += len;
      tr.expected = -1;
      return;
    }
  }
  const end = pos + len;
  const F = tr.frameBytes;
  const live = continued && pos % F === 0 && (len === F || end === tr.totalBytes);
  // Frames whose last byte lies in (pos, end].
  const lastFrame = end >= tr.totalBytes ? tr.arrival.length - 1 : Math.floor(end / F) - 1;
  for (let k = Math.floor(pos / F); k <= lastFrame; k++) {
    if (Math.min((k + 1) * F, tr.totalBytes) <= pos) continue;
    if (Number.isNaN(tr.arrival[k]!)) {
      tr.arrival[k] = t;
      tr.live[k] = live ? 1 : 0;
      tr.framesArrived++;
    }
  }
  const fresh = Math.max(0, end - Math.max(pos, tr.maxEnd));
  tr.duplicateBytes += len - fresh;
  tr.maxEnd = Math.max(tr.maxEnd, end);
  tr.expected = end;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every `stepMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 5): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) return false;
    await sleep(stepMs);
  }
  return true;
}
