/**
 * What happens when an enhancement job reaches `completed` or `failed`
 * (whichever delivery, the dead-letter consumer included): its webhook event
 * is started once, and its session object is told. Idempotent: a redelivered
 * message runs this again and changes nothing.
 */
import type { AppEnv } from "../config";
import { errorMessage, log } from "../log";
import type { Redis } from "@upstash/redis/cloudflare";
import { AuthStore } from "../store/auth";
import type { JobRecord, WebhookState } from "../store/records";
import type { Store } from "../store/store";
import type { WebhookMessage } from "./messages";
import { tellFinished } from "./session-notify";
import { eventTypeOf } from "./webhook-event";
import { webhookEventId } from "./webhook-policy";

export async function onJobFinished(env: AppEnv, store: Store, redis: Redis, jobId: string): Promise<void> {
  const job = await store.getJob(jobId);
  if (!job || (job.status !== "completed" && job.status !== "failed")) return;
  await startWebhook(env, store, redis, job);
  await tellFinished(env, job).catch((err) => log("warn", "push.queue_failed", { job_id: job.id, message: errorMessage(err) }));
}

/** The job's URL, else its owner key's default; null: no webhook. */
async function webhookUrlFor(redis: Redis, job: JobRecord): Promise<string | null> {
  if (job.webhook_url) return job.webhook_url;
  if (job.owner === "anonymous") return null;
  return (await new AuthStore(redis).webhookSettings(job.owner))?.url ?? null;
}

/**
 * Record the event as `pending`, then queue its first attempt. Recorded first,
 * so the attempt always finds it; queued again while still unattempted, so a
 * failure between the two steps (the consumer retries) cannot lose it. At
 * worst the first attempt is sent twice, under the same `webhook-id`.
 */
async function startWebhook(env: AppEnv, store: Store, redis: Redis, job: JobRecord): Promise<void> {
  if (job.webhook && (job.webhook.status !== "pending" || job.webhook.attempts > 0)) return;
  if (!job.webhook) {
    const state = await newWebhookState(redis, job);
    if (!state) return;
    if (await store.startWebhook(job.id, state)) log("info", "webhook.started", { job_id: job.id, event_id: state.event_id, type: state.event_type });
  }
  await env.ENHANCEMENT_QUEUE.send({ kind: "webhook", job_id: job.id, attempt: 1 } satisfies WebhookMessage);
}

async function newWebhookState(redis: Redis, job: JobRecord): Promise<WebhookState | null> {
  const url = await webhookUrlFor(redis, job);
  if (!url) return null;
  const type = eventTypeOf(job);
  const state: WebhookState = {
    event_id: webhookEventId(job.id, type),
    event_type: type,
    url,
    status: "pending",
    attempts: 0,
    last_status: null,
    last_error: null,
    next_attempt_at: new Date().toISOString(),
    history: [],
  };
  return state;
}
