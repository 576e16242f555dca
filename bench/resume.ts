/**
 * Resume after a dropped connection: N sessions, each streams one turn and
 * half of the next, loses its TCP connection (destroyed, no close frame),
 * reconnects to `…/resume` at once and sends the rest from `bytes_received`.
 * Measured per drop: reconnect start → `session.resumed`, and → the next
 * `transcript.final` (the turn that was cut in half).
 */
import WebSocket from "ws";
import { summarize, type Summary } from "./stats";

export interface ResumeResult {
  drops: number;
  failed: number;
  toResumed: Summary;
  toNextFinal: Summary;
  failures: string[];
}

type Msg = { type: string; [k: string]: unknown };

function open(url: string): Promise<{ ws: WebSocket; next: (type: string, timeoutMs?: number) => Promise<Msg & { at: number }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const seen: (Msg & { at: number })[] = [];
    const waiters: (() => void)[] = [];
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      seen.push({ ...(JSON.parse(data.toString()) as Msg), at: performance.now() });
      for (const w of waiters.splice(0)) w();
    });
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("open", () =>
      resolve({
        ws,
        next: async (type, timeoutMs = 15_000) => {
          const deadline = performance.now() + timeoutMs;
          for (let from = 0; ; ) {
            const i = seen.findIndex((m, j) => j >= from && m.type === type);
            if (i >= 0) return seen[i]!;
            from = seen.length;
            if (performance.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms`);
            await new Promise<void>((r) => {
              waiters.push(r);
              setTimeout(r, 50);
            });
          }
        },
      }),
    );
  });
}

export async function resumeDrops(opts: { wsBase: string; pcm: Uint8Array; cutAt: number; drops: number }): Promise<ResumeResult> {
  const toResumed: number[] = [];
  const toNextFinal: number[] = [];
  const failures: string[] = [];
  const stream = `${opts.wsBase}/v1/audio/transcriptions/stream`;
  for (let i = 0; i < opts.drops; i++) {
    try {
      const first = await open(stream);
      const begin = await first.next("session.begin");
      for (let at = 0; at < opts.cutAt; at += 3200) first.ws.send(opts.pcm.subarray(at, Math.min(opts.cutAt, at + 3200)));
      await first.next("transcript.final");
      (first.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
      const t0 = performance.now();
      const again = await open(`${stream}/${String(begin.session_id)}/resume?resume_token=${String(begin.resume_token)}`);
      const resumed = await again.next("session.resumed");
      toResumed.push(resumed.at - t0);
      const from = Number(resumed.bytes_received);
      for (let at = from; at < opts.pcm.byteLength; at += 3200) again.ws.send(opts.pcm.subarray(at, Math.min(opts.pcm.byteLength, at + 3200)));
      const final = await again.next("transcript.final");
      toNextFinal.push(final.at - t0);
      again.ws.send(JSON.stringify({ type: "end" }));
      await again.next("session.end");
      again.ws.close();
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  return { drops: opts.drops, failed: failures.length, toResumed: summarize(toResumed), toNextFinal: summarize(toNextFinal), failures: failures.slice(0, 5) };
}
