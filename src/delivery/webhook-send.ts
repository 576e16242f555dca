/**
 * One attempt of a job's webhook (README "Webhooks"): sign with the owner's
 * secret (Standard Webhooks, reference library), POST with a timeout, record
 * the attempt on the job, and queue the next attempt with exponential backoff
 * or give up after WEBHOOK_MAX_ATTEMPTS. The job's own status is never touched.
 */
import { Webhook } from "standardwebhooks";
import type { AppEnv, DeliveryConfig } from "../config";
import { errorMessage, log } from "../log";
import { AuthStore } from "../store/auth";
import type { WebhookAttempt, WebhookState } from "../store/records";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Store } from "../store/store";
import type { WebhookMessage } from "./messages";
import { retryDelaySeconds } from "./webhook-policy";
import { checkWebhookUrl } from "./webhook-url";
import { webhookBody } from "./webhook-event";

/** Owner of sessions and jobs made without a key (AUTH_MODE=off). */
const ANONYMOUS_OWNER = "anonymous";
/** Error text kept per attempt (the receiver's answer is not stored). */
const MAX_ERROR_CHARS = 300;


/** The secret that signs an owner's webhooks; null when there is none. */
export async function signingSecret(env: AppEnv, redis: Redis, owner: string): Promise<string | null> {
  if (owner === ANONYMOUS_OWNER) return env.WEBHOOK_SIGNING_SECRET || null;
  return (await new AuthStore(redis).webhookSettings(owner))?.secret ?? null;
}

export interface SendDeps {
  env: AppEnv;
  store: Store;
  redis: Redis;
  config: DeliveryConfig;
}

/** Handle one webhook queue message. Throws only when the store fails (the queue retries the message). */
export async function sendWebhookAttempt({ env, store, redis, config }: SendDeps, message: WebhookMessage): Promise<void> {
  const job = await store.getJob(message.job_id);
  const state = job?.webhook;
  if (!job || !state) return;
  // Redelivered message, or an attempt already made: each attempt runs once.
  if (state.status === "delivered" || state.status === "failed" || state.attempts >= message.attempt) return;

  const started = Date.now();
  let status: number | null = null;
  let error: string | null = null;
  try {
    const url = checkWebhookUrl(state.url, config.webhookAllowLocalUrls);
    const secret = await signingSecret(env, redis, job.owner);
    if (!secret) throw new Error(job.owner === ANONYMOUS_OWNER ? "no signing secret: set WEBHOOK_SIGNING_SECRET" : `the key ${job.owner} has no signing secret (revoked?)`);
    const body = await webhookBody(env.RECORDINGS, job, config.webhookInlineMaxBytes);
    const timestamp = new Date();
    const signature = new Webhook(secret).sign(state.event_id, timestamp, body);
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "edge-transcribe-webhooks/1",
        "webhook-id": state.event_id,
        "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
        "webhook-signature": signature,
      },
      body,
      // A redirect could lead anywhere (an internal host included): it counts as a failure.
      redirect: "manual",
      signal: AbortSignal.timeout(config.webhookTimeoutMs),
    });
    status = res.status;
    await res.body?.cancel().catch(() => undefined);
    if (status < 200 || status > 299) error = `receiver answered HTTP ${status}`;
  } catch (err) {
    error = err instanceof Error && err.name === "TimeoutError" ? `no answer within ${config.webhookTimeoutMs} ms` : errorMessage(err);
  }

  const attempt: WebhookAttempt = {
    attempt: message.attempt,
    at: new Date(started).toISOString(),
    status,
    error: error?.slice(0, MAX_ERROR_CHARS) ?? null,
    duration_ms: Date.now() - started,
  };
  const next: WebhookState = {
    ...state,
    attempts: message.attempt,
    last_status: status,
    last_error: attempt.error,
    history: [...state.history, attempt],
    next_attempt_at: null,
    status: error === null ? "delivered" : "failed",
  };
  if (error !== null && message.attempt < config.webhookMaxAttempts) {
    const delaySeconds = retryDelaySeconds(message.attempt + 1, config.webhookRetryBaseSeconds);
    // Queued before it is recorded: if recording fails, this message is retried and the attempt repeats
    // (same webhook-id); the other order could lose the next attempt.
    await env.ENHANCEMENT_QUEUE.send({ kind: "webhook", job_id: job.id, attempt: message.attempt + 1 } satisfies WebhookMessage, {
      delaySeconds,
    });
    next.status = "retrying";
    next.next_attempt_at = new Date(Date.now() + delaySeconds * 1000).toISOString();
  }
  await store.updateJob(job.id, { webhook: next });
  log(error === null ? "info" : "warn", "webhook.attempt", {
    job_id: job.id,
    event_id: state.event_id,
    attempt: message.attempt,
    status,
    outcome: next.status,
    ...(error ? { error: attempt.error } : {}),
  });
}
