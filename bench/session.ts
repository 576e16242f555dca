/**
 * Lean WebSocket clients for the benchmark: one to the service
 * (/v1/audio/transcriptions/stream), one straight to the emulator's
 * /v1/realtime. Text messages are only parsed when they can matter
 * (session.*, error), so the load generator stays cheap.
 */
import WebSocket from "ws";

export interface BenchSocket {
  ws: WebSocket;
  /** Service: the session id from session.begin. Direct: the session_id query parameter. */
  key: string;
  errorCount: number;
  errorSamples: string[];
  warningCount: number;
  warningSamples: string[];
  textMessages: number;
  /** Resolves with the session.end message (null if the socket closed without one). */
  ended: Promise<Record<string, unknown> | null>;
  closed: Promise<{ code: number; reason: string }>;
  isOpen(): boolean;
}

function attach(ws: WebSocket, onBegin?: (msg: Record<string, unknown>) => void) {
  let resolveEnd!: (m: Record<string, unknown> | null) => void;
  const ended = new Promise<Record<string, unknown> | null>((r) => (resolveEnd = r));
  const state = { errorCount: 0, errorSamples: [] as string[], warningCount: 0, warningSamples: [] as string[], textMessages: 0 };
  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    state.textMessages++;
    const text = data.toString();
    if (!text.includes('"type":"session.') && !text.includes('"type":"error"') && !text.includes('"type":"warning"')) return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.type === "session.begin") onBegin?.(msg);
    else if (msg.type === "session.end") resolveEnd(msg);
    else if (msg.type === "error") {
      state.errorCount++;
      if (state.errorSamples.length < 5) state.errorSamples.push(`${String(msg.code)}: ${String(msg.message)}`);
    } else if (msg.type === "warning") {
      state.warningCount++;
      if (state.warningSamples.length < 5) state.warningSamples.push(`${String(msg.code)}: ${String(msg.message)}`);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => {
      resolveEnd(null);
      resolve({ code, reason: reason.toString() });
    }),
  );
  ws.on("error", () => {
    // Reported through close / the open promise.
  });
  return { ended, closed, state };
}

function opened(ws: WebSocket, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no WebSocket open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`HTTP ${res.statusCode}`));
      ws.terminate();
    });
  });
}

export async function openService(wsBase: string, query: string, timeoutMs = 30_000): Promise<BenchSocket> {
  const url = `${wsBase}/v1/audio/transcriptions/stream${query ? `?${query}` : ""}`;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  let resolveBegin!: (id: string) => void;
  const begin = new Promise<string>((r) => (resolveBegin = r));
  const { ended, closed, state } = attach(ws, (msg) => resolveBegin(String(msg.session_id)));
  await opened(ws, timeoutMs);
  const key = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no session.begin within ${timeoutMs} ms`)), timeoutMs);
    void begin.then((id) => {
      clearTimeout(timer);
      resolve(id);
    });
    void closed.then((c) => {
      clearTimeout(timer);
      reject(new Error(`closed (${c.code}) before session.begin`));
    });
  });
  return socket(ws, key, ended, closed, state);
}

export async function openDirect(emulatorWsUrl: string, key: string, timeoutMs = 30_000): Promise<BenchSocket> {
  const q = new URLSearchParams({ session_id: key, model: "emulator-realtime", sample_rate: "16000", encoding: "pcm_s16le" });
  const ws = new WebSocket(`${emulatorWsUrl}?${q}`, { perMessageDeflate: false });
  const { ended, closed, state } = attach(ws);
  await opened(ws, timeoutMs);
  return socket(ws, key, ended, closed, state);
}

function socket(
  ws: WebSocket,
  key: string,
  ended: Promise<Record<string, unknown> | null>,
  closed: Promise<{ code: number; reason: string }>,
  state: { errorCount: number; errorSamples: string[]; warningCount: number; warningSamples: string[]; textMessages: number },
): BenchSocket {
  return {
    ws,
    key,
    get errorCount() {
      return state.errorCount;
    },
    get errorSamples() {
      return state.errorSamples;
    },
    get warningCount() {
      return state.warningCount;
    },
    get warningSamples() {
      return state.warningSamples;
    },
    get textMessages() {
      return state.textMessages;
    },
    ended,
    closed,
    isOpen: () => ws.readyState === WebSocket.OPEN,
  };
}

/** Sends `end` and waits for session.end; returns the message (or null) and the wait in ms. */
export async function endSession(
  s: BenchSocket,
  timeoutMs: number,
): Promise<{ end: Record<string, unknown> | null; ms: number }> {
  const t0 = performance.now();
  if (!s.isOpen()) return { end: null, ms: NaN };
  s.ws.send(JSON.stringify({ type: "end" }));
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([s.ended, new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)))]);
  clearTimeout(timer);
  return { end, ms: performance.now() - t0 };
}

/** Waits for the close (or gives up after `timeoutMs` and terminates). */
export async function closeSocket(s: BenchSocket, timeoutMs = 5000): Promise<void> {
  if (s.ws.readyState === WebSocket.OPEN) s.ws.close(1000);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([s.closed, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  if (s.ws.readyState !== WebSocket.CLOSED) s.ws.terminate();
}

/**
 * Streams `pcm` in `frameBytes` frames as fast as the socket drains: at most
 * `maxInFlight` frames are handed to the socket and not yet written.
 * Resolves when the last frame has been written to the kernel.
 */
export function streamFast(s: BenchSocket, pcm: Uint8Array, frameBytes: number, maxInFlight = 32): Promise<{ firstSendMs: number; writtenMs: number; frames: number }> {
  return new Promise((resolve, reject) => {
    let at = 0;
    let inflight = 0;
    let frames = 0;
    let failed = false;
    const firstSendMs = performance.now();
    const pump = (): void => {
      while (!failed && inflight < maxInFlight && at < pcm.byteLength) {
        const frame = pcm.subarray(at, Math.min(pcm.byteLength, at + frameBytes));
        at += frame.byteLength;
        inflight++;
        frames++;
        s.ws.send(frame, (err) => {
          inflight--;
          if (err) {
            if (!failed) reject(err);
            failed = true;
            return;
          }
          if (at >= pcm.byteLength && inflight === 0) resolve({ firstSendMs, writtenMs: performance.now(), frames });
          else pump();
        });
      }
    };
    pump();
  });
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
