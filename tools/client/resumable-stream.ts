/**
 * A streaming session that survives dropped connections (DESIGN §4.3.1): it
 * keeps the audio the service has not acknowledged (`audio.ack`), and when the
 * connection drops without `session.end` it reconnects to
 * `…/stream/{session_id}/resume` with the session's `resume_token`, hears
 * `session.resumed` (the byte the service holds up to) and re-sends from that
 * byte. The stream CLI is built on it, and the e2e suite drives it.
 */
import WebSocket from "ws";
import type { ServerMessage } from "../../src/protocol/messages";

export type StreamState = "connecting" | "open" | "reconnecting" | "ended" | "failed";

export interface ResumableStreamOptions {
  /** `ws(s)://host[:port]` of the service. */
  base: string;
  /** Query of the session (encoding, sample_rate, enhance_on_end, …). */
  query: URLSearchParams;
  /** Headers for every connection (credentials). */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** Query credentials for every connection (`token` for browsers: one-use, so a fresh one each time). */
  credentials?: () => Record<string, string> | Promise<Record<string, string>>;
  /** Reconnect after an unexpected close. @default true */
  resume?: boolean;
  /** Give up reconnecting after this long without a connection (the service's grace is 60 s). @default 55000 */
  resumeWindowMs?: number;
  onMessage?: (message: ServerMessage) => void;
  onState?: (state: StreamState, detail: string) => void;
  /** Every close of the connection that carried the session (also after session.end). */
  onClose?: (code: number, reason: string) => void;
}

/** A refusal of the first connection or of a resume: HTTP status and the service's error JSON. */
export class StreamRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly phase: "start" | "resume",
  ) {
    super(`HTTP ${status}: ${body}`);
  }
}

/** The connection closed before session.end, and reconnecting could not help (or was off). */
export class StreamClosed extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`connection closed (code ${code})${reason ? ` — ${reason}` : ""}`);
  }
}

/** Close codes after which reconnecting cannot help (README "Errors and close codes"). */
const FINAL_CLOSES = new Set([4000, 4001, 4003, 4004]);

export class ResumableStream {
  readonly #options: Required<Pick<ResumableStreamOptions, "resume" | "resumeWindowMs">> & ResumableStreamOptions;
  #ws: WebSocket | null = null;
  #state: StreamState = "connecting";
  #sessionId: string | null = null;
  #resumeToken: string | null = null;
  /** Frames not yet acknowledged, with their offsets in the stream. */
  #pending: { at: number; bytes: Uint8Array }[] = [];
  /** Bytes of the stream handed to send() so far. */
  #sent = 0;
  #acked = 0;
  #endRequested = false;
  #ended: Promise<ServerMessage & { type: "session.end" }>;
  #resolveEnded!: (m: ServerMessage & { type: "session.end" }) => void;
  #rejectEnded!: (err: Error) => void;
  /** Connections made (1 + resumes). */
  connections = 0;

