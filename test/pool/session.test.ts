/**
 * The session object inside workerd, relaying to the real emulator and
 * recording to (local) R2, with records in the real redis behind the bridge.
 * Byte-exact ordering checks live in the e2e suite (DESIGN §9).
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { SESSION_ID_PATTERN, JOB_ID_PATTERN } from "../../src/store/ids";
import { engineReceived, eventually, getJson, openSession, pcm16k, settle } from "./client";

const emulator = (path: string, body?: unknown) =>
  fetch(`${inject("emulatorUrl")}${path}`, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });

afterEach(async () => {
  await emulator("/__emulator/reset");
});

describe("session object", () => {
  it("begins with the session id, the effective config and the enhancement request", async () => {
    const s = await openSession("encoding=mulaw&sample_rate=8000&word_timestamps=true&enhance_on_end=true&enhance_emotions=1");
    const begin = await s.next("session.begin");
    expect(begin.session_id).toMatch(SESSION_ID_PATTERN);
    expect(begin.config).toMatchObject({
      model: "emulator-realtime",
      language: "auto",
      encoding: "mulaw",
      sample_rate: 8000,
      interim_results: true,
      word_timestamps: true,
      enable_vad: true,
      enhance_on_end: true,
      enhance_emotions: true,
      enhance_llm_cleanup: false,
      num_speakers: null,
    });
    expect(begin.config).not.toHaveProperty("api_key");
    expect(begin.enhancement).toEqual({ requested: true, llm_cleanup: false, emotions: true });
    s.sendJson({ type: "end" });
    await s.next("session.end");
  });

  it("answers bad input with recoverable errors and carries on", async () => {
    const s = await openSession();
    const begin = await s.next("session.begin");
    s.ws.send("not json");
    s.sendJson([1, 2]);
    s.sendJson({ type: "transcribe_faster" });
    s.sendJson({ kind: "end" });
    s.ws.send(new Uint8Array(3)); // half a sample too many
    s.ws.send(new Uint8Array(262144 + 2)); // over MAX_FRAME_BYTES
    s.sendJson({ type: "keepalive" });
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const e = await s.next("error");
      expect(e.recoverable).toBe(true);
      codes.push(e.code);
    }
    expect(codes.sort()).toEqual(
      ["frame_too_large", "invalid_frame", "invalid_message", "invalid_message", "invalid_message", "invalid_message"].sort(),
    );
    s.ws.send(pcm16k(0.5));
    await engineReceived(begin.session_id, 16000);
    s.sendJson({ type: "end" });
    const end = await s.next("session.end");
    // Only the valid half second was recorded.
    expect(end.total_duration).toBe(0.5);
    expect((await s.closed).code).toBe(1000);
  });

  it("relays the engine's transcripts and ends with session.end after the last final", async () => {
    const s = await openSession("word_timestamps=true");
    const begin = await s.next("session.begin");
    // One frame at a time, each after the engine has it: this pool's hibernation events may
    // otherwise reach the object out of order (DESIGN §9), which would move the speech.
    s.ws.send(pcm16k(0.5, { amplitude: 0 }));
    await engineReceived(begin.session_id, 16000);
    s.ws.send(pcm16k(1.5));
    await engineReceived(begin.session_id, 64000);
    s.ws.send(pcm16k(1, { amplitude: 0 }));
    await engineReceived(begin.session_id, 96000);
    s.sendJson({ type: "end" });
    const end = await s.next("session.end");
    const final = s.messages.find((m) => m.type === "transcript.final");
    expect(final).toBeDefined();
    expect(s.messages.indexOf(final!)).toBeLessThan(s.messages.indexOf(end));
    expect(end).toMatchObject({ session_id: begin.session_id, total_duration: 3, enhancement_job_id: null });
    expect(end.segments.length).toBeGreaterThanOrEqual(1);
    expect(end.transcript).toContain("Alice");
    if (final?.type === "transcript.final") {
      expect(final.start).toBeGreaterThanOrEqual(0.4);
      expect(final.words?.length).toBeGreaterThan(0);
    }
    expect((await s.closed).code).toBe(1000);

    // The record is written just after session.end (nothing the client waits for is on that path).
    const record = await eventually(async () => {
      const r = await getJson<Record<string, unknown>>(`/v1/audio/transcriptions/stream/${begin.session_id}`);
      return r.body.status === "completed" ? r : null;
    });
    expect(record.body).toMatchObject({ status: "completed", end_reason: "client_end", duration_seconds: 3, bytes_recorded: 96000, bytes_dropped: 0 });
    const enhancement = await getJson(`/v1/audio/transcriptions/stream/${begin.session_id}/enhancement`);
    expect(enhancement.body).toEqual({ session_id: begin.session_id, enhancement_job_id: null, status: "not_requested" });
  });

  it("keeps the session and tells the client when the engine refuses the connection", async () => {
    await emulator("/__emulator/control", { refuseConnections: true });
    const s = await openSession();
    await s.next("session.begin");
    const err = await s.next("error");
    expect(err).toMatchObject({ code: "engine_unavailable", recoverable: true });
    s.ws.send(pcm16k(1));
    await settle();
    s.sendJson({ type: "end" });
    const end = await s.next("session.end");
    expect(end.total_duration).toBe(1);
    expect(end.transcript).toBe("");
  });

  it("gives a job id in session.end when enhancement was requested, linked both ways", async () => {
    const s = await openSession("enhance_on_end=true&num_speakers=2");
    const begin = await s.next("session.begin");
    s.ws.send(pcm16k(1));
    await engineReceived(begin.session_id, 32000);
    s.sendJson({ type: "end" });
    const end = await s.next("session.end");
    expect(end.enhancement_job_id).toMatch(JOB_ID_PATTERN);
    const jobId = end.enhancement_job_id!;
    const enhancement = await getJson<{ enhancement_job_id: string; status: string }>(
      `/v1/audio/transcriptions/stream/${begin.session_id}/enhancement`,
    );
    expect(enhancement.status).toBe(200);
    expect(enhancement.body.enhancement_job_id).toBe(jobId);
    expect(["pending", "processing", "completed"]).toContain(enhancement.body.status);
    const job = await getJson<Record<string, unknown>>(`/v1/audio/transcriptions/${jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      id: jobId,
      source_session_id: begin.session_id,
      parameters: { speaker_detection: "diarize", word_timestamps: true, llm_cleanup: false, emotions: false, num_speakers: 2 },
    });
  });

  it("finishes a session whose client vanished, after the grace period, as interrupted", async () => {
    const s = await openSession("enhance_on_end=true");
    const begin = await s.next("session.begin");
    s.ws.send(pcm16k(0.25));
    s.ws.close(1001, "gone");
    const record = await eventually(async () => {
      const r = await getJson<{ status: string; enhancement_job_id: string }>(`/v1/audio/transcriptions/stream/${begin.session_id}`);
      return r.body.status === "interrupted" ? r.body : null;
    });
    expect(record.enhancement_job_id).toMatch(JOB_ID_PATTERN);
  });
});
