/**
 * The enhancement queue consumer. Deliveries are at least once, so every step
 * is idempotent: the job id names the job, its record says what is done.
 */
import { loadConfig, logConfigError, type AppEnv } from "../config";
import { errorMessage, log } from "../log";
import type { JobMessage } from "../store/records";
import { createRedis } from "../store/redis";
import { Store } from "../store/store";
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

export async function handleQueueBatch(batch: MessageBatch<JobMessage>, env: AppEnv): Promise<void> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    logConfigError(loaded.error, `queue ${batch.queue}: ${batch.messages.length} message(s) put back`);
    batch.retryAll({ delaySeconds: INVALID_CONFIG_RETRY_SECONDS });
    return;
  }
  const store = new Store(createRedis(env), loaded.config.store);
  const deadLetter = batch.queue.endsWith(DEAD_LETTER_SUFFIX);
  for (const message of batch.messages) {
    const jobId = message.body?.job_id;
    if (typeof jobId !== "string") {
      log("error", "job.bad_message", { queue: batch.queue });
      message.ack();
      continue;
    }
    if (deadLetter) {
      await recordDeadLetter(store, jobId).then(
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
      message.ack();
    } catch (err) {
      // Transient: back off, then let the queue redeliver (and dead-letter after max_retries).
      const delaySeconds = Math.min(300, 5 * 2 ** (message.attempts - 1));
      log("warn", "job.retry", { job_id: jobId, attempts: message.attempts, delay_s: delaySeconds, message: errorMessage(err) });
      message.retry({ delaySeconds });
    }
  }
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
