/**
 * The enhancement queue consumer. Deliveries are at least once, so every step
 * is idempotent: the job id names the job, its record says what is done.
 */
import { loadConfig, logConfigError, type AppEnv, type ServiceConfig } from "../config";
import { onJobFinished } from "../delivery/job-finished";
import { isDeliveryMessage, type DeliveryMessage, type QueueMessage } from "../delivery/messages";
import { tellFinished } from "../delivery/session-notify";
import { sendWebhookAttempt } from "../delivery/webhook-send";
import { errorMessage, log } from "../log";
import { createRedis } from "../store/redis";
import { Store } from "../store/store";
import { handleListenCallback, isListenCallback } from "./listen-callback";
import { runJob } from "./run";

const DEAD_LETTER_SUFFIX = "-dlq";
/**
 * On an invalid configuration, messages wait this long before their next
 * delivery: time to deploy a fix. (Ones that run out of retries go to the
 * dead-letter queue, which waits the same way, and are dropped after its
 * retries; the sweeper then re-queues their jobs once the configuration is
 * valid again.)
 */
const INVALID_CONFIG_RETRY_SECONDS = 300;

export async function handleQueueBatch(batch: MessageBatch<QueueMessage>, env: AppEnv): Promise<void> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    logConfigError(loaded.error, `queue ${batch.queue}: ${batch.messages.length} message(s) put back`);
    batch.retryAll({ delaySeconds: INVALID_CONFIG_RETRY_SECONDS });
    return;
  }
  const config = loaded.config;
  const redis = createRedis(env);
  const store = new Store(redis, config.store);
  const deadLetter = batch.queue.endsWith(DEAD_LETTER_SUFFIX);
  for (const message of batch.messages) {
    // Deepgram-style callbacks share the queue; they never touch the job's own status.
    const body: unknown = message.body;
    if (isListenCallback(body)) {
      if (deadLetter) {
        log("error", "callback.dead_lettered", { job_id: body.job_id });
        message.ack();
      } else {
        await handleListenCallback(env, store, body).then(
          () => message.ack(),
          () => message.retry({ delaySeconds: 30 }),
        );
      }
      continue;
    }
    if (isDeliveryMessage(message.body)) {
      // Delivery retries are scheduled by the handlers themselves; a throw means the store failed.
      // In the dead-letter queue they are dropped: their state on the job says how far they got.
      if (deadLetter) message.ack();
      else {
        const body: DeliveryMessage = message.body;
        await runDelivery(env, store, redis, config, body).then(
          () => message.ack(),
          (err: unknown) => {
            log("warn", "delivery.retry", { kind: body.kind, job_id: body.job_id, message: errorMessage(err) });
            message.retry({ delaySeconds: Math.min(300, 5 * 2 ** (message.attempts - 1)) });
          },
        );
      }
      continue;
    }
    const jobId = message.body?.job_id;
    if (typeof jobId !== "string") {
      log("error", "job.bad_message", { queue: batch.queue });
      message.ack();
      continue;
    }
    if (deadLetter) {
      await recordDeadLetter(store, jobId)
        .then(() => onJobFinished(env, store, redis, jobId))
        .then(
          () => message.ack(),
          () => message.retry(),
        );
      continue;
    }
    try {
      const outcome = await runJob(env, store, message.body, message.attempts);
      // A permanent failure is recorded on the job; the message still goes to
      // the dead-letter queue, where failed jobs are kept for inspection.
      if (outcome === "failed") await env.ENHANCEMENT_DLQ.send(message.body);
      // Webhook and push once the job finished (again on a duplicate: idempotent, and it covers a
      // delivery that died between finishing the job and this).
      await onJobFinished(env, store, redis, jobId);
      message.ack();
    } catch (err) {
      // Transient: back off, then let the queue redeliver (and dead-letter after max_retries).
      const delaySeconds = Math.min(300, 5 * 2 ** (message.attempts - 1));
      log("warn", "job.retry", { job_id: jobId, attempts: message.attempts, delay_s: delaySeconds, message: errorMessage(err) });
      message.retry({ delaySeconds });
    }
  }
}

async function runDelivery(
  env: AppEnv,
  store: Store,
  redis: ReturnType<typeof createRedis>,
  config: ServiceConfig,
  body: DeliveryMessage,
): Promise<void> {
  if (body.kind === "webhook") return sendWebhookAttempt({ env, store, redis, config: config.delivery }, body);
  const job = await store.getJob(body.job_id);
  if (job) await tellFinished(env, job, body.attempt);
}

/**
 * A message in the dead-letter queue: retries exhausted (the job is failed
 * with the last error kept) or a permanent failure already recorded.
 */
async function recordDeadLetter(store: Store, jobId: string): Promise<void> {
  const job = await store.getJob(jobId);
  if (!job) return;
  const deadLettered = { dead_lettered_at: new Date().toISOString() };
  if (job.status === "completed" || job.status === "failed") {
    await store.updateJob(jobId, deadLettered);
    return;
  }
  await store.updateJob(jobId, {
    ...deadLettered,
    status: "failed",
    completed_at: new Date().toISOString(),
    error: {
      code: "retries_exhausted",
      message: `enhancement gave up after repeated failures${job.error ? `; last error: ${job.error.message}` : ""}`,
    },
  });
  log("error", "job.failed", { job_id: jobId, reason: "retries_exhausted" });
}
