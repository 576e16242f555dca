/**
 * What a session owes the store, written idempotently from its persisted
 * state: the session record's pending fields, then (once the session ended
 * with its recording complete) the enhancement job with its two-way link, the
 * queue message, and the release of the key's concurrency slot. Each step is
 * marked done in the session's SQLite state, so a retry after any failure
 * (including a restart) picks up exactly where this left off: one job, one
 * link, at least one message (the consumer is idempotent).
 */
import { readConfig, type AppEnv } from "../config";
import { errorMessage, log } from "../log";
import { AuthStore } from "../store/auth";
import { r2Keys } from "../store/keys";
import { jobMessage, jobParameters, pendingJob, type JobRecord, type SessionRecord } from "../store/records";
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
  // The lease is read here, not passed in: the session object hands over only what it already had.
  const store = new Store(redis, { recordTtlSeconds: options.ttlSeconds, jobLeaseSeconds: readConfig(env).store.jobLeaseSeconds });
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

/** The session record as it is written at the start. */
export function startRecord(meta: SessionMeta): SessionRecord {
  return {
    id: meta.sessionId,
    owner: meta.owner,
    status: "active",
    params: meta.config,
    created_at: new Date(meta.createdAt).toISOString(),
    ended_at: null,
    end_reason: null,
    duration_seconds: 0,
    bytes_recorded: 0,
    bytes_dropped: 0,
    audio_key: null,
    transcript_key: null,
    enhancement_job_id: meta.jobId,
    error: null,
  };
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
    push: meta.pushAwaited === true,
  });
}

/**
 * Per-request timeout of the outbox. Nothing a client waits for is on this
 * path (session.end does not wait for the store), so it can be generous: a
 * slow Redis is waited for, a dead one is retried by alarm.
 */
export const STORE_TIMEOUT_MS = 10_000;
const MAX_STORE_BACKOFF_MS = 60_000;

/**
 * The session's outbox to the store: one sync at a time, each picking up
 * whatever is owed then; a failure sets a backoff (`storeRetryAt`) that the
 * session's alarm honours.
 */
export class StoreOutbox {
  readonly #state: SessionState;
  readonly #env: AppEnv;
  readonly #ttlSeconds: number;
  readonly #recording: () => { complete: boolean; gaveUp: boolean };
  readonly #onFailure: () => Promise<void>;
  #inFlight: Promise<void> | null = null;

  /**
   * @param recording what the recorder says now (a job is only created for a complete recording)
   * @param onFailure called after a failed sync set its backoff: the session reschedules its alarm
   */
  constructor(
    state: SessionState,
    env: AppEnv,
    ttlSeconds: number,
    recording: () => { complete: boolean; gaveUp: boolean },
    onFailure: () => Promise<void>,
  ) {
    this.#state = state;
    this.#env = env;
    this.#ttlSeconds = ttlSeconds;
    this.#recording = recording;
    this.#onFailure = onFailure;
  }

  /**
   * Write what the store is missing. Calls made while a sync is in flight run
   * again after it, so fields queued meanwhile are not left for the alarm.
   * Never throws: a failure is logged and left to the alarm.
   */
  sync(): Promise<void> {
    const previous = this.#inFlight ?? Promise.resolve();
    const next = previous.then(() => this.#run());
    this.#inFlight = next;
    void next.finally(() => {
      if (this.#inFlight === next) this.#inFlight = null;
    });
    return next;
  }

  async #run(): Promise<void> {
    const recording = this.#recording();
    try {
      await syncToStore(this.#state, this.#env, {
        ttlSeconds: this.#ttlSeconds,
        timeoutMs: STORE_TIMEOUT_MS,
        recordingComplete: recording.complete,
        recordingGaveUp: recording.gaveUp,
      });
      this.#state.update({ storeAttempts: 0, storeRetryAt: null });
    } catch (err) {
      const attempts = this.#state.meta.storeAttempts + 1;
      const delay = Math.min(MAX_STORE_BACKOFF_MS, 1000 * 2 ** (attempts - 1));
      this.#state.update({ storeAttempts: attempts, storeRetryAt: Date.now() + delay });
      log("warn", "store.sync_failed", { session_id: this.#state.meta.sessionId, attempts, retry_in_ms: delay, message: errorMessage(err) });
      await this.#onFailure();
    }
  }
}
