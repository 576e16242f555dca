/**
 * Resume (DESIGN §4.3.1) against the real local stack, with the resumable
 * client the stream CLI uses: connections destroyed mid-frame, several drops
 * in one session, a drop while `end` is in flight, a worker restart, a
 * takeover by a newer connection, and every refusal. In every case the
 * recording is byte-exact with what the client sent, session.end comes once,
 * finals never repeat and go forward in time, and one job completes.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerMessage } from "../../src/protocol/messages";
import { ResumableStream, StreamRefused } from "../../tools/client/resumable-stream";
import { conversation, pcmBytes, toWav } from "../../tools/fixtures/synth";
import type { Stack } from "../../tools/stack/stack";
import { startOwnStack } from "../helpers/stack";
import { eventually, getJson, sha256, wavData } from "../helpers/http";
import { connect, sendInFrames } from "../helpers/ws-client";
import { streamUrl } from "../helpers/e2e";

const GRACE_SECONDS = 15;
let stack: Stack;

beforeAll(async () => {
  stack = await startOwnStack({ CLIENT_GONE_GRACE_SECONDS: String(GRACE_SECONDS), IDLE_TIMEOUT_SECONDS: "60" });
});

afterAll(async () => {
  await stack?.stop();
});

/** Six turns of two voices with pauses: about 10 s of audio, six finals from the emulator. */
const speech = () => pcmBytes(conversation({ turns: [110, 220, 110, 220, 110, 220].map((f0) => ({ f0, seconds: 1.1 })), gapSeconds: 0.6 }));

function open(query = "enhance_on_end=true") {
  const messages: ServerMessage[] = [];
  const states: string[] = [];
  const stream = new ResumableStream({
    base: stack.wsUrl,
    query: new URLSearchParams(query),
    onMessage: (m) => messages.push(m),
    onState: (s) => states.push(s),
  });
  return { stream, messages, states };
}

