/**
 * The lifecycle every realtime engine link shares, whatever the engine:
 * connecting → open → closed, audio queued (bounded) until the socket opens,
 * a bounded connect, finish() that asks the engine to end and waits a bounded
 * time for its last results, and exactly one onFailure per link.
 *
 * An adapter extends {@link SocketLink} and only says how to open its socket
 * (`request`), what its frames mean (`onMessage`), what it still owes when the
 * stream ends (`settle`) and how to word each problem (`describe`), so the
 * session sees the same behaviour from every engine.
 */
import { errorMessage } from "../../log";
import type { EngineEvent } from "../../protocol/messages";
import { LinkOutbox, waitAtMost } from "./link";
import type { EngineFailure, RealtimeSession, RealtimeSessionCallbacks } from "./types";

export type LinkState = "connecting" | "open" | "closed";

/** A problem on the link, for the adapter to put in its own words (engine name, model). */
export type LinkProblem =
  | { kind: "unreachable"; detail: string }
  | { kind: "refused"; status: number; body: string }
  | { kind: "queue-full" }
  | { kind: "closed"; code: number; reason: string }
  | { kind: "socket-error" }
  | { kind: "never-opened"; timeoutMs: number };

export interface SocketLinkSettings {
  /** Most audio held while connecting; past it the link fails (the recording keeps the audio). */
  maxPendingBytes: number;
  /** How long the engine has to accept the connection. */
  connectTimeoutMs: number;
  /** Text frame asking the engine to send its last results and end. */
  endMessage: string;
  /** Text frame that keeps an idle stream open, or null when the engine needs none. */
  keepAliveMessage: string | null;
}

/** Longest part of a refusal body kept in a failure message. */
const MAX_BODY_CHARS = 200;

export abstract class SocketLink implements RealtimeSession {
  #state: LinkState = "connecting";
  #socket: WebSocket | null = null;
  #finishing = false;
  readonly #outbox: LinkOutbox;
  readonly #settings: SocketLinkSettings;
  readonly #callbacks: RealtimeSessionCallbacks;
  readonly #finished: Promise<void>;
  #resolveFinished!: () => void;

