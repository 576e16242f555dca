/**
 * The real-time relay against the real local stack: wrangler dev, the session
 * object, the emulator over its WebSocket protocol, redis behind the bridge.
 */
import { describe, expect, inject, it } from "vitest";
import { conversation, conversationTimeline, pcmBytes, silence } from "../../tools/fixtures/synth";
import { EMULATOR_SCRIPT } from "../../tools/emulator/script";
import type { ServerMessage } from "../../src/protocol/messages";
import { connect, sendInFrames } from "../helpers/ws-client";
import { sha256 } from "../helpers/http";
import { service, wsUrl, emulator, resetEmulatorAfterEach } from "../helpers/e2e";

resetEmulatorAfterEach();

const num = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;

/** Every message is one of DESIGN §4.3's, with its fields of the right types. */
function assertWellFormed(m: ServerMessage): void {
  switch (m.type) {
    case "session.begin":
      expect(m.session_id).toMatch(/^sess_[0-9a-f]{32}$/);
      expect(typeof m.config).toBe("object");
      expect(Object.keys(m.enhancement).sort()).toEqual(["emotions", "llm_cleanup", "requested"]);
      return;
    case "vad.speech_start":
    case "vad.speech_end":
      expect(num(m.timestamp)).toBe(true);
      return;
    case "transcript.partial":
      expect(typeof m.text).toBe("string");
      expect(num(m.start) && num(m.end) && m.end >= m.start).toBe(true);
      return;
    case "transcript.final":
      expect(typeof m.text).toBe("string");
      expect(num(m.start) && num(m.end) && m.end >= m.start).toBe(true);
      expect(m.confidence).toBeGreaterThanOrEqual(0);
      expect(m.confidence).toBeLessThanOrEqual(1);
      for (const w of m.words ?? []) {
        expect(typeof w.word).toBe("string");
        expect(num(w.start) && num(w.end) && w.end >= w.start).toBe(true);
      }
      return;
    case "warning":
    case "error":
      expect(typeof m.code).toBe("string");
      expect(typeof m.message).toBe("string");
      if (m.type === "error") expect(typeof m.recoverable).toBe("boolean");
      return;
    case "audio.ack":
      expect(Number.isInteger(m.bytes) && m.bytes >= 0).toBe(true);
      return;
    case "session.end":
      expect(num(m.total_duration)).toBe(true);
      expect(typeof m.transcript).toBe("string");
      expect(Array.isArray(m.segments)).toBe(true);
      expect(Number.isInteger(m.bytes_dropped) && m.bytes_dropped >= 0).toBe(true);
      return;
    default:
      throw new Error(`unexpected message type ${(m as { type: string }).type}`);
  }
}

