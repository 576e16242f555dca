/**
 * Concurrent ends: N real-time sessions with enhance_on_end=true, started
 * together, streamed at real-time pace, all sending `end` within the same
 * second. Measures `end` → `session.end` per session (the client's view),
 * counts warnings (a spurious `enhancement_deferred` is a defect when nothing
 * failed), then waits for every job to complete. A single session ending
 * alone, in the same run, is the baseline.
 */
import { endSession, mapLimit, openDirect, openService, closeSocket, type BenchSocket } from "./session";
import { summarize, type Summary } from "./stats";
import { sleep } from "./tracker";

export interface ConcurrentEndResult {
  /** service: through the worker; direct: straight to the engine emulator (no jobs), the same run's floor. */
  target: "service" | "direct";
  sessions: number;
  audioSeconds: number;
  /** Spread of the `end` sends (first to last), ms. */
  endSpreadMs: number;
  endToSessionEnd: Summary;
  missingEnds: number;
  warnings: number;
  warningSamples: string[];
  errors: number;
  jobs: { total: number; completed: number; failed: number; other: number; lastCompletedS: number | null };
}

const FRAME_MS = 100;

export async function concurrentEnds(opts: {
  target: "service" | "direct";
  wsBase: string;
  emulatorWsUrl: string;
  serviceUrl: string;
  sessions: number;
  pcm: Uint8Array;
  jobTimeoutMs: number;
}): Promise<ConcurrentEndResult> {
  const frameBytes = (32000 * FRAME_MS) / 1000;
  const frames = Math.floor(opts.pcm.byteLength / frameBytes);
  const sockets = await mapLimit(Array.from({ length: opts.sessions }), 16, (_, i) =>
    opts.target === "service" ? openService(opts.wsBase, "enhance_on_end=true") : openDirect(opts.emulatorWsUrl, `ce-direct-${Date.now()}-${i}`),
  );
  // Real-time pace from one clock for all sessions, so they all reach `end` within the same moment.
  const t0 = performance.now();
  for (let f = 0; f < frames; f++) {
    const due = t0 + f * FRAME_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const frame = opts.pcm.subarray(f * frameBytes, (f + 1) * frameBytes);
    for (const s of sockets) if (s.isOpen()) s.ws.send(frame);
  }
  await sleep(FRAME_MS);
  const sendTimes: number[] = [];
  const ends = await Promise.all(
    sockets.map((s) => {
      sendTimes.push(performance.now());
      return endSession(s, 60_000);
    }),
  );
  const tEnded = performance.now();
  const result: ConcurrentEndResult = {
    target: opts.target,
    sessions: opts.sessions,
    audioSeconds: (frames * FRAME_MS) / 1000,
    endSpreadMs: Math.max(...sendTimes) - Math.min(...sendTimes),
    endToSessionEnd: summarize(ends.filter((e) => e.end !== null).map((e) => e.ms)),
    missingEnds: ends.filter((e) => e.end === null).length,
    warnings: sum(sockets, (s) => s.warningCount),
    warningSamples: sockets.flatMap((s) => s.warningSamples).slice(0, 5),
    errors: sum(sockets, (s) => s.errorCount),
    jobs: await waitForJobs(
      opts.serviceUrl,
      ends.map((e) => (e.end?.enhancement_job_id as string | undefined) ?? null),
      tEnded,
      opts.jobTimeoutMs,
    ),
  };
  await Promise.all(sockets.map((s) => closeSocket(s)));
  return result;
}

async function waitForJobs(serviceUrl: string, ids: (string | null)[], since: number, timeoutMs: number): Promise<ConcurrentEndResult["jobs"]> {
  const status = new Map<string, string>();
  const known = ids.filter((id): id is string => id !== null);
  let lastCompletedS: number | null = null;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const open = known.filter((id) => !["completed", "failed"].includes(status.get(id) ?? ""));
    if (open.length === 0) break;
    await mapLimit(open, 8, async (id) => {
      const res = await fetch(`${serviceUrl}/v1/audio/transcriptions/${id}`);
      if (res.status !== 200) return;
      const s = ((await res.json()) as { status: string }).status;
      status.set(id, s);
      if (s === "completed") lastCompletedS = (performance.now() - since) / 1000;
    });
    await sleep(500);
  }
  const count = (s: string) => known.filter((id) => status.get(id) === s).length;
  return {
    total: ids.length,
    completed: count("completed"),
    failed: count("failed"),
    other: ids.length - count("completed") - count("failed"),
    lastCompletedS,
  };
}

const sum = (sockets: BenchSocket[], f: (s: BenchSocket) => number) => sockets.reduce((a, s) => a + f(s), 0);
