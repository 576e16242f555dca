/**
 * The native real-time protocol (DESIGN §4): every message type that crosses a
 * WebSocket, in one place. The session object, the engine adapters, the local
 * emulator, the CLI and the tests all import these types, so a renamed field is
 * a compile error everywhere at once.
 */

/** Audio encodings a client may declare with `encoding=`. */
export const AUDIO_ENCODINGS = ["pcm_s16le", "pcm_f32le", "mulaw", "alaw"] as const;
export type AudioEncoding = (typeof AUDIO_ENCODINGS)[number];

/** Bytes per sample of each encoding (mono). */
export const BYTES_PER_SAMPLE: Record<AudioEncoding, number> = {
  pcm_s16le: 2,
  pcm_f32le: 4,
  mulaw: 1,
  alaw: 1,
};

/* ------------------------------------------------------------------ */
/* Client → server                                                     */
/* ------------------------------------------------------------------ */

export type ClientControlMessage =
  | { type: "flush" }
  /** `await_enhancement`: keep the socket open after session.end until the enhanced result is pushed. */
  | { type: "end"; await_enhancement?: boolean }
  | { type: "keepalive" };

export const CLIENT_MESSAGE_TYPES = ["flush", "end", "keepalive"] as const;

/* ------------------------------------------------------------------ */
/* Server → client                                                     */
/* ------------------------------------------------------------------ */

export interface Word {
  word: string;
  /** Seconds on the stream timeline. */
  start: number;
  end: number;
  confidence: number;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
}

export interface EnhancementRequest {
  requested: boolean;
  llm_cleanup: boolean;
  emotions: boolean;
}

export interface SessionBeginMessage {
  type: "session.begin";
  session_id: string;
  config: Record<string, unknown>;
  enhancement: EnhancementRequest;
  /**
   * Secret (128 random bits) that lets this client resume the session after a
   * dropped connection (`…/stream/{session_id}/resume`), until the session ends.
   * Never logged, never in the session record.
   */
  resume_token: string;
}

/** How much of the client's own stream (bytes, its encoding and rate) is durably stored. */
export interface AudioAckMessage {
  type: "audio.ack";
  bytes: number;
}

/** Answer to a resume: send audio from `bytes_received` onward. */
export interface SessionResumedMessage {
  type: "session.resumed";
  session_id: string;
  /** Exact count of the client's stream bytes the session holds (≥ the last `audio.ack`). */
  bytes_received: number;
  /** Seconds of audio recorded so far. */
  total_duration: number;
}

export interface VadMessage {
  type: "vad.speech_start" | "vad.speech_end";
  timestamp: number;
}

export interface TranscriptPartialMessage {
  type: "transcript.partial";
  text: string;
  start: number;
  end: number;
}

export interface TranscriptFinalMessage {
  type: "transcript.final";
  text: string;
  start: number;
  end: number;
  confidence: number;
  words?: Word[];
}

export interface WarningMessage {
  type: "warning";
  code: WarningCode;
  message: string;
}

export interface ErrorMessage {
  type: "error";
  code: ErrorCode;
  message: string;
  recoverable: boolean;
  /**
   * On `rate_limited`: running totals, for the whole session so far, of the
   * client's audio frames and bytes (its own encoding) that were not recorded,
   * for any reason. The recording holds what the client sent minus these.
   */
  frames_dropped?: number;
  bytes_dropped?: number;
}

export interface SessionEndMessage {
  type: "session.end";
  session_id: string;
  /** Seconds of audio received. */
  total_duration: number;
  /** All finals joined with single spaces. */
  transcript: string;
  segments: Segment[];
  enhancement_job_id: string | null;
  /**
   * Bytes of the client's audio (its own encoding) received but not recorded:
   * over the message rate, invalid or oversized frames, audio after `end`.
   * 0 in the normal case.
   */
  bytes_dropped: number;
}

/** A stage of the session's enhancement job started (only to a socket awaiting the enhancement). */
export interface EnhancementStatusMessage {
  type: "enhancement.status";
  job_id: string;
  status: "pending" | "processing";
  /** The stage now running (README of the pipeline); null while pending. */
  stage: string | null;
}

