/**
 * The webhook events (README "Webhooks"), in the Standard Webhooks payload
 * shape `{type, timestamp, data}`. The body is rebuilt for each attempt from
 * the job's final state, which does not change, so every attempt sends the
 * same event under the same `webhook-id`.
 */
import type { JobRecord } from "../store/records";
import type { WebhookEventType } from "./webhook-policy";


export interface WebhookEventData {
  job_id: string;
  session_id: string | null;
  status: "completed" | "failed";
  /** The enhanced transcript (DESIGN §5), when it fits WEBHOOK_INLINE_MAX_BYTES. */
  result?: unknown;
  /** Instead of `result` when it is larger: GET this path (with an API key that can read the job). */
  result_ref?: { path: string; bytes: number };
  error?: { code: string; message: string };
}

export interface WebhookEvent {
  type: WebhookEventType;
  /** When the job finished (fixed for the event, unlike the `webhook-timestamp` header of each attempt). */
  timestamp: string;
  data: WebhookEventData;
}

export const eventTypeOf = (job: JobRecord): WebhookEventType =>
  job.status === "completed" ? "enhancement.completed" : "enhancement.failed";


export const jobPath = (jobId: string) => `/v1/audio/transcriptions/${jobId}`;

/** The event's JSON body. */
export async function webhookBody(bucket: R2Bucket, job: JobRecord, inlineMaxBytes: number): Promise<string> {
  const type = eventTypeOf(job);
  const data: WebhookEventData = {
    job_id: job.id,
    session_id: job.source_session_id,
    status: job.status === "completed" ? "completed" : "failed",
  };
  if (type === "enhancement.completed" && job.result_key) {
    const object = await bucket.get(job.result_key);
    if (!object) throw new Error(`the result of ${job.id} is missing from storage`);
    const text = await object.text();
    const bytes = new TextEncoder().encode(text).byteLength;
    if (bytes <= inlineMaxBytes) data.result = JSON.parse(text) as unknown;
    else data.result_ref = { path: jobPath(job.id), bytes };
  }
  if (job.error) data.error = job.error;
  const event: WebhookEvent = { type, timestamp: job.completed_at ?? new Date().toISOString(), data };
  return JSON.stringify(event);
}
