/**
 * The batch enhancement pipeline through the real stack: stream → end → poll
 * until completed, uploads, and engines failing.
 */
import { describe, expect, inject, it } from "vitest";
import { conversation, pcmBytes, toWav } from "../../tools/fixtures/synth";
import { EMULATOR_SCRIPT } from "../../tools/emulator/script";
import { eventually, getJson } from "../helpers/http";
import { connect, sendInFrames } from "../helpers/ws-client";
import { service, wsUrl, emulator, resetEmulatorAfterEach } from "../helpers/e2e";
import type { EnhancedTranscript } from "../../src/pipeline/result";

resetEmulatorAfterEach();

/** Six turns, two voices (110 Hz and 220 Hz) taking turns: script lines 0–5. */
const turns = [1.6, 1.4, 1.8, 1.5, 1.7, 1.6].map((seconds, i) => ({ f0: i % 2 === 0 ? 110 : 220, seconds }));
const twoVoices = () => conversation({ turns, gapSeconds: 0.7 });

/** The enhanced result, as the pipeline defines it. */
type Result = EnhancedTranscript;

async function streamSession(query: string) {
  const client = await connect(wsUrl(query));
  const begin = await client.next("session.begin");
  await sendInFrames(client, pcmBytes(twoVoices()), 6400);
  await client.sendJson({ type: "end" });
  const end = await client.next("session.end", 20_000);
  return { client, begin, end };
}

async function enhancementOf(sessionId: string, timeoutMs = 60_000) {
  const stages = new Set<string>();
  const body = await eventually(async () => {
    const r = await getJson<{ status: string; stage?: string; transcript?: Result; error?: unknown }>(
      `${service()}/v1/audio/transcriptions/stream/${sessionId}/enhancement`,
    );
    if (r.body.stage) stages.add(r.body.stage);
    return r.body.status === "completed" || r.body.status === "failed" ? r.body : null;
  }, timeoutMs, 100);
  return { ...body, stages };
}

