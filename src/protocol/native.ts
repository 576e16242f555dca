/**
 * The native real-time protocol (DESIGN §4) as a ClientProtocol: every event
 * is one JSON text frame; control messages are `{"type": "flush" | "end" |
 * "keepalive"}`.
 */
import type { ClientProtocol, ControlRequest, ProtocolFactory, SessionEvent } from "./client-protocol";
import { CLIENT_MESSAGE_TYPES, type ClientControlMessage } from "./messages";

/** Control messages are small JSON; longer text is refused unparsed. */
export const MAX_CONTROL_CHARS = 4096;

export const nativeProtocol = {
  name: "native",
  // Every event has a native message, so this wire never answers null or a close.
  render: (event: SessionEvent): string => JSON.stringify(event),
  parseControl,
} as const satisfies ClientProtocol;

/** The native protocol keeps nothing per session: every session shares one object. */
export const createNativeProtocol: ProtocolFactory = () => nativeProtocol;

function parseControl(text: string): ControlRequest {
  if (text.length > MAX_CONTROL_CHARS) return invalid(`control messages are at most ${MAX_CONTROL_CHARS} characters`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return invalid("text frames must be JSON control messages");
  }
  const type = typeof parsed === "object" && parsed !== null ? (parsed as { type?: unknown }).type : undefined;
  if (typeof type !== "string") return invalid("control messages must be JSON objects with a string 'type'");
  if (type === "end") return (parsed as { await_enhancement?: unknown }).await_enhancement === true ? { type, await_enhancement: true } : { type };
  if ((CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)) return { type } as ClientControlMessage;
  return invalid(`unknown message type '${type.slice(0, 64)}'; expected ${CLIENT_MESSAGE_TYPES.join(", ")}`);
}

const invalid = (reason: string): ControlRequest => ({ type: "invalid", reason });
