/**
 * Wire messages of Deepgram's live transcription, as Workers AI relays them
 * for `@cf/deepgram/nova-3` (Deepgram's `/v1/listen` streaming API) and
 * `@cf/deepgram/flux` (Deepgram's `/v2/listen` turn-based API), with a
 * literal `type` on each so a `switch` narrows. The readers at the end
 * (`readNovaMessage`, `readFluxMessage`) are the one place raw JSON becomes
 * these types; field values are still checked where they are used, since
 * the platform may send fewer fields than declared.
 *
 * Flux on Workers AI is documented differently from Deepgram's own API:
 * `Ai_Cf_Deepgram_Flux_Output` (worker-configuration.d.ts, the flux model
 * page's output schema) lists `event`, `turn_index`, `audio_window_*`,
 * `transcript`, `words` and NO `type` field, and Cloudflare's own Flux client
 * (cloudflare/agents packages/voice/src/workers-ai-providers.ts) dispatches on
 * `event` alone; Deepgram's /v2/listen wraps the same fields in
 * `{"type":"TurnInfo", …}`. The reader accepts both (and a bare
 * `{"type":"EndOfTurn"}`), so whichever Workers AI relays is understood.
 *
 * Sources (checked when this was written):
 *  - Workers AI "nova-3" model page, https://developers.cloudflare.com/workers-ai/models/nova-3/
 *    (real-time over WebSocket; `language` codes, "multi", default en-US) and the
 *    `Ai_Cf_Deepgram_Nova_3_Input` type in worker-configuration.d.ts (interim_results,
 *    endpointing, vad_events, utterance_end_ms, encoding "linear16", punctuate, smart_format).
 *  - Workers AI "flux" model page, https://developers.cloudflare.com/workers-ai/models/flux/:
 *    `env.AI.run("@cf/deepgram/flux", { encoding: "linear16", sample_rate: "16000" }, { websocket: true })`
 *    returns a Response whose `webSocket` carries the stream; `Ai_Cf_Deepgram_Flux_Input` /
 *    `Ai_Cf_Deepgram_Flux_Output` in worker-configuration.d.ts (string-typed params
 *    sample_rate, eot_threshold, eager_eot_threshold, eot_timeout_ms; output fields
 *    without `type`). The page lists no client control messages.
 *  - workerd src/cloudflare/internal/ai-api.ts (https://github.com/cloudflare/workerd):
 *    with `{ websocket: true }` the binding sends `JSON.stringify({ inputs, options })` as
 *    the `body` query parameter, so input types (booleans, numbers) survive the trip.
 *  - AI Gateway "Realtime WebSockets API" (Deepgram on Workers AI),
 *    https://developers.cloudflare.com/ai-gateway/usage/websockets-api/realtime-api/
 *    (`model=@cf/deepgram/nova-3&encoding=linear16&sample_rate=16000&interim_results=true`).
 *  - cloudflare/agents, packages/voice/src/workers-ai-providers.ts
 *    (https://github.com/cloudflare/agents): the same `run(..., { websocket: true })` call,
 *    `resp.webSocket.accept()`; Flux messages dispatched on `event`; no ForceEndTurn.
 *  - Deepgram JS SDK `LiveTranscriptionEvent` (Results shape),
 *    https://app.unpkg.com/@deepgram/sdk@4.11.2/files/src/lib/types/LiveTranscriptionEvent.ts
 *  - Deepgram Rust SDK src/common/stream_response.rs and src/common/flux_response.rs
 *    (https://github.com/deepgram/deepgram-rust-sdk): Results / Metadata / SpeechStarted /
 *    UtteranceEnd, the v1 `Error` frame {variant, description, message}; Flux Connected /
 *    TurnInfo / Error {code, description}.
 *  - Deepgram "Speech Started", https://developers.deepgram.com/docs/speech-started
 *  - Deepgram "Utterance End", https://developers.deepgram.com/docs/utterance-end
 *  - Deepgram "End of Speech Detection While Live Streaming",
 *    https://developers.deepgram.com/docs/understanding-end-of-speech-detection
 *  - Deepgram "Endpointing", https://developers.deepgram.com/docs/endpointing (default 10 ms)
 *  - Deepgram "Finalize", https://developers.deepgram.com/docs/finalize (`from_finalize`)
 *  - Deepgram "Close Stream", https://developers.deepgram.com/docs/close-stream
 *    (remaining finals, then a summary `Metadata`, then the server closes)
 *  - Deepgram "Audio Keep Alive", https://developers.deepgram.com/docs/audio-keep-alive
 *    (text frame `{"type":"KeepAlive"}`; 10 s without audio or KeepAlive → NET-0001 close)
 *  - Deepgram "Flux Close Stream", https://developers.deepgram.com/docs/flux/close-stream
 *    (no EndOfTurn and no Metadata: the last Update is the stream's final transcript)
 *  - Deepgram "Flux State Machine", https://developers.deepgram.com/docs/flux/state
 *  - Deepgram "Flux Force End Turn", https://developers.deepgram.com/docs/flux/force-end-turn
 *    (Deepgram's hosted API; the Workers AI flux page does not list it, so it is opt-in)
 *  - Deepgram "Flux End-of-Turn Detection Parameters", https://developers.deepgram.com/docs/flux/configuration
 *  - Deepgram Flux AsyncAPI reference, https://developers.deepgram.com/reference/speech-to-text/listen-flux
 *    (client control types Finalize / CloseStream / KeepAlive; server Connected / TurnInfo / Error)
 */