describe("enhancement pipeline (e2e)", () => {
  it("stream → end → completed: words with timestamps, two speakers, names from the conversation", async () => {
    const { begin, end } = await streamSession("enhance_on_end=true");
    const enhancement = await enhancementOf(begin.session_id);
    expect(enhancement.status).toBe("completed");
    const result = enhancement.transcript!;
    expect(result.segments.map((s) => s.text)).toEqual(EMULATOR_SCRIPT.slice(0, 6));
    const words = result.segments.flatMap((s) => s.words);
    expect(words.length).toBeGreaterThan(20);
    for (let i = 1; i < words.length; i++) expect(words[i]!.start).toBeGreaterThanOrEqual(words[i - 1]!.start);
    expect(result.duration).toBeCloseTo(end.total_duration, 1);

    const speakers = new Set(result.segments.map((s) => s.speaker));
    expect(speakers.size).toBe(2);
    // Turns alternate voices, so segments alternate speakers.
    result.segments.forEach((s, i) => expect(s.speaker).toBe(result.segments[i % 2]!.speaker));
    const names = Object.fromEntries(result.speakers.map((s) => [s.id, s.name]));
    expect(names[result.segments[0]!.speaker]).toBe("Alice");
    expect(names[result.segments[1]!.speaker]).toBe("Bob");

    // Cleanup and emotions were not requested.
    expect(result.segments.some((s) => s.raw_text !== undefined || s.emotion !== undefined)).toBe(false);
    expect(result.enhancements.cleanup!.status).toBe("not_requested");
    expect(result.enhancements.emotions!.status).toBe("not_requested");

    const job = await getJson<{ status: string; completed_at: string; text: string }>(
      `${service()}/v1/audio/transcriptions/${end.enhancement_job_id}`,
    );
    expect(job.body.status).toBe("completed");
    expect(job.body.completed_at).toBeTruthy();
    expect(job.body.text).toContain("Alice");
  });

  it("cleanup and emotions run only when requested, keeping raw text and timings", async () => {
    const { begin } = await streamSession("enhance_on_end=true&enhance_llm_cleanup=true&enhance_emotions=true");
    const { transcript: result, status } = await enhancementOf(begin.session_id);
    expect(status).toBe("completed");
    const filler = result!.segments[2]!;
    expect(filler.raw_text).toBe("um so how was the uh weekend");
    expect(filler.text).toBe("So how was the weekend.");
    expect(result!.segments[3]!.emotion).toMatchObject({ label: "joy" });
    for (const s of result!.segments) {
      expect(s.emotion).toBeDefined();
      expect(s.emotion!.confidence).toBeGreaterThanOrEqual(0);
    }
    expect(result!.enhancements.cleanup!.status).toBe("completed");
    expect(result!.enhancements.emotions!.status).toBe("completed");
  });

  it("a batch engine failing once is retried and the job completes", async () => {
    await emulator("/__emulator/control", { failHttpNext: 1, failHttpStatus: 503 });
    const { begin } = await streamSession("enhance_on_end=true");
    const enhancement = await enhancementOf(begin.session_id, 90_000);
    expect(enhancement.status).toBe("completed");
  });

  it("the engine rejecting the audio fails the job with a clear error", async () => {
    await emulator("/__emulator/control", { failHttpNext: 1, failHttpStatus: 422 });
    const { begin } = await streamSession("enhance_on_end=true");
    const enhancement = await enhancementOf(begin.session_id);
    expect(enhancement.status).toBe("failed");
    expect(enhancement.error).toMatchObject({ code: "engine_rejected_audio", message: expect.any(String) });
    // The message ends in the dead-letter queue, whose consumer stamps the job.
    const jobId = (await getJson<{ enhancement_job_id: string }>(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}`)).body
      .enhancement_job_id;
    await eventually(async () => {
      const raw = await fetch(inject("bridgeUrl"), {
        method: "POST",
        headers: { Authorization: `Bearer ${inject("bridgeToken")}` },
        body: JSON.stringify(["HGET", `job:${jobId}`, "dead_lettered_at"]),
      });
      return ((await raw.json()) as { result: string | null }).result;
    }, 30_000);
  });

  it("with the realtime engine refusing connections, the session still records and its enhancement completes", async () => {
    await emulator("/__emulator/control", { refuseConnections: true });
    const { begin, end, client } = await streamSession("enhance_on_end=true");
    expect(client.messages.some((m) => m.type === "error" && m.code === "engine_unavailable")).toBe(true);
    expect(end.transcript).toBe("");
    const enhancement = await enhancementOf(begin.session_id);
    expect(enhancement.status).toBe("completed");
    expect(enhancement.transcript!.segments).toHaveLength(6);
  });

  it("POST /v1/audio/transcriptions: a WAV upload runs through the same pipeline", async () => {
    const form = new FormData();
    form.set("file", new Blob([toWav(twoVoices(), 16000)], { type: "audio/wav" }), "talk.wav");
    form.set("enhance_emotions", "true");
    const res = await fetch(`${service()}/v1/audio/transcriptions`, { method: "POST", body: form });
    expect(res.status).toBe(201);
    const { id, status } = (await res.json()) as { id: string; status: string };
    expect(id).toMatch(/^job_/);
    expect(status).toBe("pending");
    const job = await eventually(async () => {
      const r = await getJson<{ status: string; source_session_id: null; segments: Result["segments"]; parameters: { emotions: boolean } }>(
        `${service()}/v1/audio/transcriptions/${id}`,
      );
      return r.body.status === "completed" ? r.body : null;
    }, 60_000);
    expect(job.source_session_id).toBeNull();
    expect(job.parameters.emotions).toBe(true);
    expect(job.segments).toHaveLength(6);
  });

  it("uploads that are not WAV get 415; bad options get 400 naming the field", async () => {
    const notWav = new FormData();
    notWav.set("file", new Blob([new TextEncoder().encode("ID3 this is an mp3, honest")]), "song.mp3");
    const r1 = await getJson(`${service()}/v1/audio/transcriptions`, { method: "POST", body: notWav });
    expect(r1.status).toBe(415);
    expect(r1.body).toMatchObject({ error: { code: "unsupported_media_type" } });

    const badOption = new FormData();
    badOption.set("file", new Blob([toWav(twoVoices(), 16000)]), "a.wav");
    badOption.set("num_speakers", "99");
    const r2 = await getJson<{ error: { param: string } }>(`${service()}/v1/audio/transcriptions`, { method: "POST", body: badOption });
    expect(r2.status).toBe(400);
    expect(r2.body.error.param).toBe("num_speakers");

    const r3 = await getJson(`${service()}/v1/audio/transcriptions`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(r3.status).toBe(415);
  });
});
