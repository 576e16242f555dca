import type { EngineEvent } from "../../protocol/messages";
import type {
  RealtimeEngine,
  RealtimeSession,
  RealtimeSessionCallbacks,
  RealtimeSessionOptions,
} from "./types";
import { LinkOutbox, waitAtMost } from "./link";

export interface NativeEngineOptions {
  /** ws(s):// or http(s):// URL of an engine speaking the native protocol. */
  url: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /**
   * Most audio held while the link is connecting. Past this the link is
   * declared failed rather than growing without bound; the recording keeps
   * the audio either way.
   * @default 1_920_000 (60 s of 16 kHz s16)
   */
  maxPendingBytes?: number;
  /**
   * How long to wait for the engine to accept the connection.
   * @default 10000
   */
  connectTimeoutMs?: number;
}

const DEFAULTS = { maxPendingBytes: 1_920_000, connectTimeoutMs: 10_000 };

/** A self-hosted (or emulated) engine reached over the native WebSocket protocol. */
export class NativeWebSocketEngine implements RealtimeEngine {
  readonly name = "native";
  #options: Required<Omit<NativeEngineOptions, "apiKey">> & { apiKey?: string };

  constructor(options: NativeEngineOptions) {
    this.#options = { ...DEFAULTS, ...options };
  }

  createSession(options: RealtimeSessionOptions, callbacks: RealtimeSessionCallbacks): RealtimeSession {
    return new NativeSession(this.#options, options, callbacks);
  }
}

class NativeSession implements RealtimeSession {
  state: RealtimeSession["state"] = "connecting";
  #socket: WebSocket | null = null;
  #outbox: LinkOutbox;
  #callbacks: RealtimeSessionCallbacks;
  #engine: NativeEngineOptions & typeof DEFAULTS;
  #failed = false;
  #finished: Promise<void>;
  #resolveFinished!: () => void;

  constructor(
    engine: NativeEngineOptions & typeof DEFAULTS,
    options: RealtimeSessionOptions,
    callbacks: RealtimeSessionCallbacks,
  ) {
    this.#engine = engine;
    this.#outbox = new LinkOutbox(engine.maxPendingBytes);
    this.#callbacks = callbacks;
    this.#finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    void this.#connect(options);
  }

  feed(pcm: Uint8Array): void {
    this.#send(pcm);
  }

  flush(): void {
    this.#send(JSON.stringify({ type: "flush" }));
  }

  keepAlive(): void {
    if (this.state === "open") this.#socket?.send(JSON.stringify({ type: "keepalive" }));
  }

  async finish(timeoutMs: number): Promise<void> {
    if (this.state === "closed") return;
    this.#send(JSON.stringify({ type: "end" }));
    await waitAtMost(this.#finished, timeoutMs);
    this.close();
  }

  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.#outbox.clear();
    try {
      this.#socket?.close(1000, "session finished");
    } catch {
      // Already closing; nothing to release.
    }
    this.#resolveFinished();
  }

  #send(data: Uint8Array | string): void {
    if (this.state === "closed") return;
    if (!this.#outbox.send(data)) this.#fail("connect", "engine did not accept the connection before its queue filled");
  }

  async #connect(options: RealtimeSessionOptions): Promise<void> {
    const url = new URL(this.#engine.url);
    url.protocol = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
    url.searchParams.set("model", options.model);
    url.searchParams.set("language", options.language);
    url.searchParams.set("sample_rate", "16000");
    url.searchParams.set("encoding", "pcm_s16le");
    url.searchParams.set("interim_results", String(options.interimResults));
    url.searchParams.set("word_timestamps", String(options.wordTimestamps));
    url.searchParams.set("session_id", options.sessionId);
    const headers: Record<string, string> = { Upgrade: "websocket" };
    if (this.#engine.apiKey) headers.Authorization = `Bearer ${this.#engine.apiKey}`;

    // Aborted only if the upgrade itself takes too long: a signal still armed
    // after the upgrade would tear down the open socket when it fires.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${this.#engine.connectTimeoutMs} ms`)), this.#engine.connectTimeoutMs);
    let response: Response;
    try {
      response = await fetch(url.toString(), { headers, signal: abort.signal });
    } catch (err) {
      this.#fail("connect", `engine unreachable: ${describe(err)}`);
      return;
    } finally {
      clearTimeout(timer);
    }
    const socket = response.webSocket;
    if (!socket) {
      this.#fail("connect", `engine refused the connection (HTTP ${response.status})`);
      return;
    }
    if (this.state === "closed") {
      socket.accept();
      socket.close(1000, "session finished");
      return;
    }
    socket.accept();
    this.#socket = socket;
    socket.addEventListener("message", (event) => this.#onMessage(event.data));
    socket.addEventListener("close", (event) => {
      if (this.state === "closed") return;
      // A close after the engine's session.end is the normal end of a link.
      this.#fail("runtime", `engine closed the link (${event.code}${event.reason ? `: ${event.reason}` : ""})`);
    });
    socket.addEventListener("error", () => this.#fail("runtime", "engine link error"));

    this.state = "open";
    this.#outbox.open(socket);
    this.#callbacks.onOpen?.();
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    let event: EngineEvent;
    try {
      event = JSON.parse(data) as EngineEvent;
    } catch {
      return; // An engine bug must not take the session down; the recording is unaffected.
    }
    if (typeof event !== "object" || event === null) return;
    if (event.type === "session.end") {
      this.state = "closed";
      this.#resolveFinished();
      return;
    }
    this.#callbacks.onEvent(event);
  }

  #fail(phase: "connect" | "runtime", message: string): void {
    if (this.#failed || this.state === "closed") return;
    this.#failed = true;
    this.state = "closed";
    this.#outbox.clear();
    try {
      this.#socket?.close(1011, "link failed");
    } catch {
      // The socket is already gone.
    }
    this.#resolveFinished();
    this.#callbacks.onFailure({ phase, message });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