/* ------------------------------------------------------------------ */
/* nova-3 (Deepgram /v1/listen)                                        */
/* ------------------------------------------------------------------ */

export interface DeepgramWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  /** Present with punctuate / smart_format. */
  punctuated_word?: string;
  speaker?: number;
  language?: string;
}

export interface DeepgramAlternative {
  transcript: string;
  confidence: number;
  words?: DeepgramWord[];
  languages?: string[];
}

/** A transcript: interim (`is_final: false`) or final for its time range. */
export interface NovaResults {
  type: "Results";
  /** `[channel, channels]`. */
  channel_index?: number[];
  /** Seconds since the start of the stream. */
  start: number;
  duration: number;
  is_final?: boolean;
  /** Endpointing saw the configured silence after this result. */
  speech_final?: boolean;
  /** This final answers a `Finalize`. */
  from_finalize?: boolean;
  channel: { alternatives: DeepgramAlternative[] };
  metadata?: { request_id?: string; model_uuid?: string; model_info?: { name?: string; version?: string; arch?: string } };
}

/** With `vad_events=true`: speech began at `timestamp` seconds. */
export interface NovaSpeechStarted {
  type: "SpeechStarted";
  channel?: number[];
  timestamp: number;
}

/** With `utterance_end_ms`: a gap of that length followed the word ending at `last_word_end`. */
export interface NovaUtteranceEnd {
  type: "UtteranceEnd";
  channel?: number[];
  last_word_end: number;
}

/** Summary sent after `CloseStream`, just before the server closes. */
export interface NovaMetadata {
  type: "Metadata";
  transaction_key?: string;
  request_id?: string;
  sha256?: string;
  created?: string;
  duration?: number;
  channels?: number;
}

/** An error frame; the server usually closes the socket right after it. */
export interface NovaError {
  type: "Error";
  variant?: string;
  description?: string;
  message?: string;
}

export type NovaServerMessage = NovaResults | NovaSpeechStarted | NovaUtteranceEnd | NovaMetadata | NovaError;

export type NovaClientMessage = { type: "Finalize" } | { type: "CloseStream" } | { type: "KeepAlive" };

/* ------------------------------------------------------------------ */
/* flux (Deepgram /v2/listen)                                          */
/* ------------------------------------------------------------------ */

