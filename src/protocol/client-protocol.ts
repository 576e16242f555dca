/**
 * The seam between a session and the wire (DESIGN §2, "client protocols").
 * A session emits protocol-neutral events and hears protocol-neutral
 * requests; one ClientProtocol per wire format renders the first and parses
 * the second. The native JSON protocol (§4) is the first implementation; a
 * second (Deepgram's) is one more module and a route, with no change to the
 * session's logic.
 */
import type { ClientControlMessage, ServerMessage } from "./messages";

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

export interface ClientProtocol {
  readonly name: "native";
  /** The wire text of an event, or null when this protocol has no message for it. */
  render(event: SessionEvent): string | null;
  parseControl(text: string): ControlRequest;
}
