/**
 * A local webhook receiver for the e2e suite (plain http on loopback, which
 * the local stack allows): records every request and verifies each with the
 * Standard Webhooks reference library; can fail the first N requests.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedHook {
  headers: Record<string, string>;
  body: string;
  /** The verified payload, or the verification error. */
  verified: { ok: true; payload: unknown } | { ok: false; error: string };
  /** What the receiver answered. */
  answered: number;
}

export interface Receiver {
  url: string;
  received: ReceivedHook[];
  /** Answer the next `n` requests with `status` (then 200 again). */
  failNext(n: number, status?: number): void;
  /** Hold the next `n` answers back for `ms`. */
  delayNext(n: number, ms: number): void;
  close(): Promise<void>;
}

export async function startReceiver(secret: string): Promise<Receiver> {
  const received: ReceivedHook[] = [];
  let failures = 0;
  let failStatus = 500;
  let delays = 0;
  let delayMs = 0;
  const verifier = new Webhook(secret);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified: ReceivedHook["verified"];
      try {
        verified = { ok: true, payload: verifier.verify(body, headers) };
      } catch (err) {
        verified = { ok: false, error: (err as Error).message };
      }
      const answered = failures > 0 ? failStatus : 200;
      if (failures > 0) failures--;
      received.push({ headers, body, verified, answered });
      const wait = delays > 0 ? delayMs : 0;
      if (delays > 0) delays--;
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(answered, { "content-type": "text/plain" }).end(answered === 200 ? "ok" : "try again");
      }, wait);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/edge-transcribe`,
    received,
    failNext(n, status = 500) {
      failures = n;
      failStatus = status;
    },
    delayNext(n, ms) {
      delays = n;
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
