/**
 * One live transcription session (DESIGN §2): the client socket (hibernation
 * API), the engine link, transcript assembly, the recorder, the end-of-session
 * steps and the alarms that finish sessions whose client vanished.
 *
 * Order of work for each binary frame: validate → convert to 16 kHz s16 →
 * record → relay. Recording comes first so that nothing the engine does can
 * lose audio.
 */
import { DurableObject } from "cloudflare:workers";
import { createAudioConverter, isWholeSamples, type AudioConverter } from "../audio/convert";
import { readConfig, type AppEnv, type ServiceConfig } from "../config";
import { createRealtimeEngine, type EngineFailure, type RealtimeSession } from "../engines/realtime";
import { errorMessage, log } from "../log";
import {
  CLOSE_CODES,
  ERROR_CODES,
  WARNING_CODES,
  type EngineEvent,
  type ErrorCode,
  type ErrorMessage,
  type ServerMessage,
  type SessionEndMessage,
} from "../protocol/messages";
import type { SessionConfig } from "../protocol/params";
import { Recorder } from "../recorder/recorder";
import { newJobId } from "../store/ids";
import { r2Keys } from "../store/keys";
import type { EndReason } from "../store/records";
import { createRedis } from "../store/redis";
import { AuthStore } from "../store/auth";
import { DropLedger, TokenBucket } from "./audio-limit";
import { SessionState, type SessionMeta } from "./state";
import { syncToStore } from "./store-sync";
import { EnhancementPush } from "./enhancement-push";
import type { EnhancementUpdate } from "../delivery/push-types";

/** Headers the gateway uses to hand a validated session to its object. */
export const SESSION_HEADERS = {
  id: "x-session-id",
  config: "x-session-config",
  /** Id of the API key that opened the session. */
  owner: "x-session-owner",
  /** "held" when the gateway took a concurrency slot that the session must release. */
  slot: "x-session-slot",
  devFaults: "x-dev-faults",
} as const;

/**
 * Per-request timeout of the store outbox. Nothing a client waits for is on
 * this path (session.end does not wait for the store), so it can be generous:
 * a slow Redis is waited for, a dead one is retried by alarm.
 */
const STORE_TIMEOUT_MS = 10_000;
const MAX_STORE_BACKOFF_MS = 60_000;
const MAX_RECORDING_ATTEMPTS = 10;
const MAX_ENGINE_RECONNECTS = 5;
/** At most this much unfinalized audio is re-sent to a reconnected engine (30 s). */
const MAX_RESEND_BYTES = 30 * 32000;
/** Engines close idle links (Deepgram after ~10 s); ping them during client silence. */
const ENGINE_KEEPALIVE_MS = 5000;
/** A client's keepalives reach the engine at most this often, however many it sends. */
const ENGINE_PING_MIN_MS = 1000;
/** Control messages are small JSON; longer text is refused unparsed. */
const MAX_CONTROL_CHARS = 4096;

interface CloseSpec {
  code: number;
  reason: string;
  error?: { code: ErrorCode; message: string };
}

export class TranscriptionSession extends DurableObject<AppEnv> {
  #config: ServiceConfig;
  #state: SessionState;
  #recorder: Recorder | null = null;
  #converter: AudioConverter | null = null;
  #engine: RealtimeSession | null = null;
  /** Stream time (s) at which the current engine link's timeline starts. */
  #engineOffset = 0;
  #ending: Promise<void> | null = null;
  #lastActivity = Date.now();
  #storeSync: Promise<void> | null = null;
  /** Reconnect attempts in the current engine outage (0 while the link is healthy). */
  #engineOutage = 0;
  #lastAudioAt = Date.now();
  #keepAliveTimer: ReturnType<typeof setInterval> | null = null;
  /** MAX_MESSAGES_PER_SECOND for audio frames (burst: twice the rate); control messages never spend it. */
  #audioBucket: TokenBucket;
  /** Replies to invalid control messages, so a flood of garbage cannot become a flood of errors. */
  #invalidReplies: TokenBucket;
  #drops: DropLedger;
  #dropReportTimer: ReturnType<typeof setTimeout> | null = null;
  /** Audio went to the engine since the last flush it was sent (a flush of nothing is not forwarded). */
  #fedSinceFlush = false;
  #enginePingedAt = 0;
  #slotRenewedAt = Date.now();
  // [push hook 1/6] the enhanced result pushed to a socket that awaits it (enhancement-push.ts).
  #push: EnhancementPush;

