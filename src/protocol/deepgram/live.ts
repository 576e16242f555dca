/**
 * Deepgram's live API (`/v1/listen` over WebSocket) as a ClientProtocol: the
 * session's events rendered as Deepgram's `Results`, `SpeechStarted`,
 * `UtteranceEnd` and closing `Metadata`; its `KeepAlive`, `Finalize` and
 * `CloseStream` parsed into the session's requests. The mapping of every
 * message and of malformed input is in README "Using a Deepgram client".
 */
import { CLOSE_CODES, ERROR_CODES, type ErrorMessage, type TranscriptFinalMessage, type Word } from "../messages";
import { MAX_CONTROL_CHARS } from "../native";
import type { ClientProtocol, CloseInstead, ControlContext, ControlRequest, ProtocolFactory, ProtocolSession, SessionEvent, WireClose } from "../client-protocol";
import type { DeepgramLiveOptions } from "./params";

/** Deepgram's `channel` of VAD messages: [index, count]; one channel here. */
const CHANNEL = [0, 1];

/**
 * Deepgram documents one close for input it cannot use: 1008 with `DATA-0000`
 * ("the payload cannot be decoded as audio"). Its servers close with 1011 and
 * `NET-0001` when nothing arrived within the timeout.
 */
export const DEEPGRAM_CLOSES = {
  undecodable: { code: 1008, reason: "DATA-0000: the payload cannot be decoded as audio" },
  badControl: { code: 1008, reason: "DATA-0000: text frames must be KeepAlive, Finalize or CloseStream JSON" },
  tooLarge: { code: 1009, reason: "message too big" },
  idle: { code: 1011, reason: "NET-0001: no audio or control message within the idle timeout" },
} as const satisfies Record<string, WireClose>;

/** Deepgram's control messages, to the session's. */
const CONTROLS: Record<string, ControlRequest["type"]> = { KeepAlive: "keepalive", Finalize: "flush", CloseStream: "end" };

/**
 * How far before the Finalize's stream time its final may end. Below the
 * shortest pause that ends an utterance by itself (the emulator's 300 ms
 * hangover, nova-3's endpointing), so a final the engine closed on its own
 * just before the Finalize is never taken for the Finalize's.
 */
const FINALIZE_END_TOLERANCE = 0.2;

const NO_OPTIONS: DeepgramLiveOptions = { vad_events: false, utterance_end_ms: null, endpointing: true, punctuate: true, warnings: [] };

export const createDeepgramProtocol: ProtocolFactory = (session) => new DeepgramLive(session);

class DeepgramLive implements ClientProtocol {
  readonly name = "deepgram";
  readonly #session: ProtocolSession;
  readonly #options: DeepgramLiveOptions;
  /**
   * Stream time of a Finalize whose final is not seen yet. The engine hears
   * the flush in order with the audio, and answers with the open utterance's
   * final, ending where the audio ended; when nothing was open it answers
   * nothing, and speech starting after that point shows no final is coming.
   * Engine events produced before the flush may still arrive after it, so
   * only time on the stream, not arrival order, tells the two apart.
   */
  #finalizeAt: number | null = null;
  /** End of the last final's last word since the last UtteranceEnd (null: nothing to end). */
  #lastWordEnd: number | null = null;
  /** CloseStream arrived: every final from here on is the rest of the stream, flushed. */
  #closing = false;

  constructor(session: ProtocolSession) {
    this.#session = session;
    this.#options = session.deepgram ?? NO_OPTIONS;
  }

