/**
 * Real-time paced sessions: N sockets each send one 20 ms frame (640 bytes of
 * 16 kHz s16le) every 20 ms, either through the service or straight to the
 * emulator. A frame's one-way latency is its send time (client,
 * performance.now() just before ws.send) to the first time its last byte
 * reached the engine (emulator hook, same process and clock). Frames are
 * matched per session key by their place in the session's stream (order, and
 * content when the engine link re-sends audio after a reconnect).
 */
import type { EmulatorStats } from "../tools/emulator/server";
import { closeSocket, endSession, mapLimit, openDirect, openService, type BenchSocket } from "./session";
import { summarize, type Summary } from "./stats";
import { sleep, waitFor, type ArrivalTracker, type StreamTrack } from "./tracker";

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
  /** Unique (dithered) audio, a whole number of frames long. */
  audio: Buffer;
  serviceWsBase: string;
  emulatorWsUrl: string;
  emulatorStats: () => EmulatorStats;
  tracker: ArrivalTracker;
  label: string;
  log: (line: string) => void;
  /** Called when every session is past its warm-up and sending, and when the first one is done. */
  window?: { onStart?: () => void; onEnd?: () => void };
  /** Service query string. */
  query?: string;
  connectConcurrency?: number;
  /** Every measured frame that arrived (for time-series analysis). */
  onFrame?: (sendMs: number, latencyMs: number, session: number, frame: number, live: boolean) => void;
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
  /** Bytes the engine received, re-sent ones included. */
  bytesReceived: number;
  /** Sent frames that never reached the engine (checked after session.end). */
  lostFrames: number;
  sessionsWithLoss: number;
  /** Sessions whose engine received more bytes than were sent (re-sends). */
  sessionsWithExtraBytes: number;
  duplicateBytes: number;
  unmatchedBytes: number;
  /** Engine connections per session beyond the first (emulator stats). */
  engineReconnects: number;
  sessionsWithReconnects: number;
  /** Latency of measured frames (after warm-up) that arrived. */
  latency: Summary;
  /** … only those that reached the engine as live relayed frames (not inside a re-sent backlog). */
  latencyLive: Summary;
  /** … every FRAMES_PER_SPOOL-th frame of a session (see FRAMES_PER_SPOOL), live only … */
  latencySpoolFrames: Summary;
  /** … and the other live frames. */
  latencyOtherFrames: Summary;
  /** Measured frames that had not arrived 15 s after the last send. */
  lateFrames: number;
  /** Service only: sessions that got session.end after `end`. */
  sessionEnds: number;
  errors: number;
  errorSamples: string[];
  warnings: number;
  warningSamples: string[];
  /** How late the pacer sent frames relative to their 20 ms schedule. */
  lag: Summary;
  /** Node (load generator + emulator) CPU seconds over the window, and the window's length. */
  nodeCpuS: number;
  windowSeconds: number;
}

interface Sess {
  i: number;
  sock: BenchSocket;
  track: StreamTrack;
  sendTimes: Float64Array;
  lags: Float64Array;
  sent: number;
  bytesSent: number;
}

