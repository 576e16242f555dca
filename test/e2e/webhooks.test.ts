/**
 * Signed webhooks against the real stack (README "Webhooks"): a local
 * receiver verifies every request with the Standard Webhooks reference
 * library, fails the first attempts to prove the retries, and sees one
 * `webhook-id` across them; the job shows every attempt; a final failure is
 * visible without touching the job's own status; URL rules refuse credentials.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversation, pcmBytes } from "../../tools/fixtures/synth";
import { emulator, resetEmulatorAfterEach, service, wsUrl } from "../helpers/e2e";
import { eventually, getJson } from "../helpers/http";
import { startReceiver, type Receiver } from "../helpers/webhook-receiver";
import { connect, sendInFrames } from "../helpers/ws-client";
import { E2E_WEBHOOK_SECRET } from "./global-setup";

interface WebhookView {
  status: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  event_id: string;
  history: { attempt: number; status: number | null; error: string | null }[];
}
interface JobView {
  id: string;
  status: string;
  webhook: WebhookView | null;
  error: { code: string } | null;
}

const speech = () => pcmBytes(conversation({ turns: [{ f0: 110, seconds: 1.2 }, { f0: 220, seconds: 1.2 }], gapSeconds: 0.6 }));
const jobUrl = (id: string) => `${service()}/v1/audio/transcriptions/${id}`;

/** Wait until the job's webhook reached a final state (derived from the job record, not a clock). */
const settledWebhook = (jobId: string) =>
  eventually(async () => {
    const job = (await getJson<JobView>(jobUrl(jobId))).body;
    return job.webhook && ["delivered", "failed"].includes(job.webhook.status) ? job : null;
  }, 60_000, 250);

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver(E2E_WEBHOOK_SECRET);
});
afterAll(async () => {
  await receiver.close();
});

describe("signed webhooks (e2e)", () => {
  resetEmulatorAfterEach();

  it("a session's enhancement.completed is retried after failures, under one webhook-id, every attempt signed and recorded", async () => {
    receiver.received.length = 0;
    receiver.failNext(2, 503);
    const client = await connect(wsUrl(`enhance_on_end=true&enhance_webhook_url=${encodeURIComponent(receiver.url)}`));
    const begin = await client.next("session.begin");
    expect(begin.config).toMatchObject({ enhance_webhook_url: receiver.url });
    await sendInFrames(client, speech(), 3200);
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end", 30_000);
    const job = await settledWebhook(end.enhancement_job_id!);

    expect(job.status).toBe("completed");
    expect(job.webhook).toMatchObject({ status: "delivered", attempts: 3, last_status: 200, last_error: null });
    expect(job.webhook!.history.map((a) => [a.attempt, a.status])).toEqual([[1, 503], [2, 503], [3, 200]]);
    expect(job.webhook!.history[0]!.error).toMatch(/HTTP 503/);

    const mine = receiver.received.filter((r) => r.body.includes(end.enhancement_job_id!));
    expect(mine.map((r) => r.answered)).toEqual([503, 503, 200]);
    expect(new Set(mine.map((r) => r.headers["webhook-id"]))).toEqual(new Set([job.webhook!.event_id]));
    for (const hook of mine) {
      expect(hook.verified, hook.body.slice(0, 200)).toMatchObject({ ok: true });
      expect(hook.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(hook.headers["content-type"]).toBe("application/json");
    }
    // The same event each time: the body does not change between attempts.
    expect(new Set(mine.map((r) => r.body)).size).toBe(1);
    const event = JSON.parse(mine[0]!.body) as { type: string; timestamp: string; data: Record<string, unknown> };
    expect(event).toMatchObject({ type: "enhancement.completed", data: { job_id: end.enhancement_job_id, session_id: begin.session_id, status: "completed" } });
    expect((event.data.result as { segments: unknown[] }).segments.length).toBeGreaterThan(0);

    // A tampered body does not verify (the receiver's check is real).
    const { Webhook } = await import("standardwebhooks");
    expect(() => new Webhook(E2E_WEBHOOK_SECRET).verify(mine[0]!.body.replace("completed", "Completed"), mine[0]!.headers)).toThrow();
  });

  it("an upload whose webhook never succeeds ends `failed` after WEBHOOK_MAX_ATTEMPTS; the job stays completed", async () => {
    receiver.received.length = 0;
    receiver.failNext(1000, 500);
    try {
      const form = new FormData();
      form.set("file", new Blob([readFileSync(path.resolve(import.meta.dirname, "../../samples/conversation.wav"))], { type: "audio/wav" }), "c.wav");
      form.set("webhook_url", receiver.url);
      const created = await fetch(`${service()}/v1/audio/transcriptions`, { method: "POST", body: form });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const job = await settledWebhook(id);
      expect(job.status).toBe("completed");
      expect(job.webhook).toMatchObject({ status: "failed", attempts: 3, last_status: 500, last_error: "receiver answered HTTP 500" });
      expect(receiver.received.filter((r) => r.body.includes(id))).toHaveLength(3);
    } finally {
      receiver.failNext(0);
    }
  });

  it("a failed job sends enhancement.failed with the error", async () => {
    receiver.received.length = 0;
    // The batch engine refuses the audio: a permanent failure.
    await emulator("/__emulator/control", { failHttpNext: 1, failHttpStatus: 400 });
    const form = new FormData();
    form.set("file", new Blob([readFileSync(path.resolve(import.meta.dirname, "../../samples/conversation.wav"))], { type: "audio/wav" }), "c.wav");
    form.set("webhook_url", receiver.url);
    const { id } = (await (await fetch(`${service()}/v1/audio/transcriptions`, { method: "POST", body: form })).json()) as { id: string };
    const job = await settledWebhook(id);
    expect(job.status).toBe("failed");
    expect(job.webhook).toMatchObject({ status: "delivered", attempts: 1 });
    const hook = receiver.received.find((r) => r.body.includes(id))!;
    expect(hook.verified).toMatchObject({ ok: true });
    expect(JSON.parse(hook.body)).toMatchObject({ type: "enhancement.failed", data: { job_id: id, status: "failed", error: { code: job.error!.code } } });
  });

  it("refuses webhook URLs with credentials or another scheme, naming the parameter", async () => {
    for (const bad of ["http://user:secret@127.0.0.1:9/hook", "ftp://example.com/hook", "not a url"]) {
      const refused = (await connect(wsUrl(`enhance_on_end=true&enhance_webhook_url=${encodeURIComponent(bad)}`)).then(
        () => null,
        (err: { status?: number; body?: string }) => err,
      ))!;
      expect(refused.status, bad).toBe(400);
      expect(JSON.parse(refused.body!).error).toMatchObject({ code: "invalid_request", param: "enhance_webhook_url" });
    }
    const form = new FormData();
    form.set("file", new Blob([new Uint8Array(10)]), "x.wav");
    form.set("webhook_url", "https://user:pw@example.com/");
    const res = await getJson<{ error: { param: string } }>(`${service()}/v1/audio/transcriptions`, { method: "POST", body: form });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe("webhook_url");
    // Without enhancement there is nothing to call back about.
    const alone = (await connect(wsUrl(`enhance_webhook_url=${encodeURIComponent(receiver.url)}`)).then(
      () => null,
      (err: { status?: number; body?: string }) => err,
    ))!;
    expect(alone.status).toBe(400);
    expect(JSON.parse(alone.body!).error.param).toBe("enhance_webhook_url");
  });
});
