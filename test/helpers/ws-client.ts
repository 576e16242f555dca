/** A Node WebSocket client for the e2e suite and benchmarks. */
import WebSocket from "ws";
import type { ServerMessage } from "../../src/protocol/messages";
import { MessageInbox } from "./wait";

export interface Client {
  ws: WebSocket;
  messages: ServerMessage[];
  /** Arrival time (ms, performance.now) of each message. */
  times: number[];
  closed: Promise<{ code: number; reason: string }>;
  next<T extends ServerMessage["type"]>(type: T, timeoutMs?: number): Promise<Extract<ServerMessage, { type: T }>>;
  send(data: Uint8Array | string): Promise<void>;
  sendJson(value: unknown): Promise<void>;
}

export async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  const inbox = new MessageInbox(15_000);
  ws.on("message", (data, isBinary) => {
    if (isBinary) throw new Error("server sent a binary frame");
    inbox.push(JSON.parse(data.toString()) as ServerMessage);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => {
      resolve({ code, reason: reason.toString() });
      inbox.close();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
  });
  const send = (data: Uint8Array | string) =>
    new Promise<void>((resolve, reject) => ws.send(data, (err) => (err ? reject(err) : resolve())));
  return {
    ws,
    messages: inbox.messages,
    times: inbox.times,
    closed,
    send,
    sendJson: (value) => send(JSON.stringify(value)),
    next: (type, timeoutMs) => inbox.next(type, timeoutMs),
  };
}

/** Send a buffer as frames of `frameBytes`, waiting for the socket to drain now and then. */
export async function sendInFrames(client: Client, pcm: Uint8Array, frameBytes: number): Promise<void> {
  for (let at = 0; at < pcm.byteLength; at += frameBytes) {
    const frame = pcm.subarray(at, Math.min(pcm.byteLength, at + frameBytes));
    client.ws.send(frame);
    if (client.ws.bufferedAmount > 4 * 1024 * 1024) {
      while (client.ws.bufferedAmount > 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
    }
  }
  while (client.ws.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 2));
}