  constructor(ctx: DurableObjectState, env: AppEnv) {
    super(ctx, env);
    this.#config = readConfig(env);
    this.#state = new SessionState(ctx.storage.sql);
    this.#audioBucket = new TokenBucket(this.#config.limits.maxMessagesPerSecond);
    this.#invalidReplies = new TokenBucket(this.#config.limits.maxMessagesPerSecond);
    this.#drops = new DropLedger(this.#state.exists ? this.#state.meta.dropped : undefined);
    if (this.#state.exists) this.#recorder = this.#createRecorder(this.#state.meta);
    this.#push = new EnhancementPush(ctx, env.RECORDINGS, this.#config.delivery.awaitMaxSeconds);
  }

  /** [push hook 2/6] RPC from the enhancement pipeline: a stage started or the job finished. */
  async enhancementUpdate(update: EnhancementUpdate): Promise<void> {
    if (!this.#state.exists) return;
    await this.#push.onUpdate(update);
    await this.#scheduleAlarm();
  }

  /* ---------------------------------------------------------------- */
  /* Start                                                             */
  /* ---------------------------------------------------------------- */

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    if (this.#state.exists) {
      // Ids are random; a second connect to the same object is a client bug or an attack.
      return new Response("session already exists", { status: 409 });
    }
    const sessionId = request.headers.get(SESSION_HEADERS.id) ?? "";
    const config = JSON.parse(request.headers.get(SESSION_HEADERS.config) ?? "null") as SessionConfig;
    const now = Date.now();
    const meta: SessionMeta = {
      sessionId,
      config,
      createdAt: now,
      phase: "active",
      status: "active",
      endReason: null,
      endedAt: null,
      jobId: config.enhance_on_end ? newJobId() : null,
      clientGoneAt: null,
      pendingRecord: null,
      jobRecorded: false,
      jobQueued: false,
      storeAttempts: 0,
      storeRetryAt: null,
      engineGaveUp: false,
      recordingAttempts: 0,
      queueSendFailuresToInject: this.#devFaults(request).queueSend,
      owner: request.headers.get(SESSION_HEADERS.owner) ?? "anonymous",
      onFallback: false,
      holdsSlot: request.headers.get(SESSION_HEADERS.slot) === "held",
      slotReleased: false,
      dropped: { frames: 0, bytes: 0 },
      jobReserved: false,
      jobAbandoned: false,
      transcriptSaved: false,
    };
    this.#state.init(meta);
    this.#recorder = this.#createRecorder(meta);
    this.#converter = createAudioConverter(config.encoding, config.sample_rate);

    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    this.#send({
      type: "session.begin",
      session_id: sessionId,
      config: { ...config },
      enhancement: {
        requested: config.enhance_on_end,
        llm_cleanup: config.enhance_llm_cleanup,
        emotions: config.enhance_emotions,
      },
    });
    log("info", "session.start", { session_id: sessionId, encoding: config.encoding, sample_rate: config.sample_rate });