  constructor(settings: SocketLinkSettings, callbacks: RealtimeSessionCallbacks) {
    this.#settings = settings;
    this.#callbacks = callbacks;
    this.#outbox = new LinkOutbox(settings.maxPendingBytes);
    this.#finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    // Deferred: the subclass is fully built first, and callbacks never fire
    // before createSession has returned.
    void Promise.resolve().then(() => this.#connect());
  }

  /** Where the link is in its lifecycle (tests and adapters read it; the session does not). */
  get state(): LinkState {
    return this.#state;
  }

  feed(pcm: Uint8Array): void {
    this.send(pcm);
  }

  abstract flush(): void;

  keepAlive(): void {
    const message = this.#settings.keepAliveMessage;
    // Only an open stream can time out; while connecting there is nothing to keep alive.
    if (message !== null && this.#is("open")) this.#socket?.send(message);
  }

  async finish(timeoutMs: number): Promise<void> {
    if (this.#is("closed")) return;
    if (!this.#finishing) {
      this.#finishing = true;
      this.send(this.#settings.endMessage);
    }
    await waitAtMost(this.#finished, timeoutMs);
    // Timed out with the stream still up: what the engine owes is emitted from what it sent.
    if (this.#is("open")) this.end();
    // Never opened: the queued audio was not transcribed, and the session is told so.
    if (this.#is("connecting")) this.fail("connect", this.describe({ kind: "never-opened", timeoutMs }));
    this.close();
  }

  close(): void {
    if (this.#is("closed")) return;
    this.#release(1000, "session finished");
  }

  /** Send now, or queue while connecting; a queue past its bound fails the link. */
  protected send(data: Uint8Array | string): void {
    if (this.#is("closed")) return;
    if (!this.#outbox.send(data)) this.fail("connect", this.describe({ kind: "queue-full" }));
  }

  protected emit(event: EngineEvent): void {
    this.#callbacks.onEvent(event);
  }

  /** finish() was called: the engine closing the socket is now the normal end. */
  protected get finishing(): boolean {
    return this.#finishing;
  }

  /** The stream ended as asked: emit what the engine still owes, then release finish(). */
  protected end(): void {
    if (this.#is("closed")) return;
    for (const event of this.settle()) this.emit(event);
    this.close();
  }

  /** Events the engine still owes when its stream ends (an open turn, open speech). */
  protected settle(): EngineEvent[] {
    return [];
  }

  /** The link failed: no further events; onFailure is called once. */
  protected fail(phase: EngineFailure["phase"], message: string): void {
    if (this.#is("closed")) return;
    this.#release(1011, "link failed");
    this.#callbacks.onFailure({ phase, message });
  }

  /** A reason not to connect at all (e.g. an unknown model), checked before `request`. */
  protected refuseBeforeConnect(): string | null {
    return null;
  }

  /** Ask the engine for its socket: a Response carrying `webSocket`. May throw (unreachable). */
  protected abstract request(signal: AbortSignal): Promise<Response>;

  /** One frame from the engine (never called once the link is closed). */
  protected abstract onMessage(data: unknown): void;

  protected abstract describe(problem: LinkProblem): string;

  /** Read through a call: the state changes across awaits and callbacks, which narrowing does not see. */
  #is(state: LinkState): boolean {
    return this.#state === state;
  }

  #release(code: number, reason: string): void {
    this.#state = "closed";
    this.#outbox.clear();
    // Answering the engine's Close frame too: compatibility dates before 2026-04-07 do not reply by themselves.
    closeQuietly(this.#socket, code, reason);
    this.#resolveFinished();
  }

  async #connect(): Promise<void> {
    const refusal = this.refuseBeforeConnect();
    if (refusal !== null) {
      this.fail("connect", refusal);
      return;
    }
    if (this.#is("closed")) return;
    let response: Response;
    try {
      response = await this.#requestWithin(this.#settings.connectTimeoutMs);
    } catch (err) {
      this.fail("connect", this.describe({ kind: "unreachable", detail: errorMessage(err) }));
      return;
    }
    const socket = response.webSocket;
    if (!socket) {
      const body = await response.text().catch(() => "");
      this.fail("connect", this.describe({ kind: "refused", status: response.status, body: body.slice(0, MAX_BODY_CHARS) }));
      return;
    }
    socket.accept();
    if (this.#is("closed")) {
      closeQuietly(socket, 1000, "session finished");
      return;
    }
    this.#socket = socket;
    socket.addEventListener("message", (event) => {
      if (!this.#is("closed")) this.onMessage(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (this.#is("closed")) return;
      if (this.#finishing) this.end();
      else this.fail("runtime", this.describe({ kind: "closed", code: event.code, reason: event.reason }));
    });
    socket.addEventListener("error", () => this.fail("runtime", this.describe({ kind: "socket-error" })));

    this.#state = "open";
    this.#outbox.open(socket);
    this.#callbacks.onOpen?.();
  }

  /**
   * `request`, given up after `ms`. The signal is aborted only when we give up:
   * one that fired later could end an open stream. A socket that arrives after
   * we gave up is closed at once.
   */
  async #requestWithin(ms: number): Promise<Response> {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    let gaveUp = false;
    const pending = Promise.resolve().then(() => this.request(abort.signal));
    pending.then(
      (late) => {
        if (gaveUp) closeQuietly(late.webSocket, 1000, "session finished", { accept: true });
      },
      () => undefined,
    );
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        gaveUp = true;
        const err = new Error(`no answer within ${ms} ms`);
        abort.abort(err);
        reject(err);
      }, ms);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }
}

function closeQuietly(socket: WebSocket | null | undefined, code: number, reason: string, options: { accept?: boolean } = {}): void {
  if (!socket) return;
  try {
    if (options.accept) socket.accept();
  } catch {
    // Already accepted.
  }
  try {
    socket.close(code, reason);
  } catch {
    // Already closing, or gone.
  }
}
