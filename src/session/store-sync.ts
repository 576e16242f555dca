/**
 * What a session owes the store, written idempotently from its persisted
 * state: the session record's pending fields, then (once the session ended
 * with its recording complete) the enhancement job with its two-way link, the
 * queue message, and the release of the key's concurrency slot. Each step is
 * marked done in the session's SQLite state, so a retry after any failure
 * (including a restart) picks up exactly where this left off: one job, one
 * link, at least one message (the consumer is idempotent).
 */
import type { AppEnv } from "../config";
import { log } from "../log";
import { AuthStore } from "../store/auth";
import { r2Keys } from "../store/keys";
import { jobMessage, jobParameters, pendingJob, type JobRecord } from "../store/records";
import { createRedis } from "../store/redis";
import { Store } from "../store/store";
import type { SessionMeta, SessionState } from "./state";

export interface SyncOptions {
  ttlSeconds: number;
  /** Per-request timeout: a dead Redis must not hold up session.end. */
  timeoutMs: number;
  recordingComplete: boolean;
  /** The recording will never be completed (retries exhausted): its job can never run. */
  recordingGaveUp: boolean;
}

/** Throws on the first step that fails; the caller schedules the retry. */
export async function syncToStore(state: SessionState, env: AppEnv, options: SyncOptions): Promise<void> {
  const redis = createRedis(env, { timeoutMs: options.timeoutMs, retries: 0 });
  const store = new Store(redis, options.ttlSeconds);
  const meta = state.meta;
  const pending = meta.pendingRecord;
  const wantsJob = meta.phase === "ended" && meta.jobId !== null && options.recordingComplete;

  if (wantsJob && !meta.jobRecorded) {
    await store.createJob(jobRecordFor(meta), pending ?? {});
    state.update({ jobRecorded: true, jobReserved: true, pendingRecord: stillPending(state, pending) });
  } else if (pending && meta.jobId !== null && !meta.jobReserved) {
    // The first write of the record also reserves the job, so the id answers GET before the session ends.
    await store.putSessionReservingJob(meta.sessionId, pending, jobRecordFor(meta));
    state.update({ jobReserved: true, pendingRecord: stillPending(state, pending) });
  } else if (pending) {
    await store.putSession(meta.sessionId, pending);
    state.update({ pendingRecord: stillPending(state, pending) });
  }

  if (options.recordingGaveUp && meta.jobId !== null && !meta.jobRecorded && !state.meta.jobAbandoned) {
    await store.updateJob(meta.jobId, {
      status: "failed",
      completed_at: new Date().toISOString(),
      error: { code: "recording_failed", message: "the session's recording could not be completed, so there is no audio to enhance" },
    });
    state.update({ jobAbandoned: true });
  }

  if (wantsJob && !state.meta.jobQueued) {
    const job = jobRecordFor(state.meta);
    if (state.meta.queueSendFailuresToInject > 0) {
      state.update({ queueSendFailuresToInject: state.meta.queueSendFailuresToInject - 1 });
      throw new Error("queue send failed (injected by x-dev-faults)");
    }
    await env.ENHANCEMENT_QUEUE.send(jobMessage(job));
    state.update({ jobQueued: true });
    log("info", "job.queued", { session_id: meta.sessionId, job_id: job.id });
  }

  if (state.meta.phase === "ended" && state.meta.holdsSlot && !state.meta.slotReleased) {
    await new AuthStore(redis).releaseSlot(meta.owner, meta.sessionId);
    state.update({ slotReleased: true });
  }
}

/** Fields queued while a write was in flight stay pending; the written ones are done. */
function stillPending(state: SessionState, written: SessionMeta["pendingRecord"]): SessionMeta["pendingRecord"] {
  const now = state.meta.pendingRecord;
  if (!now || !written || now === written) return null;
  const rest = Object.fromEntries(
    Object.entries(now).filter(([k, v]) => JSON.stringify((written as Record<string, unknown>)[k]) !== JSON.stringify(v)),
  );
  return Object.keys(rest).length > 0 ? rest : null;
}

/** The session's enhancement job (DESIGN §5): diarized, word-timed, with the requested extras. */
export function jobRecordFor(meta: SessionMeta): JobRecord {
  return pendingJob({
    id: meta.jobId!,
    owner: meta.owner,
    created_at: new Date(meta.endedAt ?? meta.createdAt).toISOString(),
    source: "session",
    source_session_id: meta.sessionId,
    parameters: jobParameters({
      llm_cleanup: meta.config.enhance_llm_cleanup,
      emotions: meta.config.enhance_emotions,
      num_speakers: meta.config.num_speakers,
      language: meta.config.language,
    }),
    audio_key: r2Keys.recording(meta.sessionId),
    webhook_url: meta.config.enhance_webhook_url ?? null,
  });
}
