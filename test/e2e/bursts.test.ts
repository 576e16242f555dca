/**
 * Bursts against a stack with a small message rate (100/s, bursts of 200):
 * `end` is never lost behind a flood, drops are reported a few times (not
 * once per frame), and the client can always tell exactly what the recording
 * holds: what it sent minus `bytes_dropped`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorMessage } from "../../src/protocol/messages";
import { conversation, pcmBytes } from "../../tools/fixtures/synth";
import type { Stack } from "../../tools/stack/stack";
import { startOwnStack } from "../helpers/stack";
import { eventually, getJson, wavData } from "../helpers/http";
import { connect, sendInFrames, type Client } from "../helpers/ws-client";
import { streamUrl } from "../helpers/e2e";

const RATE = 100;
let stack: Stack;
const wsUrl = (query = "") => streamUrl(stack.wsUrl, query);

beforeAll(async () => {
  // The idle timeout stays long (60 s): a lost `end` shows as no session.end, not as a quick idle close.
  stack = await startOwnStack({ MAX_MESSAGES_PER_SECOND: String(RATE), CLIENT_GONE_GRACE_SECONDS: "1" });
});

afterAll(async () => {
  await stack?.stop();
});

const speech = () => pcmBytes(conversation({ turns: [{ f0: 140, seconds: 0.2 }], gapSeconds: 0 }));

/** Send `count` messages back to back (no waiting between them), then wait for the socket to drain. */
async function flood(client: Client, count: number, message: () => Uint8Array | string): Promise<void> {
  for (let i = 0; i < count; i++) client.ws.send(message());
  while (client.ws.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 2));
}

async function endAndWait(client: Client) {
  await client.sendJson({ type: "end" });
  // Well inside the 60 s idle timeout: without the fix the session only ended by idle_timeout.
  return client.next("session.end", 30_000);
}

async function recording(sessionId: string): Promise<Uint8Array> {
  const res = await eventually(async () => {
    const r = await fetch(`${stack.url}/v1/audio/transcriptions/stream/${sessionId}/audio`);
    return r.status === 200 ? r : null;
  });
  return wavData(new Uint8Array(await res.arrayBuffer())).data;
}

describe("bursts and the message rate (e2e)", () => {
  it("end is honoured after 5,000 audio frames over the rate; the recording is what was sent minus bytes_dropped", async () => {
    const client = await connect(wsUrl());
    const begin = await client.next("session.begin");
    const head = speech();
    await sendInFrames(client, head, 3200);
    const tiny = new Uint8Array(64).fill(7);
    await flood(client, 5000, () => tiny);
    const end = await endAndWait(client);
    const sent = head.byteLength + 5000 * tiny.byteLength;

    expect(end.bytes_dropped).toBeGreaterThan(0);
    const data = await recording(begin.session_id);
    expect(data.byteLength).toBe(sent - end.bytes_dropped);
    expect(end.total_duration).toBeCloseTo(data.byteLength / 32000, 3);

    // Reported a few times, never once per frame: at most one report per second of the flood.
    const reports = client.messages.flatMap((m, i) => (m.type === "error" && m.code === "rate_limited" ? [{ m, at: client.times[i]! }] : []));
    expect(reports.length).toBeGreaterThanOrEqual(1);
    const spanMs = reports[reports.length - 1]!.at - reports[0]!.at;
    expect(reports.length).toBeLessThanOrEqual(Math.ceil(spanMs / 1000) + 1);
    expect(client.messages.filter((m) => m.type === "error" && m.code !== "rate_limited")).toEqual([]);
    // Each report carries running totals: they only grow, and the last is within what session.end says.
    const totals = reports.map(({ m }) => m as ErrorMessage);
    for (const [i, r] of totals.entries()) {
      expect(r.recoverable).toBe(true);
      expect(r.frames_dropped).toBeGreaterThan(0);
      expect(r.bytes_dropped).toBe(r.frames_dropped! * tiny.byteLength);
      if (i > 0) expect(r.bytes_dropped).toBeGreaterThan(totals[i - 1]!.bytes_dropped!);
    }
    expect(totals[totals.length - 1]!.bytes_dropped).toBeLessThanOrEqual(end.bytes_dropped);

    // The session record says the same.
    const record = await eventually(async () => {
      const r = await getJson<{ status: string; bytes_dropped: number; bytes_recorded: number }>(
        `${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}`,
      );
      return r.body.status === "completed" ? r.body : null;
    });
    expect(record.bytes_dropped).toBe(end.bytes_dropped);
    expect(record.bytes_recorded).toBe(data.byteLength);
  });

  it("end is honoured after 5,000 keepalives and 5,000 flushes; control messages drop nothing and get no errors", async () => {
    const client = await connect(wsUrl());
    const begin = await client.next("session.begin");
    const head = speech();
    await sendInFrames(client, head, 3200);
    await flood(client, 5000, () => '{"type":"keepalive"}');
    await flood(client, 5000, () => '{"type":"flush"}');
    const end = await endAndWait(client);
    expect(end.bytes_dropped).toBe(0);
    expect(client.messages.filter((m) => m.type === "error")).toEqual([]);
    expect(await recording(begin.session_id)).toEqual(head);
  });

  it("a flood of invalid control messages gets a bounded number of replies, and the session goes on", async () => {
    const client = await connect(wsUrl());
    await client.next("session.begin");
    const started = performance.now();
    await flood(client, 5000, () => '{"type":"nope"}');
    const end = await endAndWait(client);
    const seconds = (performance.now() - started) / 1000;
    const replies = client.messages.filter((m) => m.type === "error");
    expect(replies.length).toBeGreaterThanOrEqual(1);
    expect(replies.every((m) => m.type === "error" && m.code === "invalid_message")).toBe(true);
    // A full bucket (2 × rate) plus the rate for however long the flood took to arrive.
    expect(replies.length).toBeLessThanOrEqual(2 * RATE + Math.ceil(seconds) * RATE);
    expect(end.bytes_dropped).toBe(0);
  });

  it("a control message longer than the limit is refused unparsed, and the session goes on", async () => {
    const client = await connect(wsUrl());
    await client.next("session.begin");
    await client.send(JSON.stringify({ type: "flush", pad: "x".repeat(5000) }));
    const error = await client.next("error");
    expect(error).toMatchObject({ code: "invalid_message", recoverable: true });
    expect(error.message).toContain("4096");
    await endAndWait(client);
  });
});