    this.#state.queueRecord({
      id: sessionId,
      owner: meta.owner,
      status: "active",
      params: config,
      created_at: new Date(now).toISOString(),
      ended_at: null,
      end_reason: null,
      duration_seconds: 0,
      bytes_recorded: 0,
      bytes_dropped: 0,
      audio_key: null,
      transcript_key: null,
      enhancement_job_id: meta.jobId,
      error: null,
    });
    this.#syncStoreSoon();
    this.#connectEngine();
    this.#keepAliveTimer = setInterval(() => {
      if (Date.now() - this.#lastAudioAt >= ENGINE_KEEPALIVE_MS) this.#engine?.keepAlive?.();
    }, ENGINE_KEEPALIVE_MS);
    await this.#scheduleAlarm();
    return new Response(null, { status: 101, webSocket: client });
  }

  /* ---------------------------------------------------------------- */
  /* Client messages                                                   */
  /* ---------------------------------------------------------------- */

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.#state.exists) return;
    const now = Date.now();
    this.#lastActivity = now;
    this.#renewSlotSoon(now);
    if (typeof message === "string") {
      await this.#onControl(ws, message, now);
      return;
    }
    if (message.byteLength === 0) return;
    if (!this.#audioBucket.take(now)) {
      // Dropped on purpose: a client this far over its rate is broken or abusive. Counted to the byte.
      this.#drops.add(message.byteLength, false);
      this.#reportDropsSoon(now);
      return;
    }
    this.#onAudio(ws, new Uint8Array(message));
  }

  /** Tell the client what the rate limit dropped: at once, or when the report interval allows. */
  #reportDropsSoon(now: number): void {
    if (this.#dropReportTimer !== null) return;
    const wait = this.#drops.waitBeforeReport(now);
    if (wait === 0) {
      this.#reportDrops();
      return;
    }
    this.#dropReportTimer = setTimeout(() => {
      this.#dropReportTimer = null;
      if (this.#state.meta.phase === "active") this.#reportDrops();
    }, wait);
  }

  #reportDrops(): void {
    if (!this.#drops.unreported) return;
    const totals = this.#drops.markReported(Date.now());
    this.#state.update({ dropped: totals });
    this.#send({
      ...errorMsg(
        ERROR_CODES.rateLimited,
        `more than ${this.#config.limits.maxMessagesPerSecond} audio frames per second; frames over the limit are dropped and not recorded (so far ${totals.frames} frames, ${totals.bytes} bytes not recorded)`,
        true,
      ),
      frames_dropped: totals.frames,
      bytes_dropped: totals.bytes,
    });
  }

  #onAudio(ws: WebSocket, frame: Uint8Array): void {
    const { config, phase } = this.#state.meta;
    if (phase !== "active") {
      this.#drops.add(frame.byteLength, true);
      this.#sendTo(ws, errorMsg(ERROR_CODES.sessionEnding, "audio after end is not recorded", true));
      return;
    }
    if (frame.byteLength > this.#config.session.maxFrameBytes) {
      this.#drops.add(frame.byteLength, true);
      this.#sendTo(
        ws,
        errorMsg(
          ERROR_CODES.frameTooLarge,
          `binary frame of ${frame.byteLength} bytes exceeds the maximum of ${this.#config.session.maxFrameBytes}; frame dropped, session continues`,
          true,
        ),
      );
      return;
    }
    if (!isWholeSamples(config.encoding, frame.byteLength)) {
      this.#drops.add(frame.byteLength, true);
      this.#sendTo(
        ws,
        errorMsg(
          ERROR_CODES.invalidFrame,
          `binary frame of ${frame.byteLength} bytes is not a whole number of ${config.encoding} samples; frame dropped, session continues`,
          true,
        ),
      );
      return;
    }
    // A restart loses the converter's filter history; a fresh one costs a few samples of ramp, not audio.
    this.#converter ??= createAudioConverter(config.encoding, config.sample_rate);
    const pcm = this.#converter.push(frame);
    const recorder = this.#recorder!;
    recorder.append(pcm);
    // After hibernation or a restart the engine link is gone: reopen it where the last final ended.
    if (this.#engine === null && this.#engineOutage === 0 && !this.#state.meta.engineGaveUp) {
      this.#connectEngine(this.#resumePoint());
    } else {
      this.#engine?.feed(pcm);
    }
    this.#fedSinceFlush = true;
    this.#lastAudioAt = this.#lastActivity;

    if (recorder.recordedBytes / 32000 >= this.#config.session.maxSessionSeconds) {
      void this.#end("max_duration", {
        code: CLOSE_CODES.maxDuration,
        reason: "maximum session duration reached",
        error: {
          code: ERROR_CODES.maxDuration,
          message: `maximum session duration of ${this.#config.session.maxSessionSeconds} s reached; the session has ended and its recording is complete`,
        },
      });
    }
  }

  /**
   * Control messages are never rate limited: whatever a client sent before
   * it, `end` ends the session. Their effects are idempotent and cheap, so a
   * flood of them costs little: keepalives reach the engine at most once per
   * ENGINE_PING_MIN_MS, a flush only when audio came since the last one, and
   * replies to invalid messages are rate limited.
   */
  async #onControl(ws: WebSocket, text: string, now: number): Promise<void> {
    const type = controlType(text);
    switch (type) {
      case "keepalive":
        if (now - this.#enginePingedAt >= ENGINE_PING_MIN_MS) {
          this.#enginePingedAt = now;
          this.#engine?.keepAlive?.();
        }
        return;
      case "flush":
        if (this.#state.meta.phase === "active" && this.#fedSinceFlush) {
          this.#fedSinceFlush = false;
          this.#engine?.flush();
        }
        return;
      case "end":
        this.#push.noteEnd(text); // [push hook 3/6] {"type":"end","await_enhancement":true}
        await this.#end("client_end", { code: CLOSE_CODES.normal, reason: "session ended" });
        return;
      default:
        if (this.#invalidReplies.take(now)) this.#sendTo(ws, errorMsg(ERROR_CODES.invalidMessage, type.invalid, true));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Complete the closing handshake: with this compatibility date the runtime does not answer a
    // client's Close frame by itself, and the client would see an abnormal close or time out.
    try {
      ws.close(echoableCloseCode(code), reason.slice(0, 120));
    } catch {
      // Already closed.
    }
    await this.#clientGone(`client closed (${code})`);
  }

  override async webSocketError(): Promise<void> {
    await this.#clientGone("client socket error");
  }

  /** The client left without `end`: keep the engine going, finish after the grace period. */
  async #clientGone(why: string): Promise<void> {
    if (!this.#state.exists || this.#state.meta.phase !== "active") return;
    this.#recorder?.spool();
    if (this.#state.meta.clientGoneAt === null) {
      this.#state.update({ clientGoneAt: Date.now() });
      log("info", "session.client_gone", { session_id: this.#state.meta.sessionId, why });
    }
    await this.#scheduleAlarm();
  }

  /* ---------------------------------------------------------------- */
  /* Engine link                                                       */
  /* ---------------------------------------------------------------- */

  /**
   * Open a link to the realtime engine whose timeline starts at stream byte
   * `fromByte`. Audio from there up to now is re-sent from the spool, so a
   * reconnect picks up the utterance the old link had not finalized.
   */
  #connectEngine(fromByte = 0): void {
    const { config, sessionId } = this.#state.meta;
    // Once on the fallback engine, stay there: reconnects go where live text last came from.
    const fallback = this.#state.meta.onFallback ? this.#config.realtime.fallback : null;
    let engine;
    try {
      engine = fallback
        ? createRealtimeEngine({ ...this.#config.realtime, engine: fallback.engine, url: fallback.url, models: [fallback.model] }, this.env.AI)
        : createRealtimeEngine(this.#config.realtime, this.env.AI);
    } catch (err) {
      this.#onEngineFailure({ phase: "connect", message: errorMessage(err) });
      return;
    }
    const backlog = fromByte < (this.#recorder?.recordedBytes ?? 0) ? this.#recorder!.readTail(fromByte, MAX_RESEND_BYTES) : null;
    this.#engineOffset = (backlog?.start ?? this.#recorder?.recordedBytes ?? 0) / 32000;
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
          if (this.#engine === link) this.#onEngineEvent(event);
        },
        onOpen: () => {
          log("info", "engine.open", { session_id: sessionId, engine: engine.name, offset_s: this.#engineOffset });
          if (this.#engineOutage > 0) {
            this.#send({ type: "warning", code: WARNING_CODES.engineRecovered, message: "live transcription resumed" });
            log("info", "engine.recovered", { session_id: sessionId, attempts: this.#engineOutage });
          }
          this.#engineOutage = 0;
        },
        onFailure: (failure) => {
          if (this.#engine !== link) return;
          this.#engine = null;
          this.#onEngineFailure(failure);
        },
      },
    );
    this.#engine = link;
    if (backlog) {
      for (let at = 0; at < backlog.bytes.byteLength; at += 32000) link.feed(backlog.bytes.subarray(at, at + 32000));
    }
  }

  /**
   * A link that never opened at the start is reported at once (the session
   * records on). A link that dropped mid-session is reconnected with backoff;
   * after MAX_ENGINE_RECONNECTS the session goes on recording only.
   */
  #onEngineFailure(failure: EngineFailure): void {
    const { sessionId, phase } = this.#state.meta;
    log("warn", "engine.failure", { session_id: sessionId, phase: failure.phase, message: failure.message });
    // While ending the client is still listening: it should know why no text came.
    if (phase === "ended") return;
    const wasLive = failure.phase === "runtime" || this.#engineOutage > 0;
    if (!wasLive && phase === "active" && this.#config.realtime.fallback && !this.#state.meta.onFallback) {
      // The first engine could not be reached at all: try the configured second one.
      this.#state.update({ onFallback: true });
      const { engine, model } = this.#config.realtime.fallback;
      this.#send({
        type: "warning",
        code: WARNING_CODES.engineFallback,
        message: `the realtime engine could not be reached (${failure.message}); using the fallback engine (${engine}, ${model})`,
      });
      log("warn", "engine.fallback", { session_id: sessionId, engine, model });
      this.#connectEngine(this.#resumePoint());
      return;
    }
    if (phase === "active" && wasLive && this.#engineOutage < MAX_ENGINE_RECONNECTS) {
      this.#engineOutage++;
      if (this.#engineOutage === 1) {
        this.#send({
          type: "warning",
          code: WARNING_CODES.engineReconnecting,
          message: `the realtime engine link dropped (${failure.message}); reconnecting, audio is still recorded`,
        });
      }
      const delay = Math.min(8000, 250 * 2 ** (this.#engineOutage - 1));
      const resumeFrom = this.#resumePoint();
      setTimeout(() => {
        if (this.#state.meta.phase === "active" && this.#engine === null) this.#connectEngine(resumeFrom);
      }, delay);
      return;
    }
    this.#state.update({ engineGaveUp: true });
    this.#send(
      errorMsg(
        ERROR_CODES.engineUnavailable,
        `live transcription unavailable (${failure.message}); audio is still being recorded and will be enhanced if requested`,
        true,
      ),
    );
  }

  /** Stream byte where the last final ended: what comes after it was never finalized. */
  #resumePoint(): number {
    return Math.floor(this.#state.lastFinalEnd() * 16000) * 2;
  }

  #onEngineEvent(event: EngineEvent): void {
    const { config } = this.#state.meta;
    const t = (s: number) => round3(s + this.#engineOffset);
    switch (event.type) {
      case "vad.speech_start":
      case "vad.speech_end":
        if (config.enable_vad) this.#send({ type: event.type, timestamp: t(event.timestamp) });
        return;
      case "transcript.partial":
        if (config.interim_results) this.#send({ type: event.type, text: event.text, start: t(event.start), end: t(event.end) });
        return;
      case "transcript.final": {
        const words = config.word_timestamps
          ? (event.words ?? []).map((w) => ({ ...w, start: t(w.start), end: t(w.end) }))
          : undefined;
        const final = {
          text: event.text,
          start: t(event.start),
          end: t(event.end),
          confidence: event.confidence,
          ...(words ? { words } : {}),
        };
        if (final.text.trim() !== "") this.#state.addFinal(final);
        this.#send({ type: "transcript.final", ...final });
        return;
      }
      case "error":
        this.#send(errorMsg(ERROR_CODES.engineUnavailable, `engine: ${event.message}`, true));
        return;
    }
  }

  /* ---------------------------------------------------------------- */
  /* End                                                               */
  /* ---------------------------------------------------------------- */

  /** End the session once, whatever asked for it. */
  #end(reason: EndReason, close: CloseSpec): Promise<void> {
    this.#ending ??= this.#runEnd(reason, close);
    return this.#ending;
  }

  async #runEnd(reason: EndReason, close: CloseSpec): Promise<void> {
    const meta = this.#state.update({ phase: "ending", endReason: reason });
    if (this.#keepAliveTimer !== null) clearInterval(this.#keepAliveTimer);
    if (this.#dropReportTimer !== null) clearTimeout(this.#dropReportTimer);
    const started = Date.now();
    if (close.error) this.#send(errorMsg(close.error.code, close.error.message, false));
    const tail = this.#converter?.flush();
    if (tail && tail.byteLength > 0) {
      this.#recorder!.append(tail);
      this.#engine?.feed(tail);
    }

    // The engine's last results and the recording's last parts, side by side.
    // Where the end's time goes, for the log line (operators and the concurrent-end benchmark read it).
    const took = { engine_ms: 0, recording_ms: 0 };
    const since = (at: number) => Date.now() - at;
    const engineDone = (this.#engine ? this.#engine.finish(this.#config.realtime.endTimeoutMs) : Promise.resolve()).then(() => {
      took.engine_ms = since(started);
    });
    let status: SessionMeta["status"] = reason === "client_gone" ? "interrupted" : "completed";
    let recordingError: string | null = null;
    let recording;
    try {
      [recording] = await Promise.all([this.#recorder!.finish().finally(() => (took.recording_ms = since(started))), engineDone]);
    } catch (err) {
      // The spool still holds every byte; the alarm retries (see #retryRecording).
      await engineDone;
      status = "failed";
      recordingError = `recording could not be completed yet: ${errorMessage(err)}`;
      log("error", "recording.failed", { session_id: meta.sessionId, message: errorMessage(err) });
    }
    this.#engine = null;

    const finals = this.#state.finals();
    const segments = finals.map((f) => ({ start: f.start, end: f.end, text: f.text }));
    const transcript = joinFinals(finals);
    const durationSeconds = round3((recording?.dataBytes ?? this.#recorder!.recordedBytes) / 32000);

    const endedAt = Date.now();
    const dropped = this.#drops.totals;
    this.#state.update({ phase: "ended", status, endedAt, dropped });
    this.#state.queueRecord({
      status,
      ended_at: new Date(endedAt).toISOString(),
      end_reason: reason,
      duration_seconds: durationSeconds,
      bytes_recorded: recording?.dataBytes ?? this.#recorder!.recordedBytes,
      bytes_dropped: dropped.bytes,
      audio_key: recording ? recording.key : null,
      error: recordingError,
    });
    // The job id was fixed (and reserved in the store) at the start, so session.end does not wait for
    // Redis or the Queue: the outbox writes the record, the job and its message after it, retrying by
    // alarm. The client is warned only when the store had already failed and is still being retried.
    const jobId = meta.jobId;
    if (jobId && this.#state.meta.storeAttempts > 0) {
      this.#send({
        type: "warning",
        code: WARNING_CODES.enhancementDeferred,
        message: "the store is not reachable right now; the enhancement job is created and queued by automatic retries",
      });
    }

    const end: SessionEndMessage = {
      type: "session.end",
      session_id: meta.sessionId,
      total_duration: durationSeconds,
      transcript,
      segments,
      enhancement_job_id: jobId,
      bytes_dropped: dropped.bytes,
    };
    this.#send(end);
    // [push hook 4/6] a client awaiting the enhancement keeps its socket (closed by the push or its deadline).
    const held = this.#push.holdOpen({ sessionId: meta.sessionId, jobId, askedInUrl: meta.config.await_enhancement === true, closeCode: close.code });
    for (const ws of held ? [] : this.ctx.getWebSockets()) {
      try {
        ws.close(close.code, close.reason);
      } catch {
        // Already closed by the client.
      }
    }
    log("info", "session.end", {
      session_id: meta.sessionId,
      reason,
      status,
      duration_seconds: durationSeconds,
      end_ms: Date.now() - started,
      ...took,
      enhancement_job_id: jobId,
      bytes_dropped: dropped.bytes,
    });
    // After session.end, off the client's path: the live transcript beside the recording, then the store.
    void this.#saveTranscript().finally(() => this.#syncStoreSoon());
    await this.#scheduleAlarm();
  }

  /**
   * Write the live transcript (`sessions/<id>/transcript.json`) from the finals
   * in SQLite, once; the record names it only when it exists. A failure is
   * retried by the alarm.
   */
  async #saveTranscript(): Promise<void> {
    const meta = this.#state.meta;
    if (meta.transcriptSaved) return;
    const finals = this.#state.finals();
    const key = r2Keys.liveTranscript(meta.sessionId);
    try {
      await this.env.RECORDINGS.put(
        key,
        JSON.stringify({
          session_id: meta.sessionId,
          duration: round3(this.#recorder!.recordedBytes / 32000),
          transcript: joinFinals(finals),
          segments: finals,
        }),
        { httpMetadata: { contentType: "application/json" } },
      );
      this.#state.update({ transcriptSaved: true });
      this.#state.queueRecord({ transcript_key: key });
    } catch (err) {
      log("error", "transcript.save_failed", { session_id: meta.sessionId, message: errorMessage(err) });
      this.#state.update({ storeRetryAt: Date.now() + 2000 });
    }
  }

  /* ---------------------------------------------------------------- */
  /* Store sync: session record, enhancement job, queue message         */
  /* ---------------------------------------------------------------- */

  #syncStoreSoon(): void {
    void this.#syncStore();
  }

  /**
   * Write what the store is missing; on failure, retry from the alarm with
   * backoff. Calls made while a sync is in flight run again after it, so
   * fields queued meanwhile are not left for the alarm.
   */
  #syncStore(): Promise<void> {
    const previous = this.#storeSync ?? Promise.resolve();
    const next = previous.then(() => this.#runStoreSync());
    this.#storeSync = next;
    void next.finally(() => {
      if (this.#storeSync === next) this.#storeSync = null;
    });
    return next;
  }

  async #runStoreSync(): Promise<void> {
    try {
      await syncToStore(this.#state, this.env, {
        ttlSeconds: this.#config.store.recordTtlSeconds,
        timeoutMs: STORE_TIMEOUT_MS,
        recordingComplete: this.#recorderFinished(),
        recordingGaveUp: !this.#recorderFinished() && this.#state.meta.recordingAttempts >= MAX_RECORDING_ATTEMPTS,
      });
      this.#state.update({ storeAttempts: 0, storeRetryAt: null });
    } catch (err) {
      const attempts = this.#state.meta.storeAttempts + 1;
      const delay = Math.min(MAX_STORE_BACKOFF_MS, 1000 * 2 ** (attempts - 1));
      this.#state.update({ storeAttempts: attempts, storeRetryAt: Date.now() + delay });
      log("warn", "store.sync_failed", {
        session_id: this.#state.meta.sessionId,
        attempts,
        retry_in_ms: delay,
        message: errorMessage(err),
      });
      await this.#scheduleAlarm();
    }
  }

  #recorderFinished(): boolean {
    return this.#recorder?.finished ?? false;
  }

  /* ---------------------------------------------------------------- */
  /* Alarms: idle timeout, maximum duration, vanished clients, retries  */
  /* ---------------------------------------------------------------- */

  override async alarm(): Promise<void> {
    if (!this.#state.exists) return;
    const meta = this.#state.meta;
    const now = Date.now();
    if (meta.phase === "active") {
      this.#renewSlotSoon(now);
      const sockets = this.ctx.getWebSockets().length;
      if (sockets === 0 && meta.clientGoneAt === null) {
        // Restarted (deploy, eviction) with the client gone: start its grace period now.
        this.#state.update({ clientGoneAt: now });
      }
      const goneAt = this.#state.meta.clientGoneAt;
      if (goneAt !== null && now >= goneAt + this.#config.session.clientGoneGraceSeconds * 1000) {
        await this.#end("client_gone", { code: CLOSE_CODES.normal, reason: "client gone" });
        return;
      }
      if (goneAt === null && now >= this.#lastActivity + this.#config.session.idleTimeoutSeconds * 1000) {
        await this.#end("idle_timeout", {
          code: CLOSE_CODES.idleTimeout,
          reason: "idle timeout",
          error: {
            code: ERROR_CODES.idleTimeout,
            message: `no message for ${this.#config.session.idleTimeoutSeconds} s; the session has ended`,
          },
        });
        return;
      }
      if (now >= meta.createdAt + this.#wallClockCapMs()) {
        await this.#end("max_duration", {
          code: CLOSE_CODES.maxDuration,
          reason: "maximum session duration reached",
          error: { code: ERROR_CODES.maxDuration, message: "maximum session duration reached; the session has ended" },
        });
        return;
      }
    } else if (meta.phase === "ending" && this.#ending === null) {
      // The object restarted in the middle of ending: finish the job it started.
      await this.#end(meta.endReason ?? "client_gone", { code: CLOSE_CODES.normal, reason: "session ended" });
      return;
    } else if (meta.phase === "ended") {
      this.#push.onAlarm(now); // [push hook 5/6] the wait's deadline
      if (!this.#recorderFinished()) await this.#retryRecording();
      await this.#saveTranscript();
      await this.#syncStore();
    }
    await this.#scheduleAlarm();
  }

  /** Finish a recording whose completion failed at the end; give up (and abort the upload) after a while. */
  async #retryRecording(): Promise<void> {
    const meta = this.#state.meta;
    const attempts = meta.recordingAttempts + 1;
    try {
      const recording = await this.#recorder!.finish();
      const status = meta.endReason === "client_gone" ? "interrupted" : "completed";
      this.#state.update({ status, recordingAttempts: attempts });
      this.#state.queueRecord({
        status,
        audio_key: recording.key,
        bytes_recorded: recording.dataBytes,
        duration_seconds: round3(recording.durationSeconds),
        error: null,
      });
    } catch (err) {
      const gaveUp = attempts >= MAX_RECORDING_ATTEMPTS;
      this.#state.update({
        recordingAttempts: attempts,
        storeRetryAt: Date.now() + Math.min(MAX_STORE_BACKOFF_MS, 2000 * 2 ** attempts),
      });
      log("error", "recording.retry_failed", { session_id: meta.sessionId, attempts, gave_up: gaveUp, message: errorMessage(err) });
      if (gaveUp) {
        await this.#recorder!.abort().catch(() => undefined);
        this.#state.queueRecord({ error: `recording could not be completed: ${errorMessage(err)}` });
      }
    }
  }

  /** Wall-clock cap: twice the audio cap, so a client trickling audio cannot hold a session forever. */
  #wallClockCapMs(): number {
    return this.#config.session.maxSessionSeconds * 2000;
  }

  async #scheduleAlarm(): Promise<void> {
    if (!this.#state.exists) return;
    const meta = this.#state.meta;
    const deadlines: number[] = [];
    if (meta.phase === "active") {
      if (meta.clientGoneAt !== null) deadlines.push(meta.clientGoneAt + this.#config.session.clientGoneGraceSeconds * 1000);
      else deadlines.push(this.#lastActivity + this.#config.session.idleTimeoutSeconds * 1000);
      deadlines.push(meta.createdAt + this.#wallClockCapMs());
    } else if (meta.phase === "ending") {
      deadlines.push(Date.now() + 30_000);
    } else {
      const recordingPending = !this.#recorderFinished() && meta.recordingAttempts < MAX_RECORDING_ATTEMPTS;
      const jobPending = meta.jobId !== null && !(meta.jobRecorded && meta.jobQueued) && this.#recorderFinished();
      const slotPending = meta.holdsSlot && !meta.slotReleased;
      if (recordingPending || jobPending || slotPending || !meta.transcriptSaved || meta.pendingRecord !== null) {
        deadlines.push(meta.storeRetryAt ?? Date.now() + 1000);
      }
      const waitEnds = this.#push.deadline(); // [push hook 6/6]
      if (waitEnds !== null) deadlines.push(waitEnds);
    }
    if (deadlines.length === 0) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    await this.ctx.storage.setAlarm(Math.max(Date.now() + 10, Math.min(...deadlines)));
  }

  /* ---------------------------------------------------------------- */
  /* Helpers                                                           */
  /* ---------------------------------------------------------------- */

  /** Keep this session's concurrency slot (it lapses by itself if the object dies). */
  #renewSlotSoon(now: number): void {
    const meta = this.#state.meta;
    if (!meta.holdsSlot || meta.phase !== "active") return;
    const lease = this.#config.auth.slotLeaseSeconds;
    if (now - this.#slotRenewedAt < (lease * 1000) / 4) return;
    this.#slotRenewedAt = now;
    void new AuthStore(createRedis(this.env, { timeoutMs: STORE_TIMEOUT_MS, retries: 0 }))
      .renewSlot(meta.owner, meta.sessionId, lease)
      .catch((err) => log("warn", "slot.renew_failed", { session_id: meta.sessionId, message: errorMessage(err) }));
  }

  /** Test-only fault injection, honoured only where DEV_FAULTS=enabled (never in a deployment). */
  #devFaults(request: Request): { queueSend: number } {
    if (this.env.DEV_FAULTS !== "enabled") return { queueSend: 0 };
    const spec = new URLSearchParams(request.headers.get(SESSION_HEADERS.devFaults) ?? "");
    return { queueSend: Math.max(0, Number(spec.get("queue_send") ?? 0) || 0) };
  }

  #createRecorder(meta: SessionMeta): Recorder {
    return new Recorder(this.ctx.storage, this.env.RECORDINGS, {
      key: r2Keys.recording(meta.sessionId),
      metadata: {
        session_id: meta.sessionId,
        source_encoding: meta.config.encoding,
        source_sample_rate: String(meta.config.sample_rate),
      },
      bufferMs: this.#config.recorder.bufferMs,
      partBytes: this.#config.recorder.partBytes,
      onRetry: (message) => log("warn", "recording.retry", { session_id: meta.sessionId, message }),
    });
  }

  #send(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
      } catch {
        // The client is gone; webSocketClose handles it.
      }
    }
  }

  #sendTo(ws: WebSocket, message: ServerMessage): void {
    try {
      ws.send(JSON.stringify(message));
    } catch {
      // The client is gone; webSocketClose handles it.
    }
  }
}

