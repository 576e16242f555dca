/**
 * Limits, on a stack of its own with small limits: idle timeout,
 * maximum duration, frame size, the fallback engine (restarts: resume.test.ts).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversation, pcmBytes } from "../../tools/fixtures/synth";
import { findFreePort } from "../../tools/stack/redis";
import { startStack, type Stack } from "../../tools/stack/stack";
import { eventually, getJson, sha256, wavData } from "../helpers/http";
import { connect, sendInFrames } from "../helpers/ws-client";
import { streamUrl } from "../helpers/e2e";

let stack: Stack;
const wsUrl = (query = "") => streamUrl(stack.wsUrl, query);

beforeAll(async () => {
  // The emulator's port must be known before the stack starts (the fallback URL names it); another
  // process can take a port found free before it is bound, so a taken one is simply tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      stack = await startLimitsStack(await findFreePort());
      return;
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(err))) throw err;
    }
  }
});

async function startLimitsStack(emulatorPort: number): Promise<Stack> {
  return startStack({
    port: await findFreePort(),
    redisPort: 0,
    bridgePort: 0,
    emulatorPort,
    vars: {
      // The first engine is unreachable (nothing listens on port 9); the emulator is the fallback.
      REALTIME_ENGINE_URL: "ws://127.0.0.1:9/v1/realtime",
      REALTIME_FALLBACK_ENGINE: "native",
      REALTIME_FALLBACK_URL: `ws://127.0.0.1:${emulatorPort}/v1/realtime`,
      IDLE_TIMEOUT_SECONDS: "2",
      MAX_SESSION_SECONDS: "3",
      MAX_FRAME_BYTES: "4096",
      CLIENT_GONE_GRACE_SECONDS: "1",
    },
    log: () => undefined,
  });
}

afterAll(async () => {
  await stack?.stop();
});

describe("limits (e2e)", () => {
  it("an idle client gets idle_timeout, then session.end, then close 4000", async () => {
    const client = await connect(wsUrl());
    await client.next("session.begin");
    await client.send(new Uint8Array(3200));
    const error = await client.next("error", 10_000);
    expect(error).toMatchObject({ code: "idle_timeout", recoverable: false });
    const end = await client.next("session.end");
    expect(end.total_duration).toBe(0.1);
    expect((await client.closed).code).toBe(4000);
  });

  it("keepalive keeps an idle session open", async () => {
    const client = await connect(wsUrl());
    await client.next("session.begin");
    for (let i = 0; i < 6; i++) {
      await client.sendJson({ type: "keepalive" });
      await new Promise((r) => setTimeout(r, 500));
    }
    // Still open: no idle_timeout error, no session.end (this stack's sessions also carry an engine_fallback warning).
    expect(client.messages.filter((m) => m.type === "error" || m.type === "session.end")).toEqual([]);
    await client.sendJson({ type: "end" });
    await client.next("session.end");
  });

  it("the maximum duration ends the session cleanly with the recording complete (close 4001)", async () => {
    const client = await connect(wsUrl());
    const begin = await client.next("session.begin");
    const pcm = new Uint8Array(randomBytes(4 * 32000));
    await sendInFrames(client, pcm, 3200);
    const error = await client.next("error");
    expect(error).toMatchObject({ code: "max_duration", recoverable: false });
    const end = await client.next("session.end");
    expect((await client.closed).code).toBe(4001);
    expect(end.total_duration).toBe(3);
    // Everything up to the limit is recorded; frames after it are refused, not recorded.
    const wav = new Uint8Array(await (await fetch(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}/audio`)).arrayBuffer());
    expect(sha256(wavData(wav).data)).toBe(sha256(pcm.subarray(0, 3 * 32000)));
  });

  it("frames above MAX_FRAME_BYTES are refused and not recorded", async () => {
    const client = await connect(wsUrl());
    const begin = await client.next("session.begin");
    const ok = new Uint8Array(randomBytes(4096));
    await client.send(ok);
    await client.send(new Uint8Array(4098));
    const error = await client.next("error");
    expect(error).toMatchObject({ code: "frame_too_large", recoverable: true });
    await client.sendJson({ type: "end" });
    await client.next("session.end");
    const wav = new Uint8Array(await (await fetch(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}/audio`)).arrayBuffer());
    expect(sha256(wavData(wav).data)).toBe(sha256(ok));
  });

  it("uses the fallback engine when the first cannot be reached at session start", async () => {
    const client = await connect(wsUrl());
    await client.next("session.begin");
    const warning = await client.next("warning");
    expect(warning.code).toBe("engine_fallback");
    const turns = [{ f0: 150, seconds: 1 }];
    await sendInFrames(client, pcmBytes(conversation({ turns, gapSeconds: 0.5 })), 3200);
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end");
    expect(end.segments).toHaveLength(1);
    expect(client.messages.some((m) => m.type === "error")).toBe(false);
  });
});