export async function runPaced(o: PacedOptions): Promise<PacedResult> {
  if (o.audio.byteLength % FRAME_BYTES !== 0) throw new Error("audio must be a whole number of frames");
  const total = 1 + o.warmupFrames + o.frames; // frame 0 is the probe
  const audioFrames = o.audio.byteLength / FRAME_BYTES;
  const baseFrame = (i: number) => (i * 997) % audioFrames;
  const frameAt = (i: number, k: number) => {
    const idx = (baseFrame(i) + k) % audioFrames;
    return o.audio.subarray(idx * FRAME_BYTES, (idx + 1) * FRAME_BYTES);
  };
  const connectFailures: string[] = [];
  const run = Math.random().toString(36).slice(2, 8);

  // Connect, and register each key before any of its frames can arrive.
  const opened = await mapLimit(
    Array.from({ length: o.sessions }, (_, i) => i),
    o.connectConcurrency ?? 16,
    async (i): Promise<Sess | null> => {
      try {
        const sock =
          o.target === "service"
            ? await openService(o.serviceWsBase, o.query ?? "")
            : await openDirect(o.emulatorWsUrl, `bench-${o.label}-${run}-${i}`);
        const track = o.tracker.stream(sock.key, o.audio, baseFrame(i), total * FRAME_BYTES, FRAME_BYTES);
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
    s.sendTimes[k] = performance.now();
    s.sock.ws.send(frame);
    s.sent++;
    s.bytesSent += frame.byteLength;
  };

  // Probe: one frame each, and wait until it reached the engine (the engine link is open).
  for (const s of sessions) send(s, 0);
  await waitFor(() => sessions.every((s) => s.track.framesArrived >= 1), 30_000, 10);
  const probeFailures = sessions.filter((s) => s.track.framesArrived < 1).length;

  // Paced sending. Real clients start at random moments: session i starts at
  // t0 + frac(i·φ)·1 s (golden-ratio sequence), which spreads the sends over
  // the 20 ms frame period and over the sessions' 1 s recorder-buffer cycles.
  const t0 = performance.now() + 50;
  const offsetMs = (i: number) => ((i * 0.6180339887498949) % 1) * STAGGER_MS;
  // The steady window: every session is past its warm-up and none has finished.
  const windowStart = t0 + STAGGER_MS + o.warmupFrames * FRAME_MS;
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
    if (!cpuAtStart) return;
    const used = process.cpuUsage(cpuAtStart);
    nodeCpuS = (used.user + used.system) / 1e6;
    windowSeconds = (performance.now() - windowStartedAt) / 1000;
    o.window?.onEnd?.();
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
  clearTimeout(startTimer);
  clearTimeout(endTimer);

  // Let the last frames land.
  await waitFor(() => sessions.every((s) => s.track.framesArrived >= s.sent || !s.sock.isOpen()), 15_000, 10);

  const latencies: number[] = [];
  const liveLat: number[] = [];
  const spoolLat: number[] = [];
  const otherLat: number[] = [];
  const lags: number[] = [];
  let lateFrames = 0;
  for (const s of sessions) {
    for (let k = 1 + o.warmupFrames; k < s.sent; k++) {
      lags.push(s.lags[k]!);
      const at = s.track.arrival[k]!;
      if (Number.isNaN(at)) {
        lateFrames++;
        continue;
      }
      const ms = at - s.sendTimes[k]!;
      const live = s.track.live[k] === 1;
      latencies.push(ms);
      if (live) {
        liveLat.push(ms);
        ((k + 1) % FRAMES_PER_SPOOL === 0 ? spoolLat : otherLat).push(ms);
      }
      o.onFrame?.(s.sendTimes[k]!, ms, s.i, k, live);
    }
  }

  // End every session; after session.end the engine has seen all the audio it will ever get.
  let sessionEnds = 0;
  await mapLimit(sessions, 50, async (s) => {
    const { end } = await endSession(s.sock, o.target === "service" ? 60_000 : 10_000);
    if (end) sessionEnds++;
    await closeSocket(s.sock);
  });
  await sleep(50);

  const stats = o.emulatorStats();
  let bytesSent = 0;
  let bytesReceived = 0;
  let lostFrames = 0;
  let sessionsWithLoss = 0;
  let sessionsWithExtraBytes = 0;
  let duplicateBytes = 0;
  let unmatchedBytes = 0;
  let engineReconnects = 0;
  let sessionsWithReconnects = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let warnings = 0;
  const warningSamples: string[] = [];
  for (const s of sessions) {
    bytesSent += s.bytesSent;
    bytesReceived += s.track.bytes;
    let lost = 0;
    for (let k = 0; k < s.sent; k++) if (Number.isNaN(s.track.arrival[k]!)) lost++;
    lostFrames += lost;
    if (lost > 0) sessionsWithLoss++;
    if (s.track.bytes > s.bytesSent) sessionsWithExtraBytes++;
    duplicateBytes += s.track.duplicateBytes;
    unmatchedBytes += s.track.unmatchedBytes;
    const reconnects = Math.max(0, (stats.sessions[s.sock.key]?.connections ?? 1) - 1);
    engineReconnects += reconnects;
    if (reconnects > 0) sessionsWithReconnects++;
    errors += s.sock.errorCount;
    for (const e of s.sock.errorSamples) if (errorSamples.length < 5) errorSamples.push(e);
    warnings += s.sock.warningCount;
    for (const w of s.sock.warningSamples) if (warningSamples.length < 3 && !warningSamples.includes(w)) warningSamples.push(w);
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
    bytesReceived,
    lostFrames,
    sessionsWithLoss,
    sessionsWithExtraBytes,
    duplicateBytes,
    unmatchedBytes,
    engineReconnects,
    sessionsWithReconnects,
    latency: summarize(latencies),
    latencyLive: summarize(liveLat),
    latencySpoolFrames: summarize(spoolLat),
    latencyOtherFrames: summarize(otherLat),
    lateFrames,
    sessionEnds,
    errors,
    errorSamples,
    warnings,
    warningSamples,
    lag: summarize(lags),
    nodeCpuS,
    windowSeconds,
  };
}
