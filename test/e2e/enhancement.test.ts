/**
 * Enhancement on end against the real stack: the job id in session.end, the
 * two-way link in Redis, exactly one job and one queue message per session,
 * whatever fails at the end.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
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

async function runSession(query: string, headers: Record<string, string> = {}, beforeEnd?: (sessionId: string) => Promise<void>) {
  const client = await connect(wsUrl(query), headers);
  const begin = await client.next("session.begin");
  await sendInFrames(client, speech(), 3200);
  // The record exists before we make the store misbehave.
  await eventually(async () => (await getJson(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}`)).status === 200);
  await beforeEnd?.(begin.session_id);
  await client.sendJson({ type: "end" });
  const end = await client.next("session.end", 30_000);
  return { client, begin, end };
}

const bridgeControl = async (path: string, body?: unknown) => {
  const res = await fetch(`${inject("bridgeUrl")}/__bridge/${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${inject("bridgeToken")}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: unknown }).result;
};

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
  afterEach(async () => {
    // A failed test must not leave the shared store held or failing for the next.
    await bridgeControl("reset");
  });

  it("session.end carries the job id, and the link is visible from both endpoints", async () => {
    let reserved: JobView | undefined;
    const { begin, end } = await runSession("enhance_on_end=true&enhance_llm_cleanup=true&num_speakers=2&language=en", {}, async (sessionId) => {
      // The id is fixed at the start and answers at once: pending until the session ends.
      const live = await getJson<{ enhancement_job_id: string }>(`${service()}/v1/audio/transcriptions/stream/${sessionId}`);
      const job = await getJson<JobView>(`${service()}/v1/audio/transcriptions/${live.body.enhancement_job_id}`);
      expect(job.status).toBe(200);
      reserved = job.body;
    });
    expect(reserved).toMatchObject({ id: end.enhancement_job_id, status: "pending", stage: null, source_session_id: begin.session_id });
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

    // The live transcript is kept beside the recording for later comparison (written just after session.end).
    const session = await eventually(async () => {
      const r = await getJson<{ transcript?: string; enhancement_job_id: string }>(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}`);
      return r.body.transcript !== undefined ? r : null;
    });
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

  it("session.end does not wait for Redis: with every store request held, it comes with the id, and the job follows", async () => {
    const before = await countJobs();
    const { end, begin, client } = await runSession("enhance_on_end=true", {}, async () => {
      await bridgeControl("hold");
    });
    // session.end came while no store request since the hold had been answered; the session's
    // writes are waiting at the bridge (the store is asked, just after session.end).
    await eventually(async () => Number(await bridgeControl("held")) > 0, 30_000, 50);
    await bridgeControl("release");
    // The store was slow, not failing: no warning (the old end waited for it, then warned).
    expect(client.messages.filter((m) => m.type === "warning")).toEqual([]);
    const jobId = end.enhancement_job_id!;
    expect(jobId).toMatch(/^job_/);
    const job = await eventually(async () => {
      const r = await getJson<JobView>(`${service()}/v1/audio/transcriptions/${jobId}`);
      return r.status === 200 && r.body.status === "completed" ? r.body : null;
    }, 60_000);
    expect(job.source_session_id).toBe(begin.session_id);
    expect(await deliveries(jobId)).toBe(1);
    expect(await countJobs()).toBe(before + 1);
  });

  it("with Redis failing at the end, session.end still comes with the id, and exactly one job follows", async () => {
    const before = await countJobs();
    const { end, begin } = await runSession("enhance_on_end=true", {}, async () => {
      await bridgeControl("fail-next", { count: 3, status: 503 });
    });
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

  it("with the queue send failing, session.end comes with the id and the job is queued once by the retries", async () => {
    const { end } = await runSession("enhance_on_end=true", { "x-dev-faults": "queue_send=2" });
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
