/**
 * The session's client connection: the hibernatable sockets the object
 * accepted, which of them is current (a resume takes over with the next
 * connection number, kept in each socket's attachment so it survives
 * hibernation), and events rendered to the wire by the client's protocol.
 */
import type { ClientProtocol, ControlContext, ProtocolFactory, ProtocolName, SessionEvent } from "../protocol/client-protocol";
import { createDeepgramProtocol } from "../protocol/deepgram/live";
import { CLOSE_CODES } from "../protocol/messages";
import { createNativeProtocol } from "../protocol/native";
import type { CloseSpec } from "./close";
import type { SessionState } from "./state";

const PROTOCOLS: Record<ProtocolName, ProtocolFactory> = { native: createNativeProtocol, deepgram: createDeepgramProtocol };

/**
 * A socket's connection number: read from its attachment once, then from
 * memory (deserializing the attachment on every frame costs; after
 * hibernation the map starts empty and is filled again).
 */
const known = new WeakMap<WebSocket, number>();
function connectionOf(ws: WebSocket): number {
  let connection = known.get(ws);
  if (connection === undefined) {
    connection = (ws.deserializeAttachment() as { connection?: number } | null)?.connection ?? 0;
    known.set(ws, connection);
  }
  return connection;
}

export class ClientSockets {
  readonly #ctx: DurableObjectState;
  readonly #state: SessionState;
  /** The wire's protocol object, one per session object (a wire may remember things between messages). */
  #wire: ClientProtocol | null = null;

  constructor(ctx: DurableObjectState, state: SessionState) {
    this.#ctx = ctx;
    this.#state = state;
  }

  /** Accept a socket as the session's current connection; returns the client end for the 101. */
  accept(): WebSocket {
    const pair = new WebSocketPair();
    this.#ctx.acceptWebSocket(pair[1]);
    pair[1].serializeAttachment({ connection: this.#current() });
    known.set(pair[1], this.#current());
    return pair[0];
  }

  /** The sockets of the current connection (older ones, being closed, hear and say nothing more). */
  current(): WebSocket[] {
    const current = this.#current();
    return this.#ctx.getWebSockets().filter((ws) => connectionOf(ws) === current);
  }

  isCurrent(ws: WebSocket): boolean {
    return connectionOf(ws) === this.#current();
  }

  /** A resume takes over: the current sockets are closed with 4004 and the next connection number begins. */
  takeOver(): number {
    this.closeAll(this.current(), { code: CLOSE_CODES.replaced, reason: "replaced by a newer connection" });
    const connection = this.#current() + 1;
    this.#state.update({ connection, clientGoneAt: null });
    return connection;
  }

  /** Every socket the object holds, current or not (the end closes them all). */
  all(): WebSocket[] {
    return this.#ctx.getWebSockets();
  }

  /** The session ended: every socket is closed, with the close the client's wire uses for it. */
  closeSession(close: Pick<CloseSpec, "code" | "reason">): void {
    this.closeAll(this.all(), this.#protocol().closeWith?.(close) ?? close);
  }

  closeAll(sockets: WebSocket[], close: Pick<CloseSpec, "code" | "reason">): void {
    for (const ws of sockets) {
      try {
        ws.close(close.code, close.reason);
      } catch {
        // Already closed.
      }
    }
  }

  emit(event: SessionEvent): void {
    for (const ws of this.current()) this.emitTo(ws, event);
  }

  emitTo(ws: WebSocket, event: SessionEvent): void {
    const wire = this.#protocol().render(event);
    if (wire === null) return;
    try {
      if (typeof wire === "string") return ws.send(wire);
      // A wire without a recoverable error message answers some input with a close (Deepgram's).
      if (wire.message !== undefined) ws.send(wire.message);
      ws.close(wire.close.code, wire.close.reason);
    } catch {
      // The client is gone; webSocketClose handles it.
    }
  }

  parseControl(text: string, at: ControlContext) {
    return this.#protocol().parseControl(text, at);
  }

  #protocol(): ClientProtocol {
    const meta = this.#state.meta;
    this.#wire ??= PROTOCOLS[meta.protocol ?? "native"](meta);
    return this.#wire;
  }

  #current(): number {
    return this.#state.meta.connection ?? 0;
  }
}
