/**
 * What a session still owes once `session.end` is out, besides the store
 * outbox: the live transcript copy in R2, and a recording whose completion
 * failed at the end. Both are idempotent and retried by the session's alarm.
 */
import { roundMs, streamSeconds } from "../audio/format";
import { errorMessage, log } from "../log";
import type { Recorder } from "../recorder/recorder";
import { r2Keys } from "../store/keys";
import { MAX_RECORDING_ATTEMPTS } from "./deadlines";
import type { SessionState } from "./state";

/** All finals' text, joined with single spaces (session.end `transcript`). */
export const joinFinals = (finals: { text: string }[]) =>
  finals
    .map((f) => f.text.trim())
    .filter(Boolean)
    .join(" ");

/**
 * Write `sessions/<id>/transcript.json` from the finals in SQLite, once; the
 * record names it only when it exists. A failure sets a retry time.
 */
export async function saveLiveTranscript(state: SessionState, recorder: Recorder, bucket: R2Bucket): Promise<void> {
  const meta = state.meta;
  if (meta.transcriptSaved) return;
  const finals = state.finals();
  const key = r2Keys.liveTranscript(meta.sessionId);
  const body = {
    session_id: meta.sessionId,
    duration: roundMs(streamSeconds(recorder.recordedBytes)),
    transcript: joinFinals(finals),
    segments: finals,
  };
  try {
    await bucket.put(key, JSON.stringify(body), { httpMetadata: { contentType: "application/json" } });
    state.update({ transcriptSaved: true });
    state.queueRecord({ transcript_key: key });
  } catch (err) {
    log("error", "transcript.save_failed", { session_id: meta.sessionId, message: errorMessage(err) });
    state.update({ storeRetryAt: Date.now() + 2000 });
  }
}

/** Finish a recording whose completion failed at the end; give up (and abort the upload) after a while. */
export async function retryRecording(state: SessionState, recorder: Recorder): Promise<void> {
  const meta = state.meta;
  const attempts = meta.recordingAttempts + 1;
  try {
    const recording = await recorder.finish();
    const status = meta.endReason === "client_gone" ? "interrupted" : "completed";
    state.update({ status, recordingAttempts: attempts });
    state.queueRecord({
      status,
      audio_key: recording.key,
      bytes_recorded: recording.dataBytes,
      duration_seconds: roundMs(recording.durationSeconds),
      error: null,
    });
  } catch (err) {
    const gaveUp = attempts >= MAX_RECORDING_ATTEMPTS;
    state.update({ recordingAttempts: attempts, storeRetryAt: Date.now() + Math.min(60_000, 2000 * 2 ** attempts) });
    log("error", "recording.retry_failed", { session_id: meta.sessionId, attempts, gave_up: gaveUp, message: errorMessage(err) });
    if (gaveUp) {
      await recorder.abort().catch(() => undefined);
      state.queueRecord({ error: `recording could not be completed: ${errorMessage(err)}` });
    }
  }
}
