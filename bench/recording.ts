/**
 * Recording figures: one session streamed as fast as the socket drains, then
 * `end` → `session.end`, with workerd RSS sampled around it.
 */
import { closeSocket, endSession, openService, streamFast } from "./session";
import { rssKb } from "./sys";
import { sleep, waitFor, type ArrivalTracker } from "./tracker";


export interface FastSessionResult {
  audioSeconds: number;
  frameBytes: number;
  pauseBeforeEndMs: number;
  frames: number;
  /** First send (after the probe frame reached the engine) → last frame written to the kernel. */
  clientWrittenS: number;
  /** First send → the engine (emulator) has received every byte. */
  engineReceivedS: number;
  /** When the engine had the last byte, relative to sending `end` (negative: before). */
  engineAllAfterEndMs: number;
  /** Engine bytes received vs sent (re-sends after a reconnect make it larger). */
  engineBytes: number;
  /** Frames the engine never received (in full). */
  engineFramesMissing: number;
  /** Times the engine's input jumped back (re-send after an engine link reconnect). */
  engineReconnects: number;
  bytesSent: number;
  /** `end` (sent as soon as the last frame was written) → session.end received. */
  endToSessionEndMs: number;
  gotSessionEnd: boolean;
  totalDuration: number | null;
  /** Session record's bytes_recorded as the service reports it after the end. */
  bytesRecorded: number | null;
  recordingAvailable: boolean | null;
  errors: number;
  errorSamples: string[];
  warnings: number;
  /** Peak RSS (kB) of each watched pid while streaming and ending. */
  peakRssKb: number[];
}

export async function fastSession(opts: {
  serviceUrl: string;
  wsBase: string;
  /** Unique (dithered) audio: the engine's chunks are placed in the stream by content after a reconnect. */
  pcm: Buffer;
  frameBytes: number;
  tracker: ArrivalTracker;
  query?: string;
  watchPids?: number[];
  endTimeoutMs?: number;
  /** Wait this long after the last write before sending `end`. @default 0 */
  pauseBeforeEndMs?: number;
}): Promise<FastSessionResult & { sessionId: string; endMessage: Record<string, unknown> | null }> {
  const pids = opts.watchPids ?? [];
  const peak = pids.map((p) => rssKb(p));
  const sampler = setInterval(() => pids.forEach((p, i) => (peak[i] = Math.max(peak[i]!, rssKb(p)))), 250);
  try {
    const sock = await openService(opts.wsBase, opts.query ?? "");
    const track = opts.tracker.stream(sock.key, opts.pcm, 0, opts.pcm.byteLength, opts.frameBytes);
    // The first frame alone, until the engine has it: streaming flat out into a
    // link that is still connecting overflows its queue (and ends live text).
    const probe = opts.pcm.subarray(0, opts.frameBytes);
    await new Promise<void>((resolve, reject) => sock.ws.send(probe, (err) => (err ? reject(err) : resolve())));
    await waitFor(() => track.framesArrived >= 1, 30_000, 5);
    const rest = await streamFast(sock, opts.pcm.subarray(probe.byteLength), opts.frameBytes);
    const firstSendMs = rest.firstSendMs;
    const writtenMs = rest.writtenMs;
    const frames = rest.frames + 1;
    // `end` right after the last frame is written, as a client streaming a file would (or after a pause).
    if (opts.pauseBeforeEndMs) await sleep(opts.pauseBeforeEndMs);
    const endSentMs = performance.now();
    const { end, ms } = await endSession(sock, opts.endTimeoutMs ?? 120_000);
    // The service relays all audio before it ends the engine link, so by now the
    // engine has everything it will get; allow a little slack for the emulator.
    const deadline = performance.now() + 5000;
    while (track.framesArrived < track.arrival.length && performance.now() < deadline) await sleep(5);
    let engineDone = NaN;
    for (const t of track.arrival) if (!Number.isNaN(t)) engineDone = Number.isNaN(engineDone) ? t : Math.max(engineDone, t);
    await closeSocket(sock);
    opts.tracker.untrack(sock.key);
    let bytesRecorded: number | null = null;
    let recordingAvailable: boolean | null = null;
    try {
      const res = await fetch(`${opts.serviceUrl}/v1/audio/transcriptions/stream/${sock.key}`);
      if (res.ok) {
        const body = (await res.json()) as { bytes_recorded?: number; recording_available?: boolean };
        bytesRecorded = body.bytes_recorded ?? null;
        recordingAvailable = body.recording_available ?? null;
      }
    } catch {
      // Reported as null.
    }
    return {
      sessionId: sock.key,
      endMessage: end,
      audioSeconds: opts.pcm.byteLength / 32000,
      pauseBeforeEndMs: opts.pauseBeforeEndMs ?? 0,
      frameBytes: opts.frameBytes,
      frames,
      clientWrittenS: (writtenMs - firstSendMs) / 1000,
      engineReceivedS: (engineDone - firstSendMs) / 1000,
      engineAllAfterEndMs: engineDone - endSentMs,
      engineBytes: track.bytes,
      engineFramesMissing: track.arrival.length - track.framesArrived,
      engineReconnects: track.jumps,
      bytesSent: opts.pcm.byteLength,
      endToSessionEndMs: ms,
      gotSessionEnd: end !== null,
      totalDuration: end ? Number(end.total_duration) : null,
      bytesRecorded,
      recordingAvailable,
      errors: sock.errorCount,
      errorSamples: sock.errorSamples,
      warnings: sock.warningCount,
      peakRssKb: peak,
    };
  } finally {
    clearInterval(sampler);
  }
}
