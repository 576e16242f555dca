/**
 * The session object's collaborators, each on its own: the deadline rules,
 * the typed hand-off, the native protocol's parser, the live-event filter,
 * the close-code echo, and the engine link against the real emulator.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, inject, it } from "vitest";
import { readConfig, type AppEnv } from "../../src/config";
import { nativeProtocol, MAX_CONTROL_CHARS } from "../../src/protocol/native";
import type { EngineEvent, ErrorMessage, WarningMessage } from "../../src/protocol/messages";
import type { SessionConfig } from "../../src/protocol/params";
import { sessionConfig } from "../helpers/session-config";
import { echoableCloseCode } from "../../src/session/close";
import { ACTIVE_HEARTBEAT_MS, dueAction, nextDeadline, wallClockCapMs, type DeadlineInputs } from "../../src/session/deadlines";
import { EngineLink } from "../../src/session/engine-link";
import { decodeHandoff, encodeHandoff, type SessionHandoff } from "../../src/session/handoff";
import { liveEvent } from "../../src/session/live-events";
import { initialMeta, type SessionMeta } from "../../src/session/state";
import { eventually, pcm16k } from "./client";

const config: SessionConfig = sessionConfig();

const meta = (patch: Partial<SessionMeta> = {}): SessionMeta => ({
  ...initialMeta({
    sessionId: "sess_0123456789abcdef0123456789abcdef",
    config,
    protocol: "native",
    owner: "anonymous",
    holdsSlot: false,
    createdAt: 0,
    jobId: null,
    queueSendFailuresToInject: 0,
  }),
  ...patch,
});

const cfg = { idleTimeoutSeconds: 60, clientGoneGraceSeconds: 30, maxSessionSeconds: 10800 };
const inputs = (patch: Partial<SessionMeta> = {}, more: Partial<DeadlineInputs> = {}): DeadlineInputs => ({
  meta: meta(patch),
  lastActivity: 0,
  recordingFinished: false,
  pushDeadline: null,
  ...more,
});

describe("deadline rules", () => {
  it("an active session is due its idle timeout, and is woken at least every heartbeat before it", () => {
    expect(dueAction(inputs(), 59_999, cfg)).toEqual({ kind: "none" });
    expect(dueAction(inputs(), 60_000, cfg)).toEqual({ kind: "end", reason: "idle_timeout" });
    expect(nextDeadline(inputs(), 0, cfg)).toBe(Math.min(60_000, ACTIVE_HEARTBEAT_MS));
    // A long idle timeout does not let the object go unwoken for longer than the heartbeat.
    expect(nextDeadline(inputs(), 0, { ...cfg, idleTimeoutSeconds: 3600 })).toBe(ACTIVE_HEARTBEAT_MS);
  });

  it("a vanished client's grace period replaces the idle timeout", () => {
    const gone = inputs({ clientGoneAt: 1000 });
    expect(dueAction(gone, 30_999, cfg)).toEqual({ kind: "none" });
    expect(dueAction(gone, 31_000, cfg)).toEqual({ kind: "end", reason: "client_gone" });
    expect(nextDeadline(gone, 1000, cfg)).toBe(31_000);
  });

  it("the wall-clock cap ends a session that trickles audio", () => {
    const cap = wallClockCapMs(cfg);
    expect(dueAction(inputs({}, { lastActivity: cap }), cap, cfg)).toEqual({ kind: "end", reason: "max_duration" });
  });

  it("an active session retries a failed store write when its backoff is over", () => {
    const owed = inputs({ pendingRecord: { status: "active" }, storeRetryAt: 5000 });
    expect(nextDeadline(owed, 0, cfg)).toBe(5000);
    expect(dueAction(owed, 4999, cfg)).toEqual({ kind: "none" });
    expect(dueAction(owed, 5000, cfg)).toEqual({ kind: "sync_store" });
  });

  it("an ended session is woken while it owes work, and never after", () => {
    const owing = inputs({ phase: "ended", transcriptSaved: false });
    expect(dueAction(owing, 0, cfg)).toEqual({ kind: "retry_owed" });
    expect(nextDeadline(owing, 0, cfg)).toBe(1000);
    expect(nextDeadline(inputs({ phase: "ended", transcriptSaved: true, storeRetryAt: 9000, pendingRecord: { status: "completed" } }), 0, cfg)).toBe(9000);
    expect(nextDeadline(inputs({ phase: "ended", transcriptSaved: true }, { recordingFinished: true }), 0, cfg)).toBeNull();
    // A job not yet queued keeps it awake, but only once the recording is complete.
    expect(nextDeadline(inputs({ phase: "ended", transcriptSaved: true, jobId: "job_x" }, { recordingFinished: true }), 0, cfg)).toBe(1000);
  });

  it("an object that restarted while ending finishes the end", () => {
    expect(dueAction(inputs({ phase: "ending" }), 0, cfg)).toEqual({ kind: "finish_ending" });
  });
});

describe("session hand-off", () => {
  const handoff: SessionHandoff = { kind: "start", sessionId: "sess_0123456789abcdef0123456789abcdef", config, owner: "key_1", holdsSlot: true, protocol: "native" };

  it("round-trips through the request headers", () => {
    const headers = new Headers();
    encodeHandoff(handoff, headers);
    expect(decodeHandoff(new Request("http://session.test/", { headers }))).toEqual(handoff);
  });

  it("refuses a missing or malformed hand-off instead of half-reading it", () => {
    expect(() => decodeHandoff(new Request("http://session.test/"))).toThrow(/malformed/);
    const bad = (value: unknown) => new Request("http://session.test/", { headers: { "x-session-handoff": JSON.stringify(value) } });
    expect(() => decodeHandoff(bad({ ...handoff, config: { ...config, sample_rate: "16000" } }))).toThrow(/malformed/);
    expect(() => decodeHandoff(bad({ ...handoff, sessionId: "../etc" }))).toThrow(/malformed/);
    expect(() => decodeHandoff(new Request("http://session.test/", { headers: { "x-session-handoff": "{" } }))).toThrow(/not JSON/);
  });
});

describe("native protocol", () => {
  it("parses the three control messages and explains everything else", () => {
    expect(nativeProtocol.parseControl('{"type":"end"}')).toEqual({ type: "end" });
    expect(nativeProtocol.parseControl('{"type":"flush","x":1}')).toEqual({ type: "flush" });
    expect(nativeProtocol.parseControl('{"type":"keepalive"}')).toEqual({ type: "keepalive" });
    expect(nativeProtocol.parseControl("hello")).toMatchObject({ type: "invalid", reason: expect.stringContaining("JSON") });
    expect(nativeProtocol.parseControl("42")).toMatchObject({ type: "invalid", reason: expect.stringContaining("string 'type'") });
    expect(nativeProtocol.parseControl('{"type":"hello"}')).toMatchObject({ type: "invalid", reason: expect.stringContaining("'hello'") });
    expect(nativeProtocol.parseControl(`{"type":"end","pad":"${"x".repeat(MAX_CONTROL_CHARS)}"}`)).toMatchObject({ type: "invalid" });
  });

  it("renders an event as one JSON text frame", () => {
    const event = { type: "transcript.partial" as const, text: "hi", start: 0, end: 0.5 };
    expect(JSON.parse(nativeProtocol.render(event)!)).toEqual(event);
  });
});

describe("live events", () => {
  const final: EngineEvent = { type: "transcript.final", text: "hello", start: 1, end: 2, confidence: 0.9, words: [{ word: "hello", start: 1, end: 2, confidence: 0.9 }] };

  it("keeps finals with text, and words only when asked", () => {
    expect(liveEvent(final, config, 0)).toEqual({
      event: { type: "transcript.final", text: "hello", start: 1, end: 2, confidence: 0.9 },
      final: { text: "hello", start: 1, end: 2, confidence: 0.9 },
    });
    expect(liveEvent(final, { ...config, word_timestamps: true }, 0).event).toMatchObject({ words: [{ word: "hello" }] });
    expect(liveEvent({ ...final, text: "  " }, config, 0).final).toBeNull();
  });

  it("never repeats text for audio a final already covered", () => {
    expect(liveEvent(final, config, 2)).toEqual({ event: null, final: null });
    expect(liveEvent({ type: "transcript.partial", text: "h", start: 1, end: 1.5 }, config, 2).event).toBeNull();
    expect(liveEvent(final, config, 1.5).final).not.toBeNull();
    // The speech_end that follows a final, at the final's own end, is not stale; one inside covered audio is.
    expect(liveEvent({ type: "vad.speech_end", timestamp: 2 }, config, 2).event).not.toBeNull();
    expect(liveEvent({ type: "vad.speech_start", timestamp: 1 }, config, 2).event).toBeNull();
  });

  it("drops VAD and partials the client did not ask for", () => {
    expect(liveEvent({ type: "vad.speech_start", timestamp: 1 }, { ...config, enable_vad: false }, 0).event).toBeNull();
    expect(liveEvent({ type: "transcript.partial", text: "h", start: 0, end: 1 }, { ...config, interim_results: false }, 0).event).toBeNull();
    expect(liveEvent({ type: "error", code: "internal_error", message: "boom", recoverable: true }, config, 0).event).toMatchObject({
      code: "engine_unavailable",
      message: "engine: boom",
    });
  });
});

describe("close echo", () => {
  it("echoes sendable codes and answers the reserved ones with 1000", () => {
    for (const code of [1000, 1001, 1003, 1007, 1011, 3000, 4000, 4999]) expect(echoableCloseCode(code)).toBe(code);
    for (const code of [1004, 1005, 1006, 1015, 2000, 5000]) expect(echoableCloseCode(code)).toBe(1000);
  });
});

describe("engine link (against the emulator)", () => {
  afterEach(async () => {
    await fetch(`${inject("emulatorUrl")}/__emulator/reset`, { method: "POST" });
  });

  function harness(sessionId: string) {
    const recorded: Uint8Array[] = [];
    let recordedBytes = 0;
    const events: EngineEvent[] = [];
    const notes: (WarningMessage | ErrorMessage)[] = [];
    const flags = { onFallback: false, engineGaveUp: false };
    const finals: number[] = [];
    const link = new EngineLink(
      {
        sessionId,
        config,
        phase: () => "active",
        flags,
        setFlags: (patch) => Object.assign(flags, patch),
        lastFinalEnd: () => finals[finals.length - 1] ?? 0,
        spool: {
          get recordedBytes() {
            return recordedBytes;
          },
          readTail(fromByte, maxBytes) {
            const all = new Uint8Array(recordedBytes);
            let at = 0;
            for (const chunk of recorded) all.set(chunk, (at += chunk.byteLength) - chunk.byteLength);
            const start = Math.max(fromByte, recordedBytes - maxBytes);
            return { start, bytes: all.subarray(start) };
          },
        },
        onEvent: (event) => {
          events.push(event);
          if (event.type === "transcript.final") finals.push(event.end);
        },
        notify: (message) => notes.push(message),
      },
      readConfig(env as AppEnv).realtime,
      (env as AppEnv).AI,
    );
    const feed = (pcm: Uint8Array) => {
      recorded.push(pcm);
      recordedBytes += pcm.byteLength;
      link.feed(pcm, Date.now());
    };
    return { link, feed, events, notes };
  }

  it("relays audio and emits finals on the stream timeline, then finishes", async () => {
    const { link, feed, events } = harness(`sess_${"a".repeat(32)}`);
    link.start();
    feed(pcm16k(0.5, { amplitude: 0 }));
    feed(pcm16k(1.2));
    feed(pcm16k(0.8, { amplitude: 0 }));
    await link.finish(10_000);
    const final = events.find((e) => e.type === "transcript.final");
    expect(final).toBeDefined();
    expect(final!.type === "transcript.final" && final!.start).toBeGreaterThanOrEqual(0.4);
  });

  it("after a drop it reconnects, re-sends what was not finalized and keeps the stream timeline", async () => {
    await fetch(`${inject("emulatorUrl")}/__emulator/control`, { method: "POST", body: JSON.stringify({ dropAfterBytes: 3 * 32000 }) });
    const sessionId = `sess_${"b".repeat(32)}`;
    const { link, feed, events, notes } = harness(sessionId);
    link.start();
    // The emulator reads the switch when a connection opens: only the first link drops.
    await eventually(async () => {
      const stats = (await (await fetch(`${inject("emulatorUrl")}/__emulator/stats`)).json()) as { sessions: Record<string, unknown> };
      return stats.sessions[sessionId] !== undefined;
    });
    await fetch(`${inject("emulatorUrl")}/__emulator/control`, { method: "POST", body: JSON.stringify({ dropAfterBytes: null }) });
    // Turn 1 (0.5–1.7 s), then a drop at 3 s, then turn 2 (3.5–4.7 s).
    for (const [seconds, amplitude] of [[0.5, 0], [1.2, 8000], [1.3, 0], [0.5, 0], [1.2, 8000], [0.8, 0]] as const) {
      feed(pcm16k(seconds, { amplitude }));
      await new Promise((r) => setTimeout(r, 50));
    }
    await eventually(async () => notes.some((n) => n.type === "warning" && n.code === "engine_recovered"));
    await link.finish(10_000);
    const finals = events.filter((e): e is Extract<EngineEvent, { type: "transcript.final" }> => e.type === "transcript.final");
    expect(notes.map((n) => n.type === "warning" && n.code)).toEqual(["engine_reconnecting", "engine_recovered"]);
    expect(finals.length).toBe(2);
    expect(finals[1]!.start).toBeGreaterThan(3.3);
    expect(finals[1]!.start).toBeGreaterThan(finals[0]!.end);
  });
});