export type FluxTurnEvent = "Update" | "StartOfTurn" | "EagerEndOfTurn" | "TurnResumed" | "EndOfTurn";

export interface FluxWord {
  /** Punctuated, properly-cased word. */
  word: string;
  confidence: number;
  /** Newer Flux releases add word timings; the Workers AI schema does not list them yet. */
  start?: number;
  end?: number;
}

export interface FluxConnected {
  type: "Connected";
  request_id?: string;
  sequence_id?: number;
}

/**
 * Normalised by {@link readFluxMessage}: `type` is always "TurnInfo", whatever
 * the wire carried. Every other field is optional, as in the Workers AI schema.
 */
export interface FluxTurnInfo {
  type: "TurnInfo";
  event: FluxTurnEvent;
  request_id?: string;
  sequence_id?: number;
  turn_index?: number;
  /** Seconds since the start of the stream. */
  audio_window_start?: number;
  audio_window_end?: number;
  /** Everything said so far in this turn. */
  transcript?: string;
  words?: FluxWord[];
  end_of_turn_confidence?: number;
  /** `"model"` or `"manual"` (after ForceEndTurn), on EndOfTurn in newer releases. */
  trigger?: string;
}

/** Fatal: the server closes the socket after it. */
export interface FluxError {
  type: "Error";
  sequence_id?: number;
  code?: string;
  description?: string;
}

export type FluxServerMessage = FluxConnected | FluxTurnInfo | FluxError;

export type FluxClientMessage =
  | { type: "CloseStream" }
  | { type: "KeepAlive" }
  | { type: "Finalize" }
  | { type: "ForceEndTurn" };

/* ------------------------------------------------------------------ */
/* Readers                                                             */
/* ------------------------------------------------------------------ */

/** A parsed JSON object from the engine, before its shape is known. */
export type RawMessage = Record<string, unknown>;

function typed<T extends { type: string }>(raw: object, types: ReadonlySet<string>): raw is T {
  return "type" in raw && typeof raw.type === "string" && types.has(raw.type);
}

const NOVA_TYPES: ReadonlySet<string> = new Set(["Results", "SpeechStarted", "UtteranceEnd", "Metadata", "Error"]);
const FLUX_OTHER_TYPES: ReadonlySet<string> = new Set(["Error", "Connected"]);
const FLUX_TURN_EVENTS: ReadonlySet<string> = new Set(["Update", "StartOfTurn", "EagerEndOfTurn", "TurnResumed", "EndOfTurn"]);

/** A nova-3 message by its `type`, or null when the type is not one nova-3 documents. */
export function readNovaMessage(raw: RawMessage): NovaServerMessage | null {
  return typed<NovaServerMessage>(raw, NOVA_TYPES) ? raw : null;
}

function isTurnEvent(value: unknown): value is FluxTurnEvent {
  return typeof value === "string" && FLUX_TURN_EVENTS.has(value);
}

/**
 * A Flux message: a turn event from `event` (the Workers AI schema) or from
 * `type` (a bare event name), `Error` and `Connected` by `type`; null for
 * anything else.
 */
export function readFluxMessage(raw: RawMessage): FluxServerMessage | null {
  const event = isTurnEvent(raw.event) ? raw.event : isTurnEvent(raw.type) ? raw.type : null;
  if (event !== null) return { ...raw, type: "TurnInfo", event };
  return typed<FluxError | FluxConnected>(raw, FLUX_OTHER_TYPES) ? raw : null;
}

/** Which fields a message had and its `type` / `event`, for logs (never values: they may hold speech). */
export function describeShape(raw: RawMessage): { keys: string[]; type?: string; event?: string } {
  return {
    keys: Object.keys(raw).sort().slice(0, 20),
    ...(typeof raw.type === "string" ? { type: raw.type.slice(0, 40) } : {}),
    ...(typeof raw.event === "string" ? { event: raw.event.slice(0, 40) } : {}),
  };
}
