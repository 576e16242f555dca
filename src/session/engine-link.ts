/**
 * A session's link to its realtime engine: which engine (the configured one,
 * or the fallback once the first could not be reached), where the link's
 * timeline starts on the stream, reconnects with backoff after a drop (the
 * audio after the last final is re-sent from the spool), keepalives during
 * the client's silence. It emits engine events already on the stream
 * timeline, and warnings/errors for the client; it never holds audio the
 * recorder does not already have.
 */
import { streamByteAt, STREAM_BYTES_PER_SECOND, roundMs, streamSeconds } from "../audio/format";
import type { ServiceConfig } from "../config";
import { createRealtimeEngine, type EngineFailure, type RealtimeSession } from "../engines/realtime";
import { errorMessage, log } from "../log";
import { ERROR_CODES, WARNING_CODES, type EngineEvent, type ErrorMessage, type WarningMessage } from "../protocol/messages";
import type { SessionEvent } from "../protocol/client-protocol";
import type { SessionConfig } from "../protocol/params";
import type { Recorder } from "../recorder/recorder";
import { liveEvent } from "./live-events";
import type { SessionState } from "./state";

/** Drops mid-session are reconnected this many times in a row; then the session records only. */
export const MAX_ENGINE_RECONNECTS = 5;
/** At most this much unfinalized audio is re-sent to a reconnected engine (30 s). */
const MAX_RESEND_BYTES = 30 * STREAM_BYTES_PER_SECOND;
/** Engines close idle links (Deepgram after ~10 s); ping them during client silence. */
const ENGINE_KEEPALIVE_MS = 5000;
/** A client's keepalives reach the engine at most this often, however many it sends. */
const ENGINE_PING_MIN_MS = 1000;

/** What the link needs from its session. */
export interface EngineLinkHost {
  readonly sessionId: string;
  readonly config: SessionConfig;
  /** Reconnects happen only while active; while ending the client still hears why text stopped. */
  phase(): "active" | "ending" | "ended";
  /** Engine flags kept in the session's SQLite, so a restart remembers them. */
  readonly flags: { onFallback: boolean; engineGaveUp: boolean };
  setFlags(patch: Partial<EngineLinkHost["flags"]>): void;
  /** Stream seconds where the last final ended: what comes after it was never finalized. */
  lastFinalEnd(): number;
  /** The recording so far (canonical bytes), to re-send from. */
  readonly spool: { readonly recordedBytes: number; readTail(fromByte: number, maxBytes: number): { start: number; bytes: Uint8Array } | null };
  /** An engine event, its times already on the stream timeline. */
  onEvent(event: EngineEvent): void;
  /** Something the client should be told. */
  notify(message: WarningMessage | ErrorMessage): void;
}

export class EngineLink {
  readonly #host: EngineLinkHost;
  readonly #realtime: ServiceConfig["realtime"];
  readonly #ai: Ai;
  #engine: RealtimeSession | null = null;
  /** Stream time (s) at which the current link's timeline starts. */
  #offset = 0;
  /** Reconnect attempts in the current outage (0 while the link is healthy). */
  #outage = 0;
  #lastAudioAt = Date.now();
  #pingedAt = 0;
  /** Audio went to the engine since the last flush it was sent (a flush of nothing is not forwarded). */
  #fedSinceFlush = false;
  #keepAliveTimer: ReturnType<typeof setInterval> | null = null;

  constructor(host: EngineLinkHost, realtime: ServiceConfig["realtime"], ai: Ai) {
    this.#host = host;
    this.#realtime = realtime;
    this.#ai = ai;
  }

  /**
   * Open the link (at the start; after a restart, where the last final ended)
   * unless one is open or reconnecting, and ping the engine during silence.
   */
  start(): void {
    if (this.#engine === null && this.#outage === 0 && !this.#host.flags.engineGaveUp) this.#connect(this.#resumePoint());
    this.#keepAliveTimer ??= setInterval(() => {
      if (Date.now() - this.#lastAudioAt >= ENGINE_KEEPALIVE_MS) this.#engine?.keepAlive?.();
    }, ENGINE_KEEPALIVE_MS);
  }

