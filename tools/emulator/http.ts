/**
 * HTTP plumbing shared by the engine servers (the emulator and the local
 * speech engine): JSON answers and refused upgrades that name the engine in an
 * `X-Engine` header, and bounded body reads.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { HttpAnswer } from "./types";

export function sendJson(res: http.ServerResponse, answer: HttpAnswer, engine = "emulator"): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-engine": engine,
  });
  res.end(text);
}

export function rejectUpgrade(socket: Duplex, status: number, body: unknown, engine = "emulator"): void {
  const text = JSON.stringify(body);
  socket.on("error", () => {});
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ""}\r\n` +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      `X-Engine: ${engine}\r\n` +
      "Connection: close\r\n\r\n" +
      text,
  );
}

/** Whole body, or null when it exceeds `limit` (the rest is drained so the client sees the answer). */
export async function readBody(req: http.IncomingMessage, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) return null;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Starts listening; resolves with the bound port and the host as it goes in a URL (IPv6 in brackets). */
export async function listen(server: http.Server, port: number, host: string): Promise<{ port: number; hostPart: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { port: (server.address() as AddressInfo).port, hostPart: host.includes(":") ? `[${host}]` : host };
}