export interface EnhancementCompletedMessage {
  type: "enhancement.completed";
  job_id: string;
  /** The whole enhanced transcript (DESIGN §5), as GET …/enhancement shows it. */
  transcript: unknown;
}

export interface EnhancementFailedMessage {
  type: "enhancement.failed";
  job_id: string;
  error: { code: string; message: string };
}

/** ENHANCEMENT_AWAIT_MAX_SECONDS passed: the socket closes; poll the job instead. */
export interface EnhancementTimeoutMessage {
  type: "enhancement.timeout";
  job_id: string;
  /** Where to poll: GET this path. */
  poll: string;
  message: string;
}

export type EnhancementPushMessage =
  | EnhancementStatusMessage
  | EnhancementCompletedMessage
  | EnhancementFailedMessage
  | EnhancementTimeoutMessage;

export type ServerMessage =
  | EnhancementPushMessage
  | SessionBeginMessage
  | AudioAckMessage
  | SessionResumedMessage
  | VadMessage
  | TranscriptPartialMessage
  | TranscriptFinalMessage
  | WarningMessage
  | ErrorMessage
  | SessionEndMessage;

export type ServerMessageType = ServerMessage["type"];

/* ------------------------------------------------------------------ */
/* Codes                                                               */
/* ------------------------------------------------------------------ */

/** `code` of in-band `error` messages. */
export const ERROR_CODES = {
  /** Control message that is not JSON, not an object, or of unknown type. */
  invalidMessage: "invalid_message",
  /** Binary frame that is not a whole number of samples. */
  invalidFrame: "invalid_frame",
  /** Binary frame larger than MAX_FRAME_BYTES. */
  frameTooLarge: "frame_too_large",
  /** More than MAX_MESSAGES_PER_SECOND; messages over the limit are dropped. */
  rateLimited: "rate_limited",
  /** Audio arrived after `end`. */
  sessionEnding: "session_ending",
  /** The realtime engine could not be reached or failed; audio is still recorded. */
  engineUnavailable: "engine_unavailable",
  /** No message from the client for IDLE_TIMEOUT_SECONDS. */
  idleTimeout: "idle_timeout",
  /** MAX_SESSION_SECONDS of audio (or wall time) reached. */
  maxDuration: "max_duration",
  /** A bug or infrastructure failure on our side. */
  internal: "internal_error",
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export const WARNING_CODES = {
  engineReconnecting: "engine_reconnecting",
  engineRecovered: "engine_recovered",
  /** The first engine could not be reached at the start; live text comes from the fallback. */
  engineFallback: "engine_fallback",
  /** The enhancement job could not be recorded yet; it will be retried. */
  enhancementDeferred: "enhancement_deferred",
  /** `await_enhancement` on a session that requested no enhancement: the socket closes after session.end. */
  nothingToAwait: "nothing_to_await",
} as const;
export type WarningCode = (typeof WARNING_CODES)[keyof typeof WARNING_CODES];

/** WebSocket close codes the server uses (DESIGN §4.3). */
export const CLOSE_CODES = {
  normal: 1000,
  idleTimeout: 4000,
  maxDuration: 4001,
  internalError: 4003,
  /** A newer connection resumed this session; this one is closed. */
  replaced: 4004,
} as const;

/* ------------------------------------------------------------------ */
/* Engine-side native protocol (what a realtime engine speaks)         */
/* ------------------------------------------------------------------ */

/**
 * An engine speaking the native protocol receives 16 kHz s16le PCM as binary
 * frames plus `flush` / `end` / `keepalive` JSON (ClientControlMessage), and
 * answers with the server messages above (minus session.begin / warning),
 * ending with its own `session.end`.
 */

export interface EngineSessionEnd {
  type: "session.end";
}

export type EngineEvent =
  | VadMessage
  | TranscriptPartialMessage
  | TranscriptFinalMessage
  | ErrorMessage
  | EngineSessionEnd;