describe("real-time relay (e2e)", () => {
  it("relays every frame in order and each speech turn comes back as partials then a final, on the stream timeline", async () => {
    const turns = [
      { f0: 120, seconds: 1.2 },
      { f0: 220, seconds: 1.0 },
      { f0: 120, seconds: 1.4 },
    ];
    const pcm = pcmBytes(conversation({ turns, gapSeconds: 0.8 }));
    const timeline = conversationTimeline({ turns, gapSeconds: 0.8 });
    const client = await connect(wsUrl("word_timestamps=true"));
    const begin = await client.next("session.begin");
    await sendInFrames(client, pcm, 3200);
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end");
    expect((await client.closed).code).toBe(1000);

    for (const m of client.messages) assertWellFormed(m);
    expect(client.messages[0]!.type).toBe("session.begin");
    expect(client.messages.at(-1)!.type).toBe("session.end");

    const finals = client.messages.filter((m) => m.type === "transcript.final");
    expect(finals.map((f) => f.text)).toEqual(EMULATOR_SCRIPT.slice(0, 3));
    finals.forEach((f, i) => {
      expect(Math.abs(f.start - timeline[i]!.start)).toBeLessThan(0.1);
      expect(Math.abs(f.end - timeline[i]!.end)).toBeLessThan(0.1);
      expect(f.words!.length).toBeGreaterThan(0);
    });
    // Each final is preceded by its speech_start and at least one partial.
    const types = client.messages.map((m) => m.type);
    for (let i = 0, seen = 0; i < types.length; i++) {
      if (types[i] !== "transcript.final") continue;
      const before = types.slice(seen, i);
      expect(before).toContain("vad.speech_start");
      expect(before).toContain("transcript.partial");
      seen = i + 1;
    }
    // …and followed by its speech_end at the final's end.
    const speechEnds = client.messages.filter((m) => m.type === "vad.speech_end");
    expect(speechEnds.map((m) => m.type === "vad.speech_end" && m.timestamp)).toEqual(finals.map((f) => f.type === "transcript.final" && f.end));
    expect(end.transcript).toBe(EMULATOR_SCRIPT.slice(0, 3).join(" "));
    expect(end.segments.map((s) => s.text)).toEqual(EMULATOR_SCRIPT.slice(0, 3));
    expect(end.total_duration).toBeCloseTo(pcm.byteLength / 32000, 3);

    // The engine received exactly what the client sent, in order.
    const stats = (await (await fetch(`${inject("emulatorUrl")}/__emulator/stats`)).json()) as {
      sessions: Record<string, { bytesReceived: number; audioSha256: string }>;
    };
    const engineSide = stats.sessions[begin.session_id]!;
    expect(engineSide.bytesReceived).toBe(pcm.byteLength);
    expect(engineSide.audioSha256).toBe(sha256(pcm));
  });

  it("honours interim_results=false and enable_vad=false", async () => {
    const pcm = pcmBytes(conversation({ turns: [{ f0: 150, seconds: 1.5 }], gapSeconds: 0.5 }));
    const client = await connect(wsUrl("interim_results=false&enable_vad=false"));
    await client.next("session.begin");
    await sendInFrames(client, pcm, 8000);
    await client.sendJson({ type: "end" });
    await client.next("session.end");
    const types = new Set(client.messages.map((m) => m.type));
    expect(types.has("transcript.final")).toBe(true);
    expect(types.has("transcript.partial")).toBe(false);
    expect(types.has("vad.speech_start")).toBe(false);
  });

  it("flush finalizes the open utterance right away", async () => {
    const client = await connect(wsUrl());
    await client.next("session.begin");
    await sendInFrames(client, pcmBytes(conversation({ turns: [{ f0: 150, seconds: 1.0 }], gapSeconds: 0 })), 3200);
    await client.sendJson({ type: "flush" });
    const final = await client.next("transcript.final", 5000);
    expect(final.text).toBe(EMULATOR_SCRIPT[0]);
    await client.sendJson({ type: "end" });
    await client.next("session.end");
  });

  it("answers bad messages and frames with recoverable errors, and the session goes on", async () => {
    const client = await connect(wsUrl());
    await client.next("session.begin");
    await client.send("hello");
    await client.sendJson({ type: "unknown" });
    await client.sendJson(42);
    await client.send(new Uint8Array(5));
    await client.send(new Uint8Array(300_000));
    await client.sendJson({ type: "keepalive" });
    for (let i = 0; i < 5; i++) {
      const e = await client.next("error");
      expect(e.recoverable).toBe(true);
      expect(["invalid_message", "invalid_frame", "frame_too_large"]).toContain(e.code);
    }
    await client.send(pcmBytes(silence(0.5)));
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end");
    expect(end.total_duration).toBe(0.5);
    expect(client.messages.filter((m) => m.type === "error")).toHaveLength(5);
    // The refused frames are accounted for: 5 odd bytes + the oversized frame.
    expect(end.bytes_dropped).toBe(5 + 300_000);
  });

  it("completes the closing handshake when the client closes first (its close is echoed)", async () => {
    for (const code of [1000, 4321]) {
      const client = await connect(wsUrl());
      await client.next("session.begin");
      await client.send(pcmBytes(silence(0.2)));
      client.ws.close(code, "client leaves");
      const closed = await client.closed;
      // A clean close carries the code back; an unanswered one ends as 1006 after ws's 30 s close timeout.
      expect(closed.code).toBe(code);
    }
  });

  it("refuses bad parameters with 400 before upgrading, and session parameters without the upgrade with 426", async () => {
    await expect(connect(wsUrl("sample_rate=1"))).rejects.toMatchObject({ status: 400 });
    await expect(connect(wsUrl("enhance_emotions=true"))).rejects.toMatchObject({ status: 400 });
    const res = await fetch(`${service()}/v1/audio/transcriptions/stream?encoding=mulaw`);
    expect(res.status).toBe(426);
    // Without session parameters a plain GET is the caller's session list (README "Session history").
    expect((await fetch(`${service()}/v1/audio/transcriptions/stream`)).status).toBe(200);
    const bad = await connect(wsUrl("encoding=opus")).catch((err: { status: number; body: string }) => err);
    expect(bad).toMatchObject({ status: 400 });
    expect(JSON.parse((bad as { body: string }).body).error).toMatchObject({ code: "invalid_request", param: "encoding" });
  });

  it("keeps the session (recording only) when the engine refuses connections", async () => {
    await emulator("/__emulator/control", { refuseConnections: true });
    const client = await connect(wsUrl());
    await client.next("session.begin");
    const error = await client.next("error");
    expect(error).toMatchObject({ code: "engine_unavailable", recoverable: true });
    await sendInFrames(client, pcmBytes(conversation({ turns: [{ f0: 150, seconds: 1 }], gapSeconds: 0.2 })), 3200);
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end");
    expect(end.transcript).toBe("");
    expect(end.total_duration).toBeGreaterThan(1);
    expect((await client.closed).code).toBe(1000);
  });

  it("ends with session.end after the engine's last result even when results are slow", async () => {
    await emulator("/__emulator/control", { resultDelayMs: 400 });
    const client = await connect(wsUrl());
    await client.next("session.begin");
    await sendInFrames(client, pcmBytes(conversation({ turns: [{ f0: 150, seconds: 1 }], gapSeconds: 0.5 })), 3200);
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end");
    const finalIndex = client.messages.findIndex((m) => m.type === "transcript.final");
    expect(finalIndex).toBeGreaterThan(0);
    expect(finalIndex).toBeLessThan(client.messages.indexOf(end));
  });

  it("reconnects when the engine drops mid-session: warnings, continuous timestamps, every turn once, nothing lost", async () => {
    const turns = [1.2, 1.2, 1.2, 1.2].map((seconds, i) => ({ f0: i % 2 ? 220 : 120, seconds }));
    const pcm = pcmBytes(conversation({ turns, gapSeconds: 0.8 }));
    const timeline = conversationTimeline({ turns, gapSeconds: 0.8 });
    // Only the first engine connection takes this setting (read when a connection opens).
    await emulator("/__emulator/control", { dropAfterBytes: Math.round(3.4 * 16000) * 2 });
    const client = await connect(wsUrl());
    const begin = await client.next("session.begin");
    const stats = async () =>
      ((await (await fetch(`${inject("emulatorUrl")}/__emulator/stats`)).json()) as {
        sessions: Record<string, { connections: number; bytesReceived: number }>;
      }).sessions[begin.session_id];
    for (let i = 0; i < 100 && !(await stats()); i++) await new Promise((r) => setTimeout(r, 20));
    await emulator("/__emulator/control", { dropAfterBytes: null });

    // At real-time pace, so the drop happens mid-stream.
    for (let at = 0; at < pcm.byteLength; at += 6400) {
      await client.send(pcm.subarray(at, at + 6400));
      await new Promise((r) => setTimeout(r, 200));
    }
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end", 20_000);

    const warnings = client.messages.filter((m) => m.type === "warning").map((m) => m.type === "warning" && m.code);
    expect(warnings).toEqual(["engine_reconnecting", "engine_recovered"]);
    expect(client.messages.some((m) => m.type === "error")).toBe(false);
    expect((await stats())!.connections).toBe(2);

    const finals = client.messages.filter((m) => m.type === "transcript.final");
    expect(finals).toHaveLength(turns.length);
    finals.forEach((f, i) => {
      expect(Math.abs(f.start - timeline[i]!.start)).toBeLessThan(0.1);
      expect(Math.abs(f.end - timeline[i]!.end)).toBeLessThan(0.1);
    });
    expect(end.segments).toHaveLength(turns.length);

    const wav = new Uint8Array(await (await fetch(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}/audio`)).arrayBuffer());
    expect(sha256(wav.subarray(44))).toBe(sha256(pcm));
  });

  it("keeps one engine link for a session longer than the engine connect timeout (no spurious reconnects)", async () => {
    const client = await connect(wsUrl());
    const begin = await client.next("session.begin");
    const second = new Uint8Array(32000);
    // 12 s at real time: past the adapter's 10 s connect timeout, which must not end an open link.
    for (let i = 0; i < 12; i++) {
      await client.send(second);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await client.sendJson({ type: "end" });
    await client.next("session.end");
    expect(client.messages.filter((m) => m.type === "warning" || m.type === "error")).toEqual([]);
    const stats = (await (await fetch(`${inject("emulatorUrl")}/__emulator/stats`)).json()) as {
      sessions: Record<string, { connections: number; bytesReceived: number }>;
    };
    expect(stats.sessions[begin.session_id]).toMatchObject({ connections: 1, bytesReceived: 12 * 32000 });
  });
});
