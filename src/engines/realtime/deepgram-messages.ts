/**
 * Wire messages of Deepgram's live transcription, as Workers AI relays them
 * for `@cf/deepgram/nova-3` (Deepgram's `/v1/listen` streaming API) and
 * `@cf/deepgram/flux` (Deepgram's `/v2/listen` turn-based API). Only the
 * fields the Workers AI adapter reads are required; everything else is
 * optional so a message with extra or missing fields still parses.
 *
 * Sources (checked when this was written):
 *  - Workers AI "nova-3" model page, https://developers.cloudflare.com/workers-ai/models/nova-3/
 *    (real-time over WebSocket; `language` codes, "multi", default en-US) and the
 *    `Ai_Cf_Deepgram_Nova_3_Input` type in worker-configuration.d.ts (interim_results,
 *    endpointing, vad_events, utterance_end_ms, encoding "linear16", punctuate, smart_format).
 *  - Workers AI "flux" model page, https://developers.cloudflare.com/workers-ai/models/flux/:
 *    `env.AI.run("@cf/deepgram/flux", { encoding: "linear16", sample_rate: "16000" }, { websocket: true })`
 *    returns a Response whose `webSocket` carries the stream; `Ai_Cf_Deepgram_Flux_Input` /
 *    `Ai_Cf_Deepgram_Flux_Output` in worker-configuration.d.ts (string-valued params,
 *    eot_threshold, eager_eot_threshold, eot_timeout_ms; TurnInfo fields).
 *  - AI Gateway "Realtime WebSockets API" (Deepgram on Workers AI),
 *    https://developers.cloudflare.com/ai-gateway/usage/websockets-api/realtime-api/
 *    (`model=@cf/deepgram/nova-3&encoding=linear16&sample_rate=16000&interim_results=true`).
 *  - cloudflare/agents, packages/voice/src/workers-ai-providers.ts
 *    (https://github.com/cloudflare/agents): the same `run(..., { websocket: true })` call,
 *    `resp.webSocket.accept()`, string-valued params for nova-3 and flux.
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

export interface FluxTurnInfo {
  type: "TurnInfo";
  request_id?: string;
  sequence_id?: number;
  event: FluxTurnEvent;
  turn_index: number;
  /** Seconds since the start of the stream. */
  audio_window_start: number;
  audio_window_end: number;
  /** Everything said so far in this turn. */
  transcript: string;
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