  constructor(options: ResumableStreamOptions) {
    this.#options = { resume: true, resumeWindowMs: 55_000, ...options };
    this.#ended = new Promise((resolve, reject) => {
      this.#resolveEnded = resolve;
      this.#rejectEnded = reject;
    });
    this.#ended.catch(() => undefined);
  }

  get sessionId(): string | null {
    return this.#sessionId;
  }

  get state(): StreamState {
    return this.#state;
  }

  /** The current socket (tests reach through it to break the connection). */
  get socket(): WebSocket | null {
    return this.#ws;
  }

  /** Bytes the service has acknowledged as durably stored. */
  get acked(): number {
    return this.#acked;
  }

  /** Resolves with `session.end`; rejects when the session cannot go on. */
  get ended(): Promise<ServerMessage & { type: "session.end" }> {
    return this.#ended;
  }

  /** Open the session; resolves once `session.begin` arrived. */
  async start(): Promise<ServerMessage & { type: "session.begin" }> {
    const url = `${this.#options.base}/v1/audio/transcriptions/stream?${await this.#query(this.#options.query)}`;
    const begin = await this.#connect(url, "start");
    return begin as ServerMessage & { type: "session.begin" };
  }

  /** Send audio (queued while reconnecting; kept until acknowledged). */
  send(frame: Uint8Array): void {
    this.#pending.push({ at: this.#sent, bytes: frame });
    this.#sent += frame.byteLength;
    if (this.#state === "open" && this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(frame);
  }

  /** End the session (after a reconnect, `end` is sent again). */
  end(): void {
    this.#endRequested = true;
    if (this.#state === "open" && this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify({ type: "end" }));
  }

  sendJson(value: unknown): void {
    if (this.#state === "open" && this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(value));
  }

  /** Bytes the socket still has to write (for pacing). */
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  /** Stop for good (no reconnect). */
  close(): void {
    this.#setState("failed", "closed by the client");
    this.#ws?.close(1000);
  }

  async #query(query: URLSearchParams): Promise<string> {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries((await this.#options.credentials?.()) ?? {})) q.set(k, v);
    return q.toString();
  }

  /** Open one connection; resolves with its first message (session.begin or session.resumed). */
  #connect(url: string, phase: "start" | "resume"): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      void (async () => {
        const ws = new WebSocket(url, { headers: (await this.#options.headers?.()) ?? {}, perMessageDeflate: false });
        this.#ws = ws;
        this.connections++;
        let first = true;
        ws.on("unexpected-response", (_req, res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => reject(new StreamRefused(res.statusCode ?? 0, body, phase)));
        });
        ws.on("error", (err) => {
          if (first) reject(err);
        });
        ws.on("message", (data, isBinary) => {
          if (isBinary) return;
          const msg = JSON.parse(data.toString()) as ServerMessage;
          if (first) {
            first = false;
            this.#onFirst(ws, msg);
            resolve(msg);
          }
          this.#onMessage(msg);
        });
        // Only a connection that carried the session can drop it; a failed attempt is the loop's business.
        ws.on("close", (code, reason) => {
          if (this.#ws !== ws || first) return;
          this.#options.onClose?.(code, reason.toString());
          this.#onClose(code, reason.toString());
        });
      })().catch(reject);
    });
  }

  #onFirst(ws: WebSocket, msg: ServerMessage): void {
    if (msg.type === "session.begin") {
      this.#sessionId = msg.session_id;
      this.#resumeToken = msg.resume_token;
    }
    this.#setState("open", msg.type);
    if (msg.type === "session.resumed") {
      // Everything from the byte the service holds up to, again, then `end` if it was asked for.
      this.#ack(msg.bytes_received);
      for (const { at, bytes } of this.#pending) ws.send(at >= msg.bytes_received ? bytes : bytes.subarray(msg.bytes_received - at));
      if (this.#endRequested) ws.send(JSON.stringify({ type: "end" }));
    }
  }

  #onMessage(msg: ServerMessage): void {
    if (msg.type === "audio.ack") this.#ack(msg.bytes);
    if (msg.type === "session.end") {
      this.#setState("ended", "session.end");
      this.#resolveEnded(msg);
    }
    this.#options.onMessage?.(msg);
  }

  /** Forget audio the service holds. */
  #ack(bytes: number): void {
    this.#acked = Math.max(this.#acked, bytes);
    while (this.#pending.length > 0 && this.#pending[0]!.at + this.#pending[0]!.bytes.byteLength <= this.#acked) this.#pending.shift();
  }

  #onClose(code: number, reason: string): void {
    if (this.#state === "ended" || this.#state === "failed" || this.#state === "reconnecting") return;
    if (!this.#options.resume || FINAL_CLOSES.has(code) || !this.#sessionId || !this.#resumeToken) {
      this.#fail(new StreamClosed(code, reason));
      return;
    }
    this.#setState("reconnecting", `connection closed (code ${code})`);
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    const deadline = Date.now() + this.#options.resumeWindowMs;
    for (let attempt = 1; this.#state === "reconnecting"; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** (attempt - 1))));
      const query = await this.#query(new URLSearchParams({ resume_token: this.#resumeToken! }));
      try {
        await this.#connect(`${this.#options.base}/v1/audio/transcriptions/stream/${this.#sessionId}/resume?${query}`, "resume");
        return;
      } catch (err) {
        // 409: the session ended (our `end` got through before the drop); 410: finalized; 401/404: not ours.
        if (err instanceof StreamRefused && err.status !== 503 && err.status !== 502) return this.#fail(err);
        if (Date.now() > deadline) return this.#fail(new Error(`could not reconnect within ${this.#options.resumeWindowMs} ms: ${(err as Error).message}`));
        this.#options.onState?.("reconnecting", `attempt ${attempt} failed: ${(err as Error).message}`);
      }
    }
  }

  #fail(err: Error): void {
    this.#setState("failed", err.message);
    this.#rejectEnded(err);
  }

  #setState(state: StreamState, detail: string): void {
    if (this.#state === state && state !== "reconnecting") return;
    this.#state = state;
    this.#options.onState?.(state, detail);
  }
}
