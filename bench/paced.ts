/**
 * Real-time paced sessions: N sockets each send one 20 ms frame (640 bytes of
 * 16 kHz s16le) every 20 ms, either through the service or straight to the
 * emulator, and the one-way latency of every frame is send time (client,
 * performance.now() just before ws.send) to arrival time (emulator hook, same
 * clock). Frames are matched by session key + order.
 */
import { closeSocket, endSession, mapLimit, openDirect, openService, type BenchSocket } from "./session";
import { summarize, type Summary } from "./stats";
import { sleep, waitFor, type ArrivalTracker, type Track } from "./tracker";

export const FRAME_BYTES = 640;
export const FRAME_MS = 20;
/** Session starts are spread over this much time. */
export const STAGGER_MS = 1000;
/**
 * With RECORDER_BUFFER_MS = 1000 the recorder spools its memory buffer to
 * SQLite when it holds 32,000 bytes: on every 50th 640-byte frame (the probe
 * frame included), synchronously, before that frame is relayed.
 */
export const FRAMES_PER_SPOOL = 50;

export interface PacedOptions {
  target: "service" | "direct";
  sessions: number;
  /** Measured frames per session. */
  frames: number;
  /** Frames per session sent at pace before the measured ones (excluded from latency). */
  warmupFrames: number;
  audio: Uint8Array;
  serviceWsBase: string;
  emulatorWsUrl: string;
  tracker: ArrivalTracker;
  label: string;
  log: (line: string) => void;
  /** Called when every session is past its warm-up, and again when the last measured frame was sent. */
  window?: { onStart?: () => void; onEnd?: () => void };
  /** Extra service query (e.g. enable_vad=false). */
  query?: string;
  connectConcurrency?: number;
  /** Every measured frame that arrived (for time-series analysis). */
  onFrame?: (sendMs: number, latencyMs: number, session: number, frame: number) => void;
}

export interface PacedResult {
  target: "service" | "direct";
  sessions: number;
  connected: number;
  connectFailures: number;
  connectFailureSamples: string[];
  /** Sessions whose probe frame never reached the engine. */
  probeFailures: number;
  framesSent: number;
  bytesSent: number;
  bytesArrived: number;
  /** Measured frames (after warm-up) with an arrival time. */
  latency: Summary;
  /** Measured frames that are every FRAMES_PER_SPOOL-th frame of their session (see FRAMES_PER_SPOOL) … */
  latencySpoolFrames: Summary;
  /** … and all the other measured frames. */
  latencyOtherFrames: Summary;
  /** Measured frames sent but never seen by the engine. */
  missingFrames: number;
  /** bytes sent − bytes the engine received, summed over sessions. */
  lostBytes: number;
  sessionsWithLoss: number;
  /** Frames the engine received that were not sent (duplicates). */
  extraBytes: number;
  /** Service only: sessions that got session.end after `end`. */
  sessionEnds: number;
  errors: number;
  errorSamples: string[];
  /** How late the pacer sent frames relative to their 20 ms schedule. */
  lag: Summary;
  /** Wall time of the paced part (first frame due → last frame sent), s. */
  pacedSeconds: number;
  /** Node (load generator + emulator) CPU seconds over the window. */
  nodeCpuS: number;
  windowSeconds: number;
}

interface Sess {
  i: number;
  sock: BenchSocket;
  track: Track;
  sendTimes: Float64Array;
  lags: Float64Array;
  sent: number;
  bytesSent: number;
}