/** Send frames of `frameBytes` from `pcm[from, to)`, yielding to the event loop now and then. */
async function sendRange(stream: ResumableStream, pcm: Uint8Array, from: number, to: number, frameBytes = 3200) {
  for (let at = from; at < to; at += frameBytes) {
    stream.send(pcm.subarray(at, Math.min(to, at + frameBytes)));
    if (stream.bufferedAmount > 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
  }
}

/** Break the TCP connection the hard way: no close frame, in the middle of a large frame. */
function destroyMidFrame(stream: ResumableStream, pcm: Uint8Array, at: number): number {
  const big = pcm.subarray(at, Math.min(pcm.byteLength, at + 64_000));
  stream.send(big);
  (stream.socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
  return at + big.byteLength;
}

async function recording(sessionId: string): Promise<Uint8Array> {
  const res = await eventually(async () => {
    const r = await fetch(`${stack.url}/v1/audio/transcriptions/stream/${sessionId}/audio`);
    return r.status === 200 ? r : null;
  }, 60_000);
  return wavData(new Uint8Array(await res.arrayBuffer())).data;
}

/** Everything a user relies on after any number of drops. */
async function expectWhole(sessionId: string, pcm: Uint8Array, messages: ServerMessage[]) {
  expect(messages.filter((m) => m.type === "session.end")).toHaveLength(1);
  expect(sha256(await recording(sessionId))).toBe(sha256(pcm));
  const finals = messages.filter((m): m is Extract<ServerMessage, { type: "transcript.final" }> => m.type === "transcript.final");
  expect(finals.length).toBeGreaterThan(0);
  for (let i = 1; i < finals.length; i++) expect(finals[i]!.start).toBeGreaterThan(finals[i - 1]!.start);
  // Acks only go forward.
  const acks = messages.filter((m) => m.type === "audio.ack").map((m) => (m as { bytes: number }).bytes);
  for (let i = 1; i < acks.length; i++) expect(acks[i]!).toBeGreaterThanOrEqual(acks[i - 1]!);
  const end = messages.find((m) => m.type === "session.end") as Extract<ServerMessage, { type: "session.end" }>;
  expect(end.bytes_dropped).toBe(0);
  const jobId = end.enhancement_job_id!;
  const job = await eventually(async () => {
    const r = await getJson<{ status: string; source_session_id: string }>(`${stack.url}/v1/audio/transcriptions/${jobId}`);
    return r.body.status === "completed" || r.body.status === "failed" ? r.body : null;
  }, 90_000);
  expect(job).toMatchObject({ status: "completed", source_session_id: sessionId });
  return { finals, end };
}

describe("resume (e2e)", () => {
  it("acks are in the client's bytes, and one comes right before session.end with the whole stream", async () => {
    const pcm = speech();
    const { stream, messages } = open("enhance_on_end=true");
    const begin = await stream.start();
    expect(begin.resume_token).toMatch(/^rt_[0-9a-f]{32}$/);
    await sendRange(stream, pcm, 0, pcm.byteLength);
    stream.end();
    await stream.ended;
    const endAt = messages.findIndex((m) => m.type === "session.end");
    expect(messages[endAt - 1]).toEqual({ type: "audio.ack", bytes: pcm.byteLength });
    await expectWhole(begin.session_id, pcm, messages);
    // The token is a secret: it is not in the session record.
    const record = await getJson(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}`);
    expect(JSON.stringify(record.body)).not.toContain(begin.resume_token);
  });

  it("survives three connections destroyed mid-frame: byte-exact, one timeline, one job", async () => {
    const pcm = speech();
    const { stream, messages } = open();
    const begin = await stream.start();
    let at = 0;
    for (const [i, fraction] of [0.2, 0.45, 0.7].entries()) {
      const to = Math.floor((pcm.byteLength * fraction) / 2) * 2;
      await sendRange(stream, pcm, at, to);
      at = destroyMidFrame(stream, pcm, to);
      // The client notices, reconnects, hears where to continue from, and re-sends from there.
      await eventually(async () => stream.state === "open" && messages.filter((m) => m.type === "session.resumed").length === i + 1);
    }
    await sendRange(stream, pcm, at, pcm.byteLength);
    stream.end();
    await stream.ended;
    const resumed = messages.filter((m): m is Extract<ServerMessage, { type: "session.resumed" }> => m.type === "session.resumed");
    expect(resumed).toHaveLength(3);
    for (const r of resumed) {
      expect(r.session_id).toBe(begin.session_id);
      expect(r.bytes_received % 2).toBe(0);
    }
    await expectWhole(begin.session_id, pcm, messages);
  });

  it("a drop while end is in flight: the session ends once (or says it already has), nothing lost", async () => {
    const pcm = speech();
    const { stream, messages } = open();
    const begin = await stream.start();
    await sendRange(stream, pcm, 0, pcm.byteLength);
    stream.end();
    (stream.socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
    const outcome = await stream.ended.then(
      () => "session.end" as const,
      (err: unknown) => err,
    );
    if (outcome !== "session.end") {
      // `end` got through before the drop: the resume is refused with 409 and the record has the result.
      expect(outcome).toBeInstanceOf(StreamRefused);
      expect((outcome as StreamRefused).status).toBe(409);
      expect(JSON.parse((outcome as StreamRefused).body)).toMatchObject({ error: { code: "conflict" } });
      const record = await eventually(async () => {
        const r = await getJson<{ status: string }>(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}`);
        return r.body.status === "completed" ? r.body : null;
      });
      expect(record.status).toBe("completed");
      expect(sha256(await recording(begin.session_id))).toBe(sha256(pcm));
      expect(messages.filter((m) => m.type === "session.end").length).toBeLessThanOrEqual(1);
    } else {
      await expectWhole(begin.session_id, pcm, messages);
    }
  });

  it("resumes after a worker restart (a deploy): nothing lost, timestamps go on", async () => {
    const pcm = speech();
    const { stream, messages } = open();
    const begin = await stream.start();
    const half = Math.floor(pcm.byteLength / 4) * 2;
    await sendRange(stream, pcm, 0, half);
    await stack.restartWorker();
    await sendRange(stream, pcm, half, pcm.byteLength);
    await eventually(async () => stream.state === "open" && messages.some((m) => m.type === "session.resumed"), 60_000);
    stream.end();
    await stream.ended;
    await expectWhole(begin.session_id, pcm, messages);
  });

  it("a client that never comes back after a worker restart: nothing acknowledged is lost, the session is finalized, the job follows", async () => {
    const client = await connect(streamUrl(stack.wsUrl, "enhance_on_end=true"));
    const begin = await client.next("session.begin");
    const pcm = new Uint8Array(randomBytes(2 * 32000));
    await sendInFrames(client, pcm, 3200);
    // Durable is what the session acknowledged (the spool), observed rather than waited for.
    await eventually(async () => client.messages.some((m) => m.type === "audio.ack" && m.bytes === pcm.byteLength));
    await stack.restartWorker();
    await client.closed;
    // A restarted worker on a loaded machine can be slow to come back; the wait ends when the record says so.
    const record = await eventually(async () => {
      const r = await getJson<{ status: string; end_reason: string | null; enhancement_job_id: string }>(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}`);
      return r.body.status !== "active" ? r.body : null;
    }, (GRACE_SECONDS + 120) * 1000);
    // Finalized by the grace period after the restart, not ended by anything else.
    expect(record).toMatchObject({ status: "interrupted", end_reason: "client_gone" });
    expect(sha256(await recording(begin.session_id))).toBe(sha256(pcm));
    const job = await eventually(async () => {
      const r = await getJson<{ status: string }>(`${stack.url}/v1/audio/transcriptions/${record.enhancement_job_id}`);
      return r.body.status === "completed" || r.body.status === "failed" ? r.body : null;
    }, 90_000);
    expect(job.status).toBe("completed");
  });

  it("the stream CLI resumes by itself across a worker restart, and the recording is the whole file", async () => {
    const samples = conversation({ turns: [110, 220, 110, 220].map((f0) => ({ f0, seconds: 1.1 })), gapSeconds: 0.6 });
    const pcm = pcmBytes(samples);
    const file = path.join(mkdtempSync(path.join(tmpdir(), "resume-cli-")), "speech.wav");
    writeFileSync(file, toWav(samples, 16000));
    const child = spawn(process.execPath, [path.resolve("tools/stream-bin.mjs"), file, "--json", "--speed", "2", "--url", stack.url], {
      env: { ...process.env, TRANSCRIBE_API_KEY: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    // Restart once the CLI is streaming (it has printed session.begin), not after a guessed delay.
    await eventually(async () => stdout.includes('"session.begin"'), 60_000, 20);
    await stack.restartWorker();
    expect(await exited).toBe(0);
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l) as ServerMessage);
    expect(stderr).toContain("reconnecting");
    expect(lines.some((m) => m.type === "session.resumed")).toBe(true);
    const end = lines.find((m): m is Extract<ServerMessage, { type: "session.end" }> => m.type === "session.end")!;
    expect(end).toBeDefined();
    expect(sha256(await recording(end.session_id))).toBe(sha256(pcm));
  });

  it("a newer connection takes over a half-open one (closed with 4004); the old one is not heard any more", async () => {
    const pcm = speech();
    const { stream, messages } = open();
    const begin = await stream.start();
    const half = Math.floor(pcm.byteLength / 4) * 2;
    await sendRange(stream, pcm, 0, half);
    const old = stream.socket!;
    const oldClosed = new Promise<number>((resolve) => old.on("close", (code) => resolve(code)));
    // The client moved networks: a second connection resumes while the first is still open.
    const taker = await connect(`${streamUrl(stack.wsUrl)}/${begin.session_id}/resume?resume_token=${begin.resume_token}`);
    const resumed = await taker.next("session.resumed");
    // Audio on the old socket after the takeover (if it still gets through) is ignored, not recorded.
    if (old.readyState === old.OPEN) old.send(new Uint8Array(3200).fill(9));
    expect(await oldClosed).toBe(4004);
    expect(resumed.bytes_received).toBeLessThanOrEqual(half);
    for (let at = resumed.bytes_received; at < pcm.byteLength; at += 3200) taker.ws.send(pcm.subarray(at, Math.min(pcm.byteLength, at + 3200)));
    await taker.sendJson({ type: "end" });
    const end = await taker.next("session.end", 30_000);
    expect(stream.state).toBe("failed"); // 4004 is final for the resumable client: the other connection owns the session
    await expectWhole(begin.session_id, pcm, [...messages.filter((m) => m.type !== "session.end"), ...taker.messages]);
    expect(end.total_duration).toBeCloseTo(pcm.byteLength / 32000, 3);
  });

  it("refuses a resume after the grace period (410), after end (409) and with a wrong token (401)", async () => {
    const resumeUrl = (id: string, token: string) => `${streamUrl(stack.wsUrl)}/${id}/resume?resume_token=${token}`;
    const refusal = (url: string) =>
      connect(url).then(
        () => ({ status: 101, body: "" }),
        (err: { status: number; body: string }) => ({ status: err.status, body: err.body }),
      );
    // Ended with end: 409.
    const ended = await connect(streamUrl(stack.wsUrl));
    const endedBegin = await ended.next("session.begin");
    await ended.sendJson({ type: "end" });
    await ended.next("session.end");
    const conflict = await refusal(resumeUrl(endedBegin.session_id, endedBegin.resume_token));
    expect(conflict.status).toBe(409);
    expect(JSON.parse(conflict.body)).toMatchObject({ error: { code: "conflict" } });

    // Wrong token: 401; no token: 400 naming it; unknown session: 404.
    const live = await connect(streamUrl(stack.wsUrl));
    const liveBegin = await live.next("session.begin");
    expect((await refusal(resumeUrl(liveBegin.session_id, `rt_${"0".repeat(32)}`))).status).toBe(401);
    const missing = await refusal(`${streamUrl(stack.wsUrl)}/${liveBegin.session_id}/resume`);
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: "invalid_request", param: "resume_token" } });
    expect((await refusal(resumeUrl(`sess_${"f".repeat(32)}`, liveBegin.resume_token))).status).toBe(404);

    // Vanished past the grace period: finalized as interrupted, then 410.
    live.ws.terminate();
    await eventually(async () => {
      const r = await getJson<{ status: string }>(`${stack.url}/v1/audio/transcriptions/stream/${liveBegin.session_id}`);
      return r.body.status === "interrupted";
    }, (GRACE_SECONDS + 60) * 1000);
    const gone = await refusal(resumeUrl(liveBegin.session_id, liveBegin.resume_token));
    expect(gone.status).toBe(410);
    expect(JSON.parse(gone.body)).toMatchObject({ error: { code: "gone" } });
  });
});
