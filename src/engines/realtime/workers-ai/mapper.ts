/**
 * What a model-specific mapper (./nova3.ts, ./flux.ts) gives the link: the
 * inputs of `AI.run`, what flush() and the end of the stream mean, and the
 * native-protocol events (DESIGN §4.3) for each Deepgram message, with
 * timestamps on the link's own timeline (the session adds its offset).
 */
import { ERROR_CODES, type EngineEvent } from "../../../protocol/messages";
import type { RawMessage } from "./messages";

/**
 * Inputs of `AI.run(model, inputs, { websocket: true })`. The binding sends
 * them JSON-encoded (workerd src/cloudflare/internal/ai-api.ts), so booleans
 * and numbers arrive as such: each mapper sends the type its model's input
 * schema declares.
 */
export type RunInputs = Record<string, string | number | boolean>;

export interface MapResult {
  events: EngineEvent[];
  /** The engine's last message of the stream (nova-3's closing Metadata). */
  terminal?: boolean;
  /** The message has a shape this mapper does not know (logged once per link). */
  unrecognised?: boolean;
}

/** What flush() does: a control frame to send, and/or events to emit now. */
export interface FlushAction {
  message: string | null;
  events: EngineEvent[];
}

export interface Mapper {
  readonly inputs: RunInputs;
  flush(): FlushAction;
  map(message: RawMessage): MapResult;
  /** At the end of the stream: events the engine still owes (open turn, open speech). */
  settle(): EngineEvent[];
}

export function engineError(message: string): EngineEvent {
  return { type: "error", code: ERROR_CODES.engineUnavailable, message, recoverable: true };
}

export function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Millisecond precision: Deepgram's floats (0.71999997, start+duration sums) come out clean. */
export { roundMs as round3 } from "../../../audio/format";
