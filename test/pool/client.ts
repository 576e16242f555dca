/** A small WebSocket client for pool tests: open a session, await messages by type. */
import { SELF } from "cloudflare:test";
import { inject } from "vitest";
import type { ServerMessage } from "../../src/protocol/messages";
import { MessageInbox, eventually as waitUntil } from "../helpers/wait";

export const BASE = "http://service.test";
export const STREAM_PATH = "/v1/audio/transcriptions/stream";

export interface TestSession {
  ws: WebSocket;
  messages: ServerMessage[];
  closed: Promise<{ code: number; reason: string }>;
  next<T extends ServerMessage["type"]>(type: T, timeoutMs?: number): Promise<Extract<ServerMessage, { type: T }>>;
  sendJson(value: unknown): void;
}

export async function openSession(query = ""): Promise<TestSession> {
  const res = await SELF.fetch(`${BASE}${STREAM_PATH}${query ? `?${query}` : ""}`, {
    headers: { Upgrade: "websocket" },
  });
  if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  const ws = res.webSocket;
  ws.accept();
  const inbox = new MessageInbox(10_000);
  ws.addEventListener("message", (event) => inbox.push(JSON.parse(event.data as string) as ServerMessage));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener("close", (event) => {
      resolve({ code: event.code, reason: event.reason });
      inbox.close();
    }),
  );
  return {
    ws,
    messages: inbox.messages,
    closed,
    sendJson: (value) => ws.send(JSON.stringify(value)),
    next: (type, timeoutMs) => inbox.next(type, timeoutMs),
  };
}

/** `seconds` of a 16 kHz s16le tone (speech-like enough for the emulator's VAD), or silence. */
export function pcm16k(seconds: number, { amplitude = 8000, freq = 220 } = {}): Uint8Array {
  const samples = Math.round(seconds * 16000);
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / 16000));
  return new Uint8Array(out.buffer);
}

export async function getJson<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }> {
  const res = await SELF.fetch(`${BASE}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

/** Poll `fn` until it returns something truthy (pool default: 15 s, every 100 ms). */
export const eventually = <T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000) => waitUntil(fn, timeoutMs, 100);

/**
 * Wait until the engine (the emulator) has received `bytes` of this session's
 * audio. The pool can deliver hibernation events out of order (DESIGN §9), so
 * tests that send `end` after audio wait for the audio to be through first.
 */
export async function engineReceived(sessionId: string, bytes: number, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => {
    const stats = (await (await fetch(`${inject("emulatorUrl")}/__emulator/stats`)).json()) as {
      sessions: Record<string, { bytesReceived: number }>;
    };
    return (stats.sessions[sessionId]?.bytesReceived ?? 0) >= bytes;
  }, timeoutMs);
}

/** For sessions without an engine: give out-of-order pool deliveries time to land. */
export const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));
