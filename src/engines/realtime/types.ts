/**
 * The realtime engine interface: one small provider shape, one class per
 * engine behind it (modelled on cloudflare/agents' voice transcribers).
 *
 * Adapters speak their engine's protocol and emit native-protocol events
 * (DESIGN §4.3) with timestamps on the ENGINE's timeline (seconds of audio the
 * engine has received on this link). The session object maps them onto the
 * stream timeline, so adapters never need to know about reconnects.
 */
import type { EngineEvent } from "../../protocol/messages";

export interface RealtimeSessionOptions {
  /** Session id, for the engine's logs. */
  sessionId: string;
  model: string;
  /** BCP-47-ish code or "auto". */
  language: string;
  interimResults: boolean;
  wordTimestamps: boolean;
}

/** Why a link ended or could not start. */
export interface EngineFailure {
  /** "connect": never opened; "runtime": dropped or errored after opening. */
  phase: "connect" | "runtime";
  message: string;
}

export interface RealtimeSessionCallbacks {
  /** A result or VAD event, in the order the engine sent it. */
  onEvent(event: EngineEvent): void;
  onOpen?(): void;
  /** The link failed; no further events will come. Called at most once. */
  onFailure(failure: EngineFailure): void;
}

/**
 * One live link to an engine. Audio is always 16 kHz s16le mono PCM.
 * Audio fed before the link opens is queued and sent in order once it does;
 * it is never dropped silently — if the link cannot open, onFailure is called
 * and the caller still holds the audio in its recording.
 */
export interface RealtimeSession {
  feed(pcm: Uint8Array): void;
  /**
   * Ask the engine to finalize what it has now. What that means differs per
   * engine (README "Engines"): nova-3 sends Deepgram's `Finalize`; Flux by
   * default closes the open turn on our side (no control message).
   */
  flush(): void;
  /**
   * Optional: the session calls this during client silence (no audio for a
   * while, e.g. on a client `keepalive`) so an engine that closes idle
   * streams does not time out. Adapters whose engine has no idle timeout
   * leave it out. Never queues anything while the link is connecting.
   */
  keepAlive?(): void;
  /**
   * Ask the engine to finish: resolves once it has sent its last results
   * (its session.end or a close), or after `timeoutMs`.
   */
  finish(timeoutMs: number): Promise<void>;
  /** Drop the link now. */
  close(): void;
}

export interface RealtimeEngine {
  /** Engine name for logs and /health, e.g. "native". */
  readonly name: string;
  createSession(options: RealtimeSessionOptions, callbacks: RealtimeSessionCallbacks): RealtimeSession;
}
