/**
 * The scheduled repair (DESIGN §2): a Cron Trigger runs this to find jobs
 * left pending or processing past their lease (a queue message lost with a
 * restart, a consumer that died mid-job) and re-queue them, or fail them
 * after the last re-queue. Only the expired end of the lease index is read.
 *
 * Idempotent: re-queueing sends the same message as the first send, and the
 * consumer skips a job that is already completed or failed and resumes one
 * that is not from its saved stages. A job only gets a lease once its record
 * exists, and a session writes that record only after its recording is
 * complete, so nothing is re-queued before its audio is there.
 */
import { loadConfig, logConfigError, type AppEnv } from "../config";
import { errorMessage, log } from "../log";
import { jobMessage } from "../store/records";
import { createRedis } from "../store/redis";
import { Store } from "../store/store";
import { sweepAction } from "./sweep-rules";

export interface SweepReport {
  expired: number;
  requeued: number;
  failed: number;
  forgotten: number;
  /** Jobs left for the next run because a step failed (logged). */
  errors: number;
}

/** One sweep as of `now` (ms; the cron's scheduled time). Throws on invalid configuration. */
export async function sweepStalledJobs(env: AppEnv, now: number): Promise<SweepReport> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    logConfigError(loaded.error, "scheduled sweep");
    throw loaded.error;
  }
  const { store: storeOptions, sweeper } = loaded.config;
  const store = new Store(createRedis(env), storeOptions);
  const rules = { maxRequeues: sweeper.maxRequeues, leaseSeconds: storeOptions.jobLeaseSeconds };
  const ids = await store.expiredJobLeases(now, sweeper.batchSize);
  const report: SweepReport = { expired: ids.length, requeued: 0, failed: 0, forgotten: 0, errors: 0 };

  for (const id of ids) {
    try {
      const job = await store.getJob(id);
      const action = sweepAction(job, rules);
      if (action.kind === "forget") {
        await store.forgetJobLease(id);
        report.forgotten++;
      } else if (action.kind === "requeue") {
        // Lease first: a sweeper running alongside, or a consumer renewing meanwhile, wins the race.
        if ((await store.requeueExpiredJob(id, now)) === null) continue;
        await env.ENHANCEMENT_QUEUE.send(jobMessage(job!));
        report.requeued++;
        log("warn", "job.requeued", { job_id: id, status: job!.status, stage: job!.stage, attempt: action.attempt });
      } else {
        if (!(await store.failExpiredJob(id, now, action.error))) continue;
        report.failed++;
        log("error", "job.failed", { job_id: id, code: action.error.code, message: action.error.message });
        // Like every permanently failed job, it is kept in the dead-letter queue for inspection.
        await env.ENHANCEMENT_DLQ.send(jobMessage(job!)).catch((err: unknown) => {
          log("warn", "job.dead_letter_send_failed", { job_id: id, message: errorMessage(err) });
        });
      }
    } catch (err) {
      // Left for the next run: its lease is still expired (or was renewed with the re-queue counted).
      report.errors++;
      log("warn", "job.sweep_failed", { job_id: id, message: errorMessage(err) });
    }
  }
  if (report.expired > 0) log("info", "sweep.done", { ...report });
  return report;
}
