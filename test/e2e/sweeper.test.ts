/**
 * A job whose queue message dies with the worker (issue 12, finding 7): the
 * session ends, the worker restarts right away (the local queue loses what it
 * held, and any delivery in progress), and the cron-triggered sweeper, run
 * through wrangler dev's /__scheduled route once the job's lease has run out,
 * re-queues it until it completes. On a stack of its own with a short lease.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../../src/store/keys";
import { conversation, pcmBytes } from "../../tools/fixtures/synth";
import type { Stack } from "../../tools/stack/stack";
import { eventually, getJson } from "../helpers/http";
import { connect, sendInFrames } from "../helpers/ws-client";
import { streamUrl } from "../helpers/e2e";
import { startOwnStack } from "../helpers/stack";

let stack: Stack;

beforeAll(async () => {
  // Nothing sweeps here but the test's own trigger, so a short lease only shortens the wait.
  stack = await startOwnStack({ CLIENT_GONE_GRACE_SECONDS: "1", JOB_LEASE_SECONDS: "2" });
});

afterAll(async () => {
  await stack?.stop();
});

/** One Redis command through the stack's Upstash bridge. */
async function redis(...command: string[]): Promise<string | null> {
  const res = await fetch(stack.bridgeUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${stack.token}` },
    body: JSON.stringify(command),
  });
  return ((await res.json()) as { result: string | null }).result;
}

interface JobView {
  id: string;
  status: string;
  segments?: unknown[];
  error: unknown;
}

describe("stalled-job sweeper (e2e)", () => {
  it("a job whose message was lost in a restart right after end completes once the sweeper runs", async () => {
    const client = await connect(streamUrl(stack.wsUrl, "enhance_on_end=true"));
    const begin = await client.next("session.begin");
    // About four seconds of two voices.
    await sendInFrames(client, pcmBytes(conversation({ turns: [{ f0: 110, seconds: 1.6 }, { f0: 220, seconds: 1.6 }], gapSeconds: 0.8 })), 3200);
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end");
    await stack.restartWorker();
    const jobId = end.enhancement_job_id!;
    const jobUrl = `${stack.url}/v1/audio/transcriptions/${jobId}`;
    const view = async () => (await getJson<JobView>(jobUrl)).body;
    const finished = (job: JobView) => job.status === "completed" || job.status === "failed";

    // The session wrote the record before queueing; wait until its lease has run out (or, if the
    // message did get through before the restart, the job finished on its own).
    await eventually(async () => (await getJson(jobUrl)).status === 200, 30_000);
    const stuck = await eventually(async () => {
      const lease = await redis("ZSCORE", redisKeys.jobLeases, jobId);
      if (lease !== null && Number(lease) < Date.now()) return "stuck";
      return finished(await view()) ? "finished" : null;
    }, 30_000);

    await stack.triggerScheduled();
    const job = await eventually(async () => {
      const current = await view();
      return finished(current) ? current : null;
    }, 90_000);
    expect(job).toMatchObject({ status: "completed", error: null });
    expect(job.segments!.length).toBeGreaterThan(0);
    // Re-queued at most once. A lease that ran out on a job that was only slow (a loaded machine, a 2 s
    // lease) may have been renewed by the consumer before the sweep, so 0 is possible; the deterministic
    // re-queue of a lost message is test/pool/sweeper.test.ts's.
    if (stuck === "stuck") expect(Number(await redis("HGET", redisKeys.job(jobId), "requeues"))).toBeLessThanOrEqual(1);
    const enhancement = await getJson<{ status: string }>(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}/enhancement`);
    expect(enhancement.body.status).toBe("completed");
    // Nothing is left for a later sweep.
    expect(await redis("ZSCORE", redisKeys.jobLeases, jobId)).toBeNull();
  });
});
