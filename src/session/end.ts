/**
 * How a session ends, once, whatever asked for it: the engine's last results
 * and the recording's completion side by side, the final ack, then
 * `session.end` (never waiting for Redis or the Queue: the job id was fixed
 * and reserved at the start), then the close, unless the client awaits the
 * enhanced result on this socket.
 */
import type { AudioConverter } from "../audio/convert";
import { roundMs, streamSeconds } from "../audio/format";
import { errorMessage, log } from "../log";
import { WARNING_CODES } from "../protocol/messages";
import type { Recorder } from "../recorder/recorder";
import type { EndReason } from "../store/records";
import { joinFinals } from "./after-end";
import type { AudioLimit } from "./audio-limit";
import type { ClientSockets } from "./client-sockets";
import type { CloseSpec } from "./close";
import type { EngineLink } from "./engine-link";
import type { EnhancementPush } from "./enhancement-push";
import type { StreamProgress } from "./progress";
import type { SessionMeta, SessionState } from "./state";

export interface EndDeps {
  state: SessionState;
  clients: ClientSockets;
  recorder: Recorder;
  link: EngineLink | null;
  converter: AudioConverter | null;
  audioLimit: AudioLimit;
  progress: StreamProgress;
  push: EnhancementPush;
  /** How long the engine's last results are waited for (ENGINE_END_TIMEOUT_MS). */
  endTimeoutMs: number;
  /** Make everything handled so far durable (the recorder's buffer and the stream position). */
  checkpoint(): void;
}

export async function finishSession(deps: EndDeps, reason: EndReason, close: CloseSpec): Promise<void> {
  const { state, clients, recorder } = deps;
  const meta = state.update({ phase: "ending", endReason: reason });
  const started = Date.now();
  deps.audioLimit.stop();
  if (close.error) clients.emit({ type: "error", code: close.error.code, message: close.error.message, recoverable: false });
  const tail = deps.converter?.flush();
  if (tail && tail.byteLength > 0) {
    recorder.append(tail);
    deps.link?.feed(tail, started);
  }
  deps.checkpoint();
  // Where the end's time goes, for the log line (operators and the concurrent-end benchmark read it).
  const took = { engine_ms: 0, recording_ms: 0 };
  const engineDone = (deps.link?.finish(deps.endTimeoutMs) ?? Promise.resolve()).then(() => {
    took.engine_ms = Date.now() - started;
  });
  let status: SessionMeta["status"] = reason === "client_gone" ? "interrupted" : "completed";
  let recordingError: string | null = null;
  let recording;
  try {
    [recording] = await Promise.all([recorder.finish().finally(() => (took.recording_ms = Date.now() - started)), engineDone]);
  } catch (err) {
    // The spool still holds every byte; the alarm retries (after-end.ts retryRecording).
    await engineDone;
    status = "failed";
    recordingError = `recording could not be completed yet: ${errorMessage(err)}`;
    log("error", "recording.failed", { session_id: meta.sessionId, message: errorMessage(err) });
  }

  const finals = state.finals();
  const recordedBytes = recording?.dataBytes ?? recorder.recordedBytes;
  const durationSeconds = roundMs(streamSeconds(recordedBytes));
  const endedAt = Date.now();
  const dropped = deps.audioLimit.totals;
  state.update({ phase: "ended", status, endedAt });
  state.queueRecord({
    status,
    ended_at: new Date(endedAt).toISOString(),
    end_reason: reason,
    duration_seconds: durationSeconds,
    bytes_recorded: recordedBytes,
    bytes_dropped: dropped.bytes,
    audio_key: recording ? recording.key : null,
    error: recordingError,
  });
  // The client is warned only when the store had already failed and is being retried.
  if (meta.jobId && state.meta.storeAttempts > 0) {
    clients.emit({
      type: "warning",
      code: WARNING_CODES.enhancementDeferred,
      message: "the store is not reachable right now; the enhancement job is created and queued by automatic retries",
    });
  }
  // Always one ack right before session.end: the whole stream, as the recording holds it.
  deps.progress.finalAck();
  clients.emit({
    type: "session.end",
    session_id: meta.sessionId,
    total_duration: durationSeconds,
    transcript: joinFinals(finals),
    segments: finals.map((f) => ({ start: f.start, end: f.end, text: f.text })),
    enhancement_job_id: meta.jobId,
    bytes_dropped: dropped.bytes,
  });
  // A client awaiting the enhancement keeps its socket (closed by the push, or by its deadline).
  const held = deps.push.holdOpen({ sessionId: meta.sessionId, jobId: meta.jobId, askedInUrl: meta.config.await_enhancement === true, closeCode: close.code });
  if (held) state.update({ pushAwaited: true });
  else clients.closeSession(close);
  log("info", "session.end", {
    session_id: meta.sessionId,
    reason,
    status,
    duration_seconds: durationSeconds,
    end_ms: Date.now() - started,
    ...took,
    enhancement_job_id: meta.jobId,
    bytes_dropped: dropped.bytes,
  });
}
