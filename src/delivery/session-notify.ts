/**
 * The pipeline's way to a session object: a Durable Object RPC call with an
 * {@link EnhancementUpdate}. Stage changes are best effort (a lost one only
 * costs a status line); a finished job that could not be told is retried
 * through the queue with backoff, so a waiting socket still gets its result.
 */
import type { AppEnv } from "../config";
import { errorMessage, log } from "../log";
import type { JobRecord } from "../store/records";
import type { PushMessage } from "./messages";
import type { EnhancementUpdate } from "./push-types";

/** Queued retries of a final update that failed to reach the session (then its wait times out). */
export const MAX_PUSH_ATTEMPTS = 5;
const PUSH_RETRY_BASE_SECONDS = 2;

export async function tellSession(env: AppEnv, sessionId: string, update: EnhancementUpdate): Promise<void> {
  const stub = env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));
  await stub.enhancementUpdate(update);
}

/** A stage started: tell the session, never fail the job for it. */
export async function tellStage(env: AppEnv, job: JobRecord, stage: string): Promise<void> {
  // Only a client waiting on its socket hears stages: otherwise every stage would wake the object for nobody.
  if (!job.source_session_id || job.push !== true) return;
  await tellSession(env, job.source_session_id, { kind: "status", job_id: job.id, status: "processing", stage }).catch((err) =>
    log("warn", "push.stage_failed", { job_id: job.id, stage, message: errorMessage(err) }),
  );
}

/** The final update of a finished job, or null while it is not finished. */
export function finalUpdate(job: JobRecord): EnhancementUpdate | null {
  if (job.status === "completed" && job.result_key) return { kind: "completed", job_id: job.id, result_key: job.result_key };
  if (job.status === "failed") {
    return { kind: "failed", job_id: job.id, error: job.error ?? { code: "internal_error", message: "the enhancement failed" } };
  }
  return null;
}

/** Tell the session its job finished; on failure queue attempt `attempt + 1` (up to MAX_PUSH_ATTEMPTS). */
export async function tellFinished(env: AppEnv, job: JobRecord, attempt = 1): Promise<void> {
  const update = finalUpdate(job);
  if (!job.source_session_id || !update || job.push !== true) return;
  try {
    await tellSession(env, job.source_session_id, update);
  } catch (err) {
    log("warn", "push.final_failed", { job_id: job.id, attempt, message: errorMessage(err) });
    if (attempt >= MAX_PUSH_ATTEMPTS) return;
    const message: PushMessage = { kind: "push", job_id: job.id, session_id: job.source_session_id, attempt: attempt + 1 };
    await env.ENHANCEMENT_QUEUE.send(message, { delaySeconds: PUSH_RETRY_BASE_SECONDS * 2 ** (attempt - 1) });
  }
}