/**
 * The code to answer a client's close with (RFC 6455 §5.5.1: echo it): its
 * own, unless it may not be sent on the wire (1004–1006 reserved, 1015 TLS,
 * anything outside 1000–1014 and 3000–4999), then 1000.
 */
function echoableCloseCode(code: number): number {
  const sendable = (code >= 1000 && code <= 1014 && (code < 1004 || code > 1006)) || (code >= 3000 && code <= 4999);
  return sendable ? code : CLOSE_CODES.normal;
}

/** The type of a control message, or why it is not one (the text of the `invalid_message` reply). */
function controlType(text: string): "keepalive" | "flush" | "end" | { invalid: string } {
  if (text.length > MAX_CONTROL_CHARS) return { invalid: `control messages are at most ${MAX_CONTROL_CHARS} characters` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { invalid: "text frames must be JSON control messages" };
  }
  const type = typeof parsed === "object" && parsed !== null ? (parsed as { type?: unknown }).type : undefined;
  if (type === "keepalive" || type === "flush" || type === "end") return type;
  return {
    invalid:
      typeof type === "string"
        ? `unknown message type '${type.slice(0, 64)}'; expected flush, end or keepalive`
        : "control messages must be JSON objects with a string 'type'",
  };
}

function errorMsg(code: ErrorCode, message: string, recoverable: boolean): ErrorMessage {
  return { type: "error", code, message, recoverable };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
/** All finals' text, joined with single spaces (session.end `transcript`). */
const joinFinals = (finals: { text: string }[]) => finals.map((f) => f.text.trim()).filter(Boolean).join(" ");