export async function runPaced(o: PacedOptions): Promise<PacedResult> {
  const total = 1 + o.warmupFrames + o.frames; // frame 0 is the probe
  const audioFrames = Math.floor(o.audio.byteLength / FRAME_BYTES);
  const frameAt = (i: number, k: number) => {
    const idx = (i * 997 + k) % audioFrames;
    return o.audio.subarray(idx * FRAME_BYTES, (idx + 1) * FRAME_BYTES);
  };
  const connectFailures: string[] = [];
  const run = Math.random().toString(36).slice(2, 8);

  // Connect (and register each key before any of its frames can arrive).
  const opened = await mapLimit(
    Array.from({ length: o.sessions }, (_, i) => i),
    o.connectConcurrency ?? 16,
    async (i): Promise<Sess | null> => {
      try {
        const sock =
          o.target === "service"
            ? await openService(o.serviceWsBase, o.query ?? "")
            : await openDirect(o.emulatorWsUrl, `bench-${o.label}-${run}-${i}`);
        const track = o.tracker.track(sock.key, total);
        return { i, sock, track, sendTimes: new Float64Array(total), lags: new Float64Array(total), sent: 0, bytesSent: 0 };
      } catch (err) {
        connectFailures.push((err as Error).message);
        return null;
      }
    },
  );
  const sessions = opened.filter((s): s is Sess => s !== null);
  o.log(`${o.label}: ${sessions.length}/${o.sessions} ${o.target} sessions connected`);

  const send = (s: Sess, k: number): void => {
    const frame = frameAt(s.i, k);
    const t = performance.now();
    s.sendTimes[k] = t;
    s.sock.ws.send(frame);
    s.sent++;
    s.bytesSent += frame.byteLength;
  };

  // Probe: one frame each, and wait until it reached the engine (the service's engine link is open).
  for (const s of sessions) send(s, 0);
  await waitFor(() => sessions.every((s) => s.track.frames >= 1), 30_000, 10);
  const probeFailures = sessions.filter((s) => s.track.frames < 1).length;

  // Paced sending. Real clients start at random moments: session i starts at
  // t0 + frac(i·φ)·1 s (golden-ratio sequence), which spreads the sends over
  // the 20 ms frame period and the sessions' 1 s recorder-buffer cycles alike.
  const t0 = performance.now() + 50;
  const offsetMs = (i: number) => ((i * 0.6180339887498949) % 1) * STAGGER_MS;
  const windowStart = t0 + STAGGER_MS + o.warmupFrames * FRAME_MS;
  // The steady window: every session is past its warm-up and none has finished.
  const windowEnd = t0 + (total - 1) * FRAME_MS;
  let cpuAtStart: NodeJS.CpuUsage | null = null;
  let windowStartedAt = NaN;
  let nodeCpuS = NaN;
  let windowSeconds = NaN;
  const startTimer = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
    windowStartedAt = performance.now();
    o.window?.onStart?.();
  }, Math.max(0, windowStart - performance.now()));
  const endTimer = setTimeout(() => {
    if (cpuAtStart) {
      const used = process.cpuUsage(cpuAtStart);
      nodeCpuS = (used.user + used.system) / 1e6;
      windowSeconds = (performance.now() - windowStartedAt) / 1000;
      o.window?.onEnd?.();
    }
  }, Math.max(0, windowEnd - performance.now()));

  await Promise.all(
    sessions.map(
      (s) =>
        new Promise<void>((resolve) => {
          const start = t0 + offsetMs(s.i);
          let k = 1;
          const tick = (): void => {
            const now = performance.now();
            while (k < total) {
              const due = start + (k - 1) * FRAME_MS;
              if (due > now + 0.25) break;
              if (!s.sock.isOpen()) return resolve();
              s.lags[k] = performance.now() - due;
              send(s, k);
              k++;
            }
            if (k >= total) return resolve();
            setTimeout(tick, Math.max(0, start + (k - 1) * FRAME_MS - performance.now()));
          };
          setTimeout(tick, Math.max(0, start - performance.now()));
        }),
    ),
  );
  const pacedEnd = performance.now();
  clearTimeout(startTimer);
  clearTimeout(endTimer);

  // Let the last frames land.
  await waitFor(() => sessions.every((s) => s.track.frames >= s.sent || !s.sock.isOpen()), 15_000, 10);

  // Latency of measured frames.
  const latencies: number[] = [];
  const spoolLat: number[] = [];
  const otherLat: number[] = [];
  const lags: number[] = [];
  let missingFrames = 0;
  for (const s of sessions) {
    for (let k = 1 + o.warmupFrames; k < s.sent; k++) {
      lags.push(s.lags[k]!);
      if (k < s.track.frames) {
        const ms = s.track.times[k]! - s.sendTimes[k]!;
        latencies.push(ms);
        o.onFrame?.(s.sendTimes[k]!, ms, s.i, k);
        ((k + 1) % FRAMES_PER_SPOOL === 0 ? spoolLat : otherLat).push(ms);
      } else missingFrames++;
    }
  }

  // End every session; after session.end the engine has seen all the audio it will ever get.
  let sessionEnds = 0;
  await mapLimit(sessions, 50, async (s) => {
    if (o.target === "service") {
      const { end } = await endSession(s.sock, 60_000);
      if (end) sessionEnds++;
    } else {
      await endSession(s.sock, 10_000);
    }
    await closeSocket(s.sock);
  });
  await sleep(50);

  let bytesSent = 0;
  let bytesArrived = 0;
  let lostBytes = 0;
  let extraBytes = 0;
  let sessionsWithLoss = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  for (const s of sessions) {
    bytesSent += s.bytesSent;
    bytesArrived += s.track.bytes;
    const diff = s.bytesSent - s.track.bytes;
    if (diff > 0) {
      lostBytes += diff;
      sessionsWithLoss++;
    } else if (diff < 0) {
      extraBytes -= diff;
      sessionsWithLoss++;
    }
    errors += s.sock.errorCount;
    for (const e of s.sock.errorSamples) if (errorSamples.length < 5) errorSamples.push(e);
    o.tracker.untrack(s.sock.key);
  }

  return {
    target: o.target,
    sessions: o.sessions,
    connected: sessions.length,
    connectFailures: connectFailures.length,
    connectFailureSamples: connectFailures.slice(0, 5),
    probeFailures,
    framesSent: sessions.reduce((n, s) => n + s.sent, 0),
    bytesSent,
    bytesArrived,
    latency: summarize(latencies),
    latencySpoolFrames: summarize(spoolLat),
    latencyOtherFrames: summarize(otherLat),
    missingFrames,
    lostBytes,
    sessionsWithLoss,
    extraBytes,
    sessionEnds: o.target === "service" ? sessionEnds : sessions.length,
    errors,
    errorSamples,
    lag: summarize(lags),
    pacedSeconds: (pacedEnd - t0) / 1000,
    nodeCpuS,
    windowSeconds,
  };
}
