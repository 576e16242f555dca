/**
 * How store records are shown to clients (DESIGN §5): a job, a session and a
 * session's enhancement, each as the type of its response schema (./schemas.ts),
 * so what the routes answer and what the OpenAPI document declares are one shape.
 */
import type { LiveTranscript } from "../exports/export";
import type { EnhancedTranscript } from "../pipeline/result";
import type { JobRecord, SessionRecord, WebhookState } from "../store/records";
import type { Store } from "../store/store";
import type { EnhancementView, JobView, SessionView, WebhookDeliveryView } from "./schemas";
import { fromStore, readJson } from "./store-access";

/** A job and, once completed, its result (null before, or when the result object is gone). */
export interface JobWithResult {
  view: JobView;
  result: EnhancedTranscript | null;
}

/** A job as DESIGN §5 shows it: the record, plus the result's fields once completed. */
export async function jobView(bucket: R2Bucket, job: JobRecord): Promise<JobWithResult> {
  const view: JobView = {
    id: job.id,
    status: job.status,
    created_at: job.created_at,
    started_at: job.started_at,
    completed_at: job.completed_at,
    source_session_id: job.source_session_id,
    parameters: job.parameters,
    stage: job.stage,
    error: job.error,
    // The webhook's delivery, apart from the job's own status (README "Webhooks"); null: no webhook.
    webhook: webhookView(job.webhook ?? null),
  };
  if (job.status !== "completed" || !job.result_key) return { view, result: null };
  const result = await readJson<EnhancedTranscript>(bucket, job.result_key);
  return { view: { ...view, ...(result ?? {}) }, result };
}

function webhookView(state: WebhookState | null): WebhookDeliveryView | null {
  if (!state) return null;
  const { event_id, event_type, url, status, attempts, last_status, last_error, next_attempt_at, history } = state;
  return { status, attempts, last_status, last_error, next_attempt_at, event_id, event_type, url, history };
}

/** A session record; its live transcript and segments once it ended. */
export async function sessionView(bucket: R2Bucket, record: SessionRecord): Promise<SessionView> {
  const live = record.status !== "active" && record.transcript_key ? await readJson<LiveTranscript>(bucket, record.transcript_key) : null;
  return {
    session_id: record.id,
    status: record.status,
    params: record.params,
    created_at: record.created_at,
    ended_at: record.ended_at,
    end_reason: record.end_reason,
    duration_seconds: record.duration_seconds,
    bytes_recorded: record.bytes_recorded,
    // Records written before the field existed hold none: nothing was counted, so nothing is claimed.
    bytes_dropped: record.bytes_dropped ?? 0,
    recording_available: record.audio_key !== null,
    enhancement_job_id: record.enhancement_job_id,
    error: record.error,
    ...(live ? { transcript: live.transcript, segments: live.segments } : {}),
  };
}

/** A session's enhancement: not requested, waiting for its job, or the job's status and result. */
export async function enhancementView(bucket: R2Bucket, store: Store, record: SessionRecord): Promise<EnhancementView> {
  const session_id = record.id;
  const jobId = record.enhancement_job_id;
  if (!jobId) return { session_id, enhancement_job_id: null, status: "not_requested" };
  const job = await fromStore(() => store.getJob(jobId));
  if (!job) {
    // Fixed at session start; created once the session ended and its recording is complete.
    const failed = record.status === "failed" && record.error;
    return {
      session_id,
      enhancement_job_id: jobId,
      status: failed ? "failed" : "pending",
      ...(failed ? { error: { code: "recording_failed", message: failed } } : {}),
    };
  }
  const { view, result } = await jobView(bucket, job);
  return {
    session_id,
    enhancement_job_id: jobId,
    status: view.status,
    stage: view.stage,
    ...(view.error ? { error: view.error } : {}),
    ...(view.status === "completed" && result ? { transcript: transcriptOf(result) } : {}),
  };
}

/** The result's own fields (the stored object is exactly this; the pick keeps it so if it grows). */
function transcriptOf({ text, language_code, duration, segments, speakers, enhancements }: EnhancedTranscript): EnhancedTranscript {
  return { text, language_code, duration, segments, speakers, enhancements };
}
