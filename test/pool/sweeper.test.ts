/**
 * The stalled-job sweeper inside workerd (issue 12, finding 7): the lease
 * index kept by the store in real Redis, and the worker's scheduled() handler
 * re-queueing a job whose message was lost until the real queue consumer
 * completes it, or failing it after the last re-queue.
 *
 * Jobs here get a one-second lease (JOB_LEASE_SECONDS=1 in the env handed to
 * the store and the handler), so a sweep as of "now" touches only them: jobs
 * of other test files hold the default lease.
 */
import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { readConfig, type AppEnv } from "../../src/config";
import { STALLED_ERROR_CODE } from "../../src/pipeline";
import { r2Keys, redisKeys } from "../../src/store/keys";
import type { JobMessage } from "../../src/store/records";
import { createRedis } from "../../src/store/redis";
import { Store } from "../../src/store/store";
import { eventually } from "./client";
import { conversation, tonePcm, wav16k } from "./fixtures/audio";
import { storeJob } from "./fixtures/jobs";

const shortLease = { ...(env as AppEnv), JOB_LEASE_SECONDS: "1" } as AppEnv;
const store = new Store(createRedis(shortLease), readConfig(shortLease).store);
const { maxRequeues } = readConfig(shortLease).sweeper;

/** A job whose queue message never arrives (its audio, if any, in R2). */
const lostJob = (audio: Uint8Array | null = wav16k(tonePcm(conversation(2)))) => storeJob(store, audio);

/** Wait (by polling Redis) until the job's lease has run out. */
const leaseExpired = (id: string) => eventually(async () => ((await store.jobLease(id)) ?? Infinity) < Date.now());

/** Run the worker's scheduled() handler as the cron trigger would, now. */
async function runCron(workerEnv: AppEnv): Promise<void> {
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), workerEnv);
}

/** A stand-in for a Queue binding that keeps what is sent (the platform's object, not our code). */
function recordingQueue(): Queue<JobMessage> & { sent: JobMessage[] } {
  const sent: JobMessage[] = [];
  return {
    sent,
    send: async (body: JobMessage) => void sent.push(body),
    sendBatch: async (batch: Iterable<MessageSendRequest<JobMessage>>) => void sent.push(...[...batch].map((m) => m.body)),
  } as unknown as Queue<JobMessage> & { sent: JobMessage[] };
}

describe("job leases in the store", () => {
  it("a new job has a lease; progress renews it; finishing drops it for good", async () => {
    const job = await lostJob(null);
    const created = await store.jobLease(job.id);
    expect(created).toBeGreaterThan(Date.now() - 5_000);
    await eventually(async () => Date.now() > created!);
    await store.updateJob(job.id, { status: "processing" });
    const claimed = (await store.jobLease(job.id))!;
    expect(claimed).toBeGreaterThan(created!);
    await store.updateJob(job.id, { status: "completed", completed_at: new Date().toISOString() });
    expect(await store.jobLease(job.id)).toBeNull();
    // Late writes (a duplicate delivery, the dead-letter note) never bring a finished job back.
    await store.updateJob(job.id, { stage: "assemble", dead_lettered_at: new Date().toISOString() });
    expect(await store.jobLease(job.id)).toBeNull();
    expect(await store.expiredJobLeases(Date.now() + 3_600_000, 10_000)).not.toContain(job.id);
  });

  it("re-queues and fails only a job whose lease expired, once however many sweepers race", async () => {
    const job = await lostJob(null);
    expect(await store.requeueExpiredJob(job.id, Date.now())).toBeNull();
    await leaseExpired(job.id);
    const now = Date.now();
    expect(await store.expiredJobLeases(now, 10_000)).toContain(job.id);
    const results = await Promise.all([1, 2, 3].map(() => store.requeueExpiredJob(job.id, now)));
    expect(results.filter((r) => r !== null)).toEqual([1]);
    expect((await store.getJob(job.id))!.requeues).toBe(1);
    // Freshly leased again: not failed under a renewed lease.
    expect(await store.failExpiredJob(job.id, Date.now(), { code: STALLED_ERROR_CODE, message: "x" })).toBe(false);
    await leaseExpired(job.id);
    expect(await store.failExpiredJob(job.id, Date.now(), { code: STALLED_ERROR_CODE, message: "x" })).toBe(true);
    expect(await store.getJob(job.id)).toMatchObject({ status: "failed", error: { code: STALLED_ERROR_CODE } });
    expect(await store.jobLease(job.id)).toBeNull();
  });
});

describe("scheduled sweeper", () => {
  it("re-queues a job whose queue message was lost, and the real consumer completes it", async () => {
    const job = await lostJob();
    await leaseExpired(job.id);
    await runCron(shortLease);
    const done = await eventually(async () => {
      const record = await store.getJob(job.id);
      return record?.status === "completed" ? record : null;
    }, 60_000);
    expect(done).toMatchObject({ requeues: 1, error: null, result_key: r2Keys.jobResult(job.id) });
    expect(done.deliveries).toBeGreaterThanOrEqual(1);
    expect(await env.RECORDINGS.head(r2Keys.jobResult(job.id))).not.toBeNull();
    expect(await store.jobLease(job.id)).toBeNull();
  });

  it("re-queues up to the limit, then fails the job with a clear error and dead-letters it", async () => {
    const queue = recordingQueue();
    const dlq = recordingQueue();
    const unanswered = { ...shortLease, ENHANCEMENT_QUEUE: queue, ENHANCEMENT_DLQ: dlq } as AppEnv;
    const job = await lostJob(null);
    for (let attempt = 1; attempt <= maxRequeues; attempt++) {
      await leaseExpired(job.id);
      await runCron(unanswered);
      expect(queue.sent.filter((m) => m.job_id === job.id)).toHaveLength(attempt);
      expect((await store.getJob(job.id))!).toMatchObject({ status: "pending", requeues: attempt });
    }
    await leaseExpired(job.id);
    await runCron(unanswered);
    const failed = (await store.getJob(job.id))!;
    expect(failed).toMatchObject({ status: "failed", requeues: maxRequeues, error: { code: STALLED_ERROR_CODE } });
    expect(failed.error!.message).toContain(`after ${maxRequeues} re-queues`);
    expect(failed.completed_at).toEqual(expect.any(String));
    expect(queue.sent.filter((m) => m.job_id === job.id)).toHaveLength(maxRequeues);
    expect(dlq.sent.map((m) => m.job_id)).toContain(job.id);
    expect(await store.jobLease(job.id)).toBeNull();
    // Nothing left to do for it.
    await runCron(unanswered);
    expect(queue.sent.filter((m) => m.job_id === job.id)).toHaveLength(maxRequeues);
  });

  it("drops the lease of a job whose record has expired without sending anything", async () => {
    const queue = recordingQueue();
    const job = await lostJob(null);
    await createRedis(shortLease).del(redisKeys.job(job.id)); // as if RECORD_TTL_SECONDS ran out
    await leaseExpired(job.id);
    await runCron({ ...shortLease, ENHANCEMENT_QUEUE: queue } as AppEnv);
    expect(queue.sent).toEqual([]);
    expect(await store.jobLease(job.id)).toBeNull();
  });
});
