import type { EngineEvent } from "../../protocol/messages";
import { SocketLink, type LinkProblem } from "./socket-link";
import type { RealtimeEngine, RealtimeSession, RealtimeSessionCallbacks, RealtimeSessionOptions } from "./types";

export interface NativeEngineOptions {
  /** ws(s):// or http(s):// URL of an engine speaking the native protocol. */
  url: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string | undefined;
  /** Most audio held while connecting (config: REALTIME_MAX_PENDING_BYTES). */
  maxPendingBytes: number;
  /** How long the engine has to accept the connection (config: REALTIME_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
}

/** A self-hosted (or emulated) engine reached over the native WebSocket protocol. */
export class NativeWebSocketEngine implements RealtimeEngine {
  readonly name = "native";
  readonly #options: NativeEngineOptions;

  constructor(options: NativeEngineOptions) {
    this.#options = options;
  }

  createSession(options: RealtimeSessionOptions, callbacks: RealtimeSessionCallbacks): RealtimeSession {
    return new NativeLink(this.#options, options, callbacks);
  }
}

class NativeLink extends SocketLink {
  readonly #engine: NativeEngineOptions;
  readonly #session: RealtimeSessionOptions;

  constructor(engine: NativeEngineOptions, session: RealtimeSessionOptions, callbacks: RealtimeSessionCallbacks) {
    super(
      {
        maxPendingBytes: engine.maxPendingBytes,
        connectTimeoutMs: engine.connectTimeoutMs,
        endMessage: JSON.stringify({ type: "end" }),
        keepAliveMessage: JSON.stringify({ type: "keepalive" }),
      },
      callbacks,
    );
    this.#engine = engine;
    this.#session = session;
  }

  flush(): void {
    this.send(JSON.stringify({ type: "flush" }));
  }

  protected request(signal: AbortSignal): Promise<Response> {
    const options = this.#session;
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
    return fetch(url.toString(), { headers, signal });
  }

  protected onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    let event: EngineEvent;
    try {
      event = JSON.parse(data) as EngineEvent;
    } catch {
      return; // An engine bug must not take the session down; the recording is unaffected.
    }
    if (typeof event !== "object" || event === null) return;
    // The engine's last word: everything it owed has been sent.
    if (event.type === "session.end") this.end();
    else this.emit(event);
  }

  protected describe(problem: LinkProblem): string {
    switch (problem.kind) {
      case "unreachable":
        return `engine unreachable: ${problem.detail}`;
      case "refused":
        return `engine refused the connection (HTTP ${problem.status})`;
      case "queue-full":
        return "engine did not accept the connection before its queue filled";
      case "closed":
        return `engine closed the link (${problem.code}${problem.reason ? `: ${problem.reason}` : ""})`;
      case "socket-error":
        return "engine link error";
      case "never-opened":
        return `engine did not accept the connection within ${problem.timeoutMs} ms of the end`;
    }
  }
}
