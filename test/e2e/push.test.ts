/**
 * The enhanced result pushed on the live socket against the real stack
 * (README "The enhanced result on the socket"): session.end as always, then
 * enhancement.status per stage, enhancement.completed with the whole enhanced
 * transcript (or enhancement.failed), then close 1000; a client that leaves
 * while waiting loses nothing (the job goes on and can be polled).
 */
import { describe, expect, it } from "vitest";
import { conversation, pcmBytes } from "../../tools/fixtures/synth";
import { emulator, resetEmulatorAfterEach, service, wsUrl } from "../helpers/e2e";
import { eventually, getJson } from "../helpers/http";
import { connect, sendInFrames, type Client } from "../helpers/ws-client";

const speech = () => pcmBytes(conversation({ turns: [{ f0: 110, seconds: 1.2 }, { f0: 220, seconds: 1.2 }], gapSeconds: 0.6 }));

async function speakAndEnd(query: string, end: Record<string, unknown>): Promise<{ client: Client; sessionId: string; jobId: string | null }> {
  const client = await connect(wsUrl(query));
  const begin = await client.next("session.begin");
  await sendInFrames(client, speech(), 3200);
  await client.sendJson(end);
  const sessionEnd = await client.next("session.end", 30_000);
  return { client, sessionId: begin.session_id, jobId: sessionEnd.enhancement_job_id };
}

describe("enhancement pushed on the socket (e2e)", () => {
  resetEmulatorAfterEach();

  it('{"type":"end","await_enhancement":true}: status per stage, the whole enhanced transcript, then close 1000', async () => {
    const { client, sessionId, jobId } = await speakAndEnd("enhance_on_end=true&enhance_llm_cleanup=true", { type: "end", await_enhancement: true });
    const completed = await client.next("enhancement.completed", 60_000);
    const closed = await client.closed;
    expect(closed.code).toBe(1000);

    const types = client.messages.map((m) => m.type);
    const endAt = types.indexOf("session.end");
    expect(types.slice(endAt)).toEqual(["session.end", ...types.slice(endAt + 1, -1).map(() => "enhancement.status"), "enhancement.completed"]);
    const statuses = client.messages.filter((m) => m.type === "enhancement.status");
    expect(statuses[0]).toEqual({ type: "enhancement.status", job_id: jobId, status: "pending", stage: null });
    const stages = statuses.slice(1).map((m) => m.stage);
    expect(stages).toEqual(expect.arrayContaining(["transcribe", "speakers", "cleanup", "assemble"]));
    expect(stages.indexOf("transcribe")).toBeLessThan(stages.indexOf("assemble"));

    // The same transcript the HTTP API serves.
    const polled = await getJson<{ status: string; transcript: unknown }>(`${service()}/v1/audio/transcriptions/stream/${sessionId}/enhancement`);
    expect(polled.body.status).toBe("completed");
    expect(completed).toEqual({ type: "enhancement.completed", job_id: jobId, transcript: polled.body.transcript });
  });

  it("await_enhancement=true on the URL, and a failed job: enhancement.failed with the error, then close 1000", async () => {
    await emulator("/__emulator/control", { failHttpNext: 1, failHttpStatus: 400 });
    const { client, jobId } = await speakAndEnd("enhance_on_end=true&await_enhancement=true", { type: "end" });
    const failed = await client.next("enhancement.failed", 60_000);
    expect(failed).toMatchObject({ job_id: jobId, error: { code: "engine_rejected_audio" } });
    expect((await client.closed).code).toBe(1000);
  });

  it("a client that disconnects while waiting: the job completes and is polled; nothing is left open", async () => {
    const { client, sessionId, jobId } = await speakAndEnd("enhance_on_end=true", { type: "end", await_enhancement: true });
    await client.next("enhancement.status");
    client.ws.close(1000, "bye");
    expect((await client.closed).code).toBe(1000);
    const done = await eventually(async () => {
      const r = await getJson<{ status: string; enhancement_job_id: string }>(`${service()}/v1/audio/transcriptions/stream/${sessionId}/enhancement`);
      return r.body.status === "completed" ? r.body : null;
    }, 60_000, 250);
    expect(done.enhancement_job_id).toBe(jobId);
    // The object took the push without a socket (it forgets the wait); a new session is unaffected.
    const next = await speakAndEnd("enhance_on_end=true", { type: "end", await_enhancement: true });
    await next.client.next("enhancement.completed", 60_000);
    expect((await next.client.closed).code).toBe(1000);
  });

  it("await_enhancement without enhance_on_end: refused on the URL; after `end` a warning, then the usual close", async () => {
    const refused = await connect(wsUrl("await_enhancement=true")).then(
      () => null,
      (err: { status?: number; body?: string }) => err,
    );
    expect(refused?.status).toBe(400);
    expect(JSON.parse(refused!.body!).error.param).toBe("await_enhancement");

    const { client, jobId } = await speakAndEnd("", { type: "end", await_enhancement: true });
    expect(jobId).toBeNull();
    expect(await client.next("warning")).toMatchObject({ code: "nothing_to_await" });
    expect((await client.closed).code).toBe(1000);
  });
});
