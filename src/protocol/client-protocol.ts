/**
 * The seam between a session and the wire (DESIGN §2, "client protocols").
 * A session emits protocol-neutral events and hears protocol-neutral
 * requests; one ClientProtocol per wire format renders the first and parses
 * the second. The native JSON protocol (§4) is the first implementation,
 * Deepgram's live API (./deepgram/live.ts) the second: each is one module and
 * a route, with no change to the session's logic.
 */
import type { DeepgramLiveOptions } from "./deepgram/params";
import type { ClientControlMessage, ServerMessage } from "./messages";
import type { SessionConfig } from "./params";

/** The wire protocols a session can speak (the hand-off's `protocol`). */
export const PROTOCOL_NAMES = ["native", "deepgram"] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

/**
 * What a session tells its client: begin, vad, partial, final, warning,
 * error, end. Their fields are the session's own vocabulary (stream-timeline
 * seconds, codes of protocol/messages.ts); the native protocol happens to put
 * them on the wire as they are.
 */
export type SessionEvent = ServerMessage;

/** What a client's text frame asks the session to do. Binary frames are always audio. */
export type ControlRequest =
  | ClientControlMessage
  /** Not a request this protocol knows; `reason` is said to the client (recoverable). */
  | { type: "invalid"; reason: string };

/** Where the session is when a control message arrives. */
export interface ControlContext {
  /** Seconds of audio received so far (the stream timeline of every event). */
  streamSeconds: number;
}

export interface WireClose {
  code: number;
  reason: string;
}

/**
 * What `render` may answer besides a message: close the connection. For a
 * wire with no recoverable error message (Deepgram's), where its documented
 * behaviour for the same input is a close frame.
 */
export interface CloseInstead {
  close: WireClose;
  /** Sent just before the close (the wire's own error message, where it has one). */
  message?: string;
}

/** What a protocol knows of its session: fixed at the session's start. */
export interface ProtocolSession {
  sessionId: string;
  createdAt: number;
  config: SessionConfig;
  /** Present when the client speaks Deepgram's live API. */
  deepgram?: DeepgramLiveOptions;
}

export interface ClientProtocol {
  readonly name: ProtocolName;
  /** The wire text of an event, a close instead of it, or null when this protocol has no message for it. */
  render(event: SessionEvent): string | CloseInstead | null;
  parseControl(text: string, at: ControlContext): ControlRequest;
  /** The close this wire uses for the session's own (DESIGN §4.3); absent: the session's own. */
  closeWith?(close: WireClose): WireClose;
}

/**
 * One protocol object per session object (and per restart of it): a wire
 * that must remember something between messages (Deepgram's `from_finalize`)
 * keeps it there. What must survive a restart belongs to the session.
 */
export type ProtocolFactory = (session: ProtocolSession) => ClientProtocol;
