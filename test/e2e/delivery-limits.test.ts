/**
 * The documented limits of result delivery, on a stack of their own with
 * small values (README "Limits"): the wait for the enhancement on a socket
 * ends with `enhancement.timeout` and the job's path; a webhook attempt that
 * gets no answer within WEBHOOK_TIMEOUT_MS fails and is retried; results over
 * WEBHOOK_INLINE_MAX_BYTES are referenced instead of inlined.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversation, pcmBytes } from "../../tools/fixtures/synth";
import { findFreePort } from "../../tools/stack/redis";
import { startStack, type Stack } from "../../tools/stack/stack";
import { streamUrl } from "../helpers/e2e";
import { eventually, getJson } from "../helpers/http";
import { startReceiver, type Receiver } from "../helpers/webhook-receiver";
import { connect, sendInFrames } from "../helpers/ws-client";
import { E2E_WEBHOOK_SECRET } from "./global-setup";

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack({
    port: await findFreePort(),
    redisPort: 0,
    bridgePort: 0,
    emulatorPort: 0,
    vars: {
      ENHANCEMENT_AWAIT_MAX_SECONDS: "2",
      WEBHOOK_TIMEOUT_MS: "2000",
      WEBHOOK_RETRY_BASE_SECONDS: "1",
      WEBHOOK_INLINE_MAX_BYTES: "100",
      WEBHOOK_SIGNING_SECRET: E2E_WEBHOOK_SECRET,
    },
    log: () => undefined,
  });
  receiver = await startReceiver(E2E_WEBHOOK_SECRET);
});

afterAll(async () => {
  await receiver?.close();
  await stack?.stop();
});

const speech = () => pcmBytes(conversation({ turns: [{ f0: 110, seconds: 1.2 }, { f0: 220, seconds: 1.2 }], gapSeconds: 0.6 }));
const emulatorControl = (body: unknown) => fetch(`${stack.emulatorUrl}/__emulator/control`, { method: "POST", body: JSON.stringify(body) });

describe("delivery limits (e2e)", () => {
  it("ENHANCEMENT_AWAIT_MAX_SECONDS: enhancement.timeout names the job to poll, then close 1000; the job goes on", async () => {
    // The batch engine fails transiently twice, so the job waits for its queue retries (5 s, then 10 s),
    // far past the 2 s wait whatever the machine's load.
    await emulatorControl({ failHttpNext: 2, failHttpStatus: 503 });
    try {
      const client = await connect(streamUrl(stack.wsUrl, "enhance_on_end=true&await_enhancement=true"));
      await client.next("session.begin");
      await sendInFrames(client, speech(), 3200);
      await client.sendJson({ type: "end" });
      const end = await client.next("session.end", 30_000);
      const timeout = await client.next("enhancement.timeout", 30_000);
      expect(timeout).toMatchObject({ job_id: end.enhancement_job_id, poll: `/v1/audio/transcriptions/${end.enhancement_job_id}` });
      expect(timeout.message).toMatch(/within 2 s \(ENHANCEMENT_AWAIT_MAX_SECONDS\)/);
      expect((await client.closed).code).toBe(1000);
      expect(client.messages.some((m) => m.type === "enhancement.completed")).toBe(false);
      const job = await eventually(async () => {
        const r = await getJson<{ status: string }>(`${stack.url}${timeout.poll}`);
        return r.body.status === "completed" ? r.body : null;
      }, 60_000, 500);
      expect(job.status).toBe("completed");
    } finally {
      await emulatorControl({ failHttpNext: 0 });
    }
  });

  it("WEBHOOK_TIMEOUT_MS fails a slow attempt, the retry delivers; WEBHOOK_INLINE_MAX_BYTES references the result", async () => {
    receiver.received.length = 0;
    receiver.delayNext(1, 6000);
    const client = await connect(streamUrl(stack.wsUrl, `enhance_on_end=true&enhance_webhook_url=${encodeURIComponent(receiver.url)}`));
    await client.next("session.begin");
    await sendInFrames(client, speech(), 3200);
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end", 30_000);
    const jobId = end.enhancement_job_id!;
    type Job = { webhook: { status: string; attempts: number; history: { status: number | null; error: string | null }[] } | null };
    const job = await eventually(async () => {
      const r = await getJson<Job>(`${stack.url}/v1/audio/transcriptions/${jobId}`);
      return r.body.webhook?.status === "delivered" ? r.body : null;
    }, 60_000, 250);
    expect(job.webhook!.attempts).toBe(2);
    expect(job.webhook!.history[0]).toMatchObject({ status: null, error: "no answer within 2000 ms" });
    expect(job.webhook!.history[1]).toMatchObject({ status: 200, error: null });
    const hook = receiver.received.find((r) => r.answered === 200 && r.body.includes(jobId))!;
    expect(hook.verified).toMatchObject({ ok: true });
    const event = JSON.parse(hook.body) as { data: Record<string, unknown> };
    expect(event.data.result).toBeUndefined();
    expect(event.data.result_ref).toEqual({ path: `/v1/audio/transcriptions/${jobId}`, bytes: expect.any(Number) });
    expect((event.data.result_ref as { bytes: number }).bytes).toBeGreaterThan(100);
  });
});