  render(event: SessionEvent): string | CloseInstead | null {
    switch (event.type) {
      case "vad.speech_start":
        if (this.#finalizeAt !== null && event.timestamp >= this.#finalizeAt) this.#finalizeAt = null;
        return this.#options.vad_events ? JSON.stringify({ type: "SpeechStarted", channel: CHANNEL, timestamp: event.timestamp }) : null;
      case "vad.speech_end": {
        const lastWordEnd = this.#lastWordEnd;
        if (this.#options.utterance_end_ms === null || lastWordEnd === null) return null;
        this.#lastWordEnd = null;
        return JSON.stringify({ type: "UtteranceEnd", channel: CHANNEL, last_word_end: lastWordEnd });
      }
      case "transcript.partial":
        return this.#results({ ...event, confidence: 0, words: [] }, false);
      case "transcript.final":
        return this.#results(event, true);
      case "error":
        return closeFor(event);
      case "session.end":
        return JSON.stringify({
          type: "Metadata",
          transaction_key: "deprecated",
          request_id: this.#session.sessionId,
          created: new Date(this.#session.createdAt).toISOString(),
          duration: event.total_duration,
          channels: 1,
          models: [this.#session.config.model],
          model_info: { [this.#session.config.model]: this.#modelInfo() },
          ...(this.#options.warnings.length > 0 ? { warnings: this.#options.warnings } : {}),
          // This service's additions: where the session and its enhancement are read back.
          session_id: event.session_id,
          enhancement_job_id: event.enhancement_job_id,
        });
      default:
        // begin, warnings, acks, resume and the pushed enhancement have no Deepgram message.
        return null;
    }
  }

  parseControl(text: string, at: ControlContext): ControlRequest {
    let type: unknown;
    if (text.length <= MAX_CONTROL_CHARS) {
      try {
        const parsed: unknown = JSON.parse(text);
        type = typeof parsed === "object" && parsed !== null ? (parsed as { type?: unknown }).type : undefined;
      } catch {
        // Not JSON: refused below.
      }
    }
    const request = typeof type === "string" ? CONTROLS[type] : undefined;
    if (request === undefined) return { type: "invalid", reason: DEEPGRAM_CLOSES.badControl.reason };
    // Deepgram marks what a Finalize flushes, and the rest it sends after CloseStream, `from_finalize`.
    if (request === "flush") this.#finalizeAt ??= at.streamSeconds;
    if (request === "end") this.#closing = true;
    return { type: request } as ControlRequest;
  }

  closeWith(close: WireClose): WireClose {
    if (close.code === CLOSE_CODES.normal) return close;
    if (close.code === CLOSE_CODES.idleTimeout) return DEEPGRAM_CLOSES.idle;
    // Deepgram's clients know one server-side failure code; the session's own reason stays readable.
    return { code: 1011, reason: close.reason };
  }

  #results(event: Omit<TranscriptFinalMessage, "type">, isFinal: boolean): string {
    const flushed = isFinal && this.#finalizeAt !== null && event.end >= this.#finalizeAt - FINALIZE_END_TOLERANCE;
    if (flushed) this.#finalizeAt = null;
    const fromFinalize = flushed || (isFinal && this.#closing);
    const words = (event.words ?? []).map((w) => this.#word(w));
    if (isFinal && words.length > 0) this.#lastWordEnd = words[words.length - 1]!.end;
    return JSON.stringify({
      type: "Results",
      channel_index: CHANNEL,
      duration: round(event.end - event.start),
      start: event.start,
      is_final: isFinal,
      // A final the engine closed at a pause is an endpoint; one a Finalize forced is not.
      speech_final: isFinal && !fromFinalize && this.#options.endpointing,
      from_finalize: fromFinalize,
      channel: {
        alternatives: [{ transcript: this.#options.punctuate ? event.text : plain(event.text), confidence: event.confidence, words }],
      },
      metadata: {
        request_id: this.#session.sessionId,
        model_info: this.#modelInfo(),
        model_uuid: this.#session.config.model,
      },
    });
  }

  #word(w: Word) {
    return { word: plain(w.word), start: w.start, end: w.end, confidence: w.confidence, punctuated_word: w.word };
  }

  #modelInfo() {
    return { name: this.#session.config.model, version: "edge-transcribe", arch: "edge-transcribe" };
  }
}

/**
 * Deepgram's live API has no recoverable error: its `Error` frame is followed
 * by a close. Recoverable errors about the client's own input therefore end
 * the connection as Deepgram documents (Error, then close); the rest (rate
 * limit, audio after CloseStream, the engine reconnecting) have no Deepgram
 * counterpart and are dropped: the session goes on and counts what it dropped.
 */
function closeFor(event: ErrorMessage): CloseInstead | null {
  if (!event.recoverable) return null;
  const close =
    event.code === ERROR_CODES.invalidFrame
      ? DEEPGRAM_CLOSES.undecodable
      : event.code === ERROR_CODES.invalidMessage
        ? DEEPGRAM_CLOSES.badControl
        : event.code === ERROR_CODES.frameTooLarge
          ? DEEPGRAM_CLOSES.tooLarge
          : null;
  if (close === null) return null;
  const variant = close.reason.split(":")[0]!;
  return { close, message: JSON.stringify({ type: "Error", variant, description: event.message, message: close.reason }) };
}

/** Deepgram's unpunctuated form: lower case, no punctuation but inner apostrophes and hyphens. */
export function plain(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\- ]+/gu, "")
    .replace(/\s+/g, " ")
    .trim();
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;
