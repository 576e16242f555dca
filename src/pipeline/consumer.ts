/**
 * The enhancement queue consumer. Deliveries are at least once, so every step
 * is idempotent: the job id names the job, its record says what is done.
 */
import { readConfig, type AppEnv } from "../config";
import { errorMessage, log } from "../log";
import type { JobMessage } from "../store/records";
import { createRedis } from "../store/redis";
import { Store } from "../store/store";
import { handleListenCallback, isListenCallback } from "./listen-callback";
import { runJob } from "./run";

const DEAD_LETTER_SUFFIX = "-dlq";

export async function handleQueueBatch(batch: MessageBatch<JobMessage>, env: AppEnv): Promise<void> {
  const store = new Store(createRedis(env), readConfig(env).store.recordTtlSeconds);
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
