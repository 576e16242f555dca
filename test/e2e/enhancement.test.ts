/**
 * Enhancement on end against the real stack: the job id in session.end, the
 * two-way link in Redis, exactly one job and one queue message per session,
 * whatever fails at the end.
 */
import { describe, expect, inject, it } from "vitest";
import { conversation, pcmBytes } from "../../tools/fixtures/synth";
import { eventually, getJson } from "../helpers/http";
import { connect, sendInFrames } from "../helpers/ws-client";
import { service, wsUrl } from "../helpers/e2e";

const speech = () => pcmBytes(conversation({ turns: [{ f0: 110, seconds: 1.2 }, { f0: 220, seconds: 1.2 }], gapSeconds: 0.6 }));

interface JobView {
  id: string;
  status: string;
  source_session_id: string;
  parameters: Record<string, unknown>;
  stage: string | null;
  deliveries?: number;
}

async function runSession(query: string, headers: Record<string, string> = {}, beforeEnd?: () => Promise<void>) {
  const client = await connect(wsUrl(query), headers);
  const begin = await client.next("session.begin");
  await sendInFrames(client, speech(), 3200);
  // The record exists before we make the store misbehave.
  await eventually(async () => (await getJson(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}`)).status === 200);
  await beforeEnd?.();
  const t0 = performance.now();
  await client.sendJson({ type: "end" });
  const end = await client.next("session.end", 10_000);
  return { client, begin, end, endMs: performance.now() - t0 };
}

const deliveries = async (jobId: string) => {
  const raw = await fetch(inject("bridgeUrl"), {
    method: "POST",
    headers: { Authorization: `Bearer ${inject("bridgeToken")}` },
    body: JSON.stringify(["HGET", `job:${jobId}`, "deliveries"]),
  });
  return Number(((await raw.json()) as { result: string | null }).result ?? 0);
};

const countJobs = async () => {
  const raw = await fetch(inject("bridgeUrl"), {
    method: "POST",
    headers: { Authorization: `Bearer ${inject("bridgeToken")}` },
    body: JSON.stringify(["KEYS", "job:*"]),
  });
  return ((await raw.json()) as { result: string[] }).result.length;
};

describe("enhancement on end (e2e)", () => {
  it("session.end carries the job id, and the link is visible from both endpoints", async () => {
    const { begin, end } = await runSession("enhance_on_end=true&enhance_llm_cleanup=true&num_speakers=2&language=en");
    const jobId = end.enhancement_job_id!;
    expect(jobId).toMatch(/^job_[0-9a-f]{32}$/);
    expect(begin.enhancement).toEqual({ requested: true, llm_cleanup: true, emotions: false });

    const enhancement = await getJson<{ session_id: string; enhancement_job_id: string; status: string }>(
      `${service()}/v1/audio/transcriptions/stream/${begin.session_id}/enhancement`,
    );
    expect(enhancement.status).toBe(200);
    expect(enhancement.body).toMatchObject({ session_id: begin.session_id, enhancement_job_id: jobId });
    expect(["pending", "processing", "completed"]).toContain(enhancement.body.status);

    const job = await getJson<JobView>(`${service()}/v1/audio/transcriptions/${jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      id: jobId,
      source_session_id: begin.session_id,
      parameters: { speaker_detection: "diarize", word_timestamps: true, llm_cleanup: true, emotions: false, num_speakers: 2, language: "en" },
    });
    expect(job.body).toHaveProperty("created_at");
    expect(job.body).toHaveProperty("stage");

    // The live transcript is kept beside the recording for later comparison.
    const session = await getJson<{ transcript: string; enhancement_job_id: string }>(
      `${service()}/v1/audio/transcriptions/stream/${begin.session_id}`,
    );
    expect(session.body.enhancement_job_id).toBe(jobId);
    expect(session.body.transcript).toBe(end.transcript);

    // The queue consumer gets the job's message exactly once.
    await eventually(async () => (await deliveries(jobId)) >= 1, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deliveries(jobId)).toBe(1);
  });

  it("sessions that did not ask report not_requested and create no job", async () => {
    const before = await countJobs();
    const { begin, end } = await runSession("");
    expect(end.enhancement_job_id).toBeNull();
    const enhancement = await getJson(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}/enhancement`);
    expect(enhancement.body).toEqual({ session_id: begin.session_id, enhancement_job_id: null, status: "not_requested" });
    expect(await countJobs()).toBe(before);
  });

  it("with Redis failing at the end, session.end still comes promptly with the id, and exactly one job follows", async () => {
    const before = await countJobs();
    const { end, endMs, begin, client } = await runSession("enhance_on_end=true", {}, async () => {
      const res = await fetch(`${inject("bridgeUrl")}/__bridge/fail-next`, {
        method: "POST",
        headers: { Authorization: `Bearer ${inject("bridgeToken")}` },
        body: JSON.stringify({ count: 3, status: 503 }),
      });
      expect(res.status).toBe(200);
    });
    expect(endMs).toBeLessThan(2500);
    // The fault was really met: the client was told the job is being retried.
    expect(client.messages.some((m) => m.type === "warning" && m.code === "enhancement_deferred")).toBe(true);
    const jobId = end.enhancement_job_id!;
    expect(jobId).toMatch(/^job_/);
    const job = await eventually(async () => {
      const r = await getJson<JobView>(`${service()}/v1/audio/transcriptions/${jobId}`);
      return r.status === 200 ? r.body : null;
    }, 30_000);
    expect(job.source_session_id).toBe(begin.session_id);
    await eventually(async () => (await deliveries(jobId)) >= 1, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deliveries(jobId)).toBe(1);
    expect(await countJobs()).toBe(before + 1);
  });

  it("with the queue send failing, session.end comes promptly and the job is queued once by the retries", async () => {
    const { end, endMs, client } = await runSession("enhance_on_end=true", { "x-dev-faults": "queue_send=2" });
    expect(endMs).toBeLessThan(2500);
    expect(client.messages.some((m) => m.type === "warning" && m.code === "enhancement_deferred")).toBe(true);
    expect(end.enhancement_job_id).toMatch(/^job_/);
    const jobId = end.enhancement_job_id!;
    // The job record exists at once; the message follows after two failed sends (about 1 s + 2 s of backoff).
    expect((await getJson(`${service()}/v1/audio/transcriptions/${jobId}`)).status).toBe(200);
    await eventually(async () => (await deliveries(jobId)) >= 1, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deliveries(jobId)).toBe(1);
  });

  it("unknown sessions and jobs are 404 error JSON", async () => {
    const s = await getJson(`${service()}/v1/audio/transcriptions/stream/sess_ffffffffffffffffffffffffffffffff/enhancement`);
    expect(s.status).toBe(404);
    expect(s.body).toMatchObject({ error: { code: "not_found" } });
    const j = await getJson(`${service()}/v1/audio/transcriptions/job_ffffffffffffffffffffffffffffffff`);
    expect(j.status).toBe(404);
  });
});