  /** Relay canonical audio the recorder already holds. */
  feed(pcm: Uint8Array, now: number): void {
    this.#lastAudioAt = now;
    this.#fedSinceFlush = true;
    // After hibernation or a restart the link is gone: reopen it where the last final ended.
    if (this.#engine === null && this.#outage === 0 && !this.#host.flags.engineGaveUp && this.#host.phase() === "active") {
      this.#connect(this.#resumePoint());
      return;
    }
    this.#engine?.feed(pcm);
  }

  /** Ask the engine to finalize now, if it has heard anything since the last time. */
  flush(): void {
    if (!this.#fedSinceFlush) return;
    this.#fedSinceFlush = false;
    this.#engine?.flush();
  }

  /** The client said it is still there: tell the engine, at most once per ENGINE_PING_MIN_MS. */
  ping(now: number): void {
    if (now - this.#pingedAt < ENGINE_PING_MIN_MS) return;
    this.#pingedAt = now;
    this.#engine?.keepAlive?.();
  }

  /** The session is ending: the engine's last results, within `timeoutMs`. */
  async finish(timeoutMs: number): Promise<void> {
    this.stopTimers();
    const engine = this.#engine;
    if (engine) await engine.finish(timeoutMs);
    this.#engine = null;
  }

  stopTimers(): void {
    if (this.#keepAliveTimer !== null) clearInterval(this.#keepAliveTimer);
    this.#keepAliveTimer = null;
  }

  /**
   * Open a link whose timeline starts at stream byte `fromByte`. Audio from
   * there up to now is re-sent from the spool, so a reconnect picks up the
   * utterance the old link had not finalized.
   */
  #connect(fromByte: number): void {
    const { config, sessionId } = this.#host;
    // Once on the fallback engine, stay there: reconnects go where live text last came from.
    const fallback = this.#host.flags.onFallback ? this.#realtime.fallback : null;
    let engine;
    try {
      engine = createRealtimeEngine(
        fallback ? { ...this.#realtime, engine: fallback.engine, url: fallback.url, models: [fallback.model] } : this.#realtime,
        this.#ai,
      );
    } catch (err) {
      this.#onFailure({ phase: "connect", message: errorMessage(err) });
      return;
    }
    const spool = this.#host.spool;
    const backlog = fromByte < spool.recordedBytes ? spool.readTail(fromByte, MAX_RESEND_BYTES) : null;
    this.#offset = streamSeconds(backlog?.start ?? spool.recordedBytes);
    const link = engine.createSession(
      {
        sessionId,
        model: fallback ? fallback.model : config.model,
        language: config.language,
        interimResults: config.interim_results,
        wordTimestamps: config.word_timestamps,
      },
      {
        onEvent: (event) => {
          if (this.#engine === link) this.#host.onEvent(this.#onStreamTime(event));
        },
        onOpen: () => {
          log("info", "engine.open", { session_id: sessionId, engine: engine.name, offset_s: this.#offset });
          if (this.#outage > 0) {
            this.#host.notify({ type: "warning", code: WARNING_CODES.engineRecovered, message: "live transcription resumed" });
            log("info", "engine.recovered", { session_id: sessionId, attempts: this.#outage });
          }
          this.#outage = 0;
        },
        onFailure: (failure) => {
          if (this.#engine !== link) return;
          this.#engine = null;
          this.#onFailure(failure);
        },
      },
    );
    this.#engine = link;
    if (backlog) {
      for (let at = 0; at < backlog.bytes.byteLength; at += STREAM_BYTES_PER_SECOND) {
        link.feed(backlog.bytes.subarray(at, at + STREAM_BYTES_PER_SECOND));
      }
    }
  }

  /**
   * A link that never opened at the start goes to the fallback engine when
   * there is one, else is reported at once (the session records on). A link
   * that dropped mid-session is reconnected with backoff; after
   * MAX_ENGINE_RECONNECTS the session goes on recording only.
   */
  #onFailure(failure: EngineFailure): void {
    const { sessionId } = this.#host;
    log("warn", "engine.failure", { session_id: sessionId, phase: failure.phase, message: failure.message });
    const phase = this.#host.phase();
    if (phase === "ended") return;
    const active = phase === "active";
    const wasLive = failure.phase === "runtime" || this.#outage > 0;
    const fallback = this.#realtime.fallback;
    if (!wasLive && active && fallback && !this.#host.flags.onFallback) {
      // The first engine could not be reached at all: try the configured second one.
      this.#host.setFlags({ onFallback: true });
      this.#host.notify({
        type: "warning",
        code: WARNING_CODES.engineFallback,
        message: `the realtime engine could not be reached (${failure.message}); using the fallback engine (${fallback.engine}, ${fallback.model})`,
      });
      log("warn", "engine.fallback", { session_id: sessionId, engine: fallback.engine, model: fallback.model });
      this.#connect(this.#resumePoint());
      return;
    }
    if (active && wasLive && this.#outage < MAX_ENGINE_RECONNECTS) {
      this.#outage++;
      if (this.#outage === 1) {
        this.#host.notify({
          type: "warning",
          code: WARNING_CODES.engineReconnecting,
          message: `the realtime engine link dropped (${failure.message}); reconnecting, audio is still recorded`,
        });
      }
      const delay = Math.min(8000, 250 * 2 ** (this.#outage - 1));
      const resumeFrom = this.#resumePoint();
      setTimeout(() => {
        if (this.#host.phase() === "active" && this.#engine === null) this.#connect(resumeFrom);
      }, delay);
      return;
    }
    this.#host.setFlags({ engineGaveUp: true });
    this.#host.notify({
      type: "error",
      code: ERROR_CODES.engineUnavailable,
      message: `live transcription unavailable (${failure.message}); audio is still being recorded and will be enhanced if requested`,
      recoverable: true,
    });
  }

  #resumePoint(): number {
    return streamByteAt(this.#host.lastFinalEnd());
  }

  /** The engine's times count from its link's start; the client's from the stream's. */
  #onStreamTime(event: EngineEvent): EngineEvent {
    const t = (s: number) => roundMs(s + this.#offset);
    switch (event.type) {
      case "vad.speech_start":
      case "vad.speech_end":
        return { ...event, timestamp: t(event.timestamp) };
      case "transcript.partial":
        return { ...event, start: t(event.start), end: t(event.end) };
      case "transcript.final":
        return {
          ...event,
          start: t(event.start),
          end: t(event.end),
          ...(event.words ? { words: event.words.map((w) => ({ ...w, start: t(w.start), end: t(w.end) })) } : {}),
        };
      default:
        return event;
    }
  }
}

/**
 * The link of a session, wired to its persisted state: engine flags and
 * finals in SQLite, the recorder as the spool to re-send from, and engine
 * events filtered (live-events.ts) before the client hears them.
 */
export function linkForSession(state: SessionState, recorder: Recorder, realtime: ServiceConfig["realtime"], ai: Ai, emit: (event: SessionEvent) => void): EngineLink {
  const meta = state.meta;
  return new EngineLink(
    {
      sessionId: meta.sessionId,
      config: meta.config,
      phase: () => state.meta.phase,
      get flags() {
        return { onFallback: state.meta.onFallback, engineGaveUp: state.meta.engineGaveUp };
      },
      setFlags: (patch) => state.update(patch),
      lastFinalEnd: () => state.lastFinalEnd(),
      spool: recorder,
      onEvent: (engineEvent) => {
        const { event, final } = liveEvent(engineEvent, state.meta.config, state.lastFinalEnd());
        if (final) state.addFinal(final);
        if (event) emit(event);
      },
      notify: emit,
    },
    realtime,
    ai,
  );
}
