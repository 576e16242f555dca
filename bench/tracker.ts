/**
 * Per-session record of what reached the engine emulator, fed by its
 * onFrameArrival hook (same process, same performance.now() clock as the
 * clients' send times).
 */
import type { FrameArrivalHook } from "../tools/emulator/server";

export interface Track {
  /** Arrival time of frame i (in arrival order), for the first `times.length` frames. */
  times: Float64Array;
  frames: number;
  bytes: number;
  first: number;
  last: number;
}

export class ArrivalTracker {
  readonly #tracks = new Map<string, Track>();

  readonly hook: FrameArrivalHook = (key, bytes, t) => {
    const tr = this.#tracks.get(key);
    if (!tr) return;
    if (tr.frames < tr.times.length) tr.times[tr.frames] = t;
    tr.frames++;
    tr.bytes += bytes;
    if (tr.first < 0) tr.first = t;
    tr.last = t;
  };

  /** Start tracking `key`, keeping arrival times of its first `keepTimes` frames. */
  track(key: string, keepTimes: number): Track {
    const tr: Track = { times: new Float64Array(keepTimes), frames: 0, bytes: 0, first: -1, last: -1 };
    this.#tracks.set(key, tr);
    return tr;
  }

  untrack(key: string): void {
    this.#tracks.delete(key);
  }
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
