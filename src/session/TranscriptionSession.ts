/**
 * One live transcription session (DESIGN §2), read as its lifecycle: the
 * gateway hands it over (`fetch`), the client talks (`webSocketMessage`),
 * leaves (`webSocketClose` / `webSocketError`), the alarm keeps time
 * (`alarm`), and the session ends once (`#end`). The work is done by
 * collaborators beside it: the engine link, the recorder, the audio limit,
 * the store outbox, the slot lease, the deadline rules and the client
 * protocol that renders events to the wire.
 *
 * Order of work for each binary frame: validate → convert to 16 kHz s16 →
 * record → relay. Recording comes first so that nothing the engine does can
 * lose audio.
 */
import { DurableObject } from "cloudflare:workers";
import { createAudioConverter, isWholeSamples, type AudioConverter } from "../audio/convert";
import { roundMs, streamSeconds } from "../audio/format";
import { readConfig, type AppEnv, type ServiceConfig } from "../config";
import { errorMessage, log } from "../log";
import type { ClientProtocol, ProtocolFactory, SessionEvent } from "../protocol/client-protocol";
import { createDeepgramProtocol } from "../protocol/deepgram/live";
import { ERROR_CODES, WARNING_CODES, type EngineEvent, type ErrorCode, type ErrorMessage } from "../protocol/messages";
import { createNativeProtocol } from "../protocol/native";
import { Recorder } from "../recorder/recorder";
import { newJobId } from "../store/ids";
import { r2Keys } from "../store/keys";
import type { EndReason } from "../store/records";
import { joinFinals, retryRecording, saveLiveTranscript } from "./after-end";
import { AudioLimit, TokenBucket } from "./audio-limit";
import { closeFor, echoableCloseCode, INTERNAL_ERROR_CLOSE, maxDurationClose, NORMAL_CLOSE, type CloseSpec } from "./close";
import { dueAction, MAX_RECORDING_ATTEMPTS, nextDeadline, type DeadlineInputs } from "./deadlines";
import { EngineLink } from "./engine-link";
import { decodeDevFaults, decodeHandoff, HandoffError } from "./handoff";
import { liveEvent } from "./live-events";
import { SlotLease } from "./slot-lease";
import { SessionState, type SessionMeta } from "./state";
import { startRecord, StoreOutbox } from "./store-sync";

const PROTOCOLS: Record<SessionMeta["protocol"], ProtocolFactory> = { native: createNativeProtocol, deepgram: createDeepgramProtocol };

export class TranscriptionSession extends DurableObject<AppEnv> {
  readonly #config: ServiceConfig;
  readonly #state: SessionState;
  readonly #outbox: StoreOutbox;
  readonly #slot: SlotLease;
  /** Audio frames over MAX_MESSAGES_PER_SECOND (burst: twice the rate); control messages never spend it. */
  readonly #audioLimit: AudioLimit;
  /** Replies to invalid control messages, so a flood of garbage cannot become a flood of errors. */
  readonly #invalidReplies: TokenBucket;
  #recorder: Recorder | null = null;
  #converter: AudioConverter | null = null;
  #link: EngineLink | null = null;
  #ending: Promise<void> | null = null;
  /** The client's wire protocol, made once per object (it may keep per-connection state). */
  #wire: ClientProtocol | null = null;
  #lastActivity = Date.now();

  constructor(ctx: DurableObjectState, env: AppEnv) {
    super(ctx, env);
    this.#config = readConfig(env);
    this.#state = new SessionState(ctx.storage.sql);
    const rate = this.#config.limits.maxMessagesPerSecond;
    this.#audioLimit = new AudioLimit(rate, this.#state.exists ? this.#state.meta.dropped : undefined, (totals) => {
      this.#state.update({ dropped: totals });
      this.#emit({
        ...errorEvent(
          ERROR_CODES.rateLimited,
          `more than ${rate} audio frames per second; frames over the limit are dropped and not recorded (so far ${totals.frames} frames, ${totals.bytes} bytes not recorded)`,
          true,
        ),
        frames_dropped: totals.frames,
        bytes_dropped: totals.bytes,
      });
    });
    this.#invalidReplies = new TokenBucket(rate);
    this.#slot = new SlotLease(env, this.#config.auth.slotLeaseSeconds);
    this.#outbox = new StoreOutbox(
      this.#state,
      env,
      this.#config.store.recordTtlSeconds,
      () => ({ complete: this.#recordingFinished(), gaveUp: this.#recordingGaveUp() }),
      () => this.#scheduleAlarm(),
    );
    if (this.#state.exists) this.#open(this.#state.meta);
  }

  /* ------------------------------ start ------------------------------ */

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    // Ids are random; a second connect to the same object is a client bug or an attack.
    if (this.#state.exists) return new Response("session already exists", { status: 409 });
    let handoff;
    try {
      handoff = decodeHandoff(request);
    } catch (err) {
      if (!(err instanceof HandoffError)) throw err;
      log("error", "session.bad_handoff", { message: err.message });
      return new Response(err.message, { status: 400 });
    }
    const { sessionId, config, owner } = handoff;
    const now = Date.now();
    const meta = this.#state.init({
      sessionId,
      config,
      owner,
      protocol: handoff.protocol,
      ...(handoff.deepgram ? { deepgram: handoff.deepgram } : {}),
      holdsSlot: handoff.holdsSlot,
      createdAt: now,
      jobId: config.enhance_on_end ? newJobId() : null,
      queueSendFailuresToInject: decodeDevFaults(request, this.env.DEV_FAULTS === "enabled").queueSend,
    });
    this.#open(meta);

    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    this.#emit({
      type: "session.begin",
      session_id: sessionId,
      config: { ...config },
      enhancement: { requested: config.enhance_on_end, llm_cleanup: config.enhance_llm_cleanup, emotions: config.enhance_emotions },
    });
    log("info", "session.start", { session_id: sessionId, encoding: config.encoding, sample_rate: config.sample_rate });
    this.#state.queueRecord(startRecord(meta));
    void this.#outbox.sync();
    this.#link!.start();
    await this.#scheduleAlarm();
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /* -------------------------- client messages ------------------------- */

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.#guard("webSocketMessage", async () => {
      if (!this.#state.exists) return;
      const now = Date.now();
      this.#lastActivity = now;
      const meta = this.#state.meta;
      if (meta.holdsSlot && meta.phase === "active") this.#slot.renewSoon(meta.owner, meta.sessionId, now);
      if (typeof message === "string") return this.#onControl(ws, message, now);
      // Over the rate a frame is dropped on purpose (a client this far over is broken or abusive), counted to the byte.
      if (message.byteLength === 0 || !this.#audioLimit.admit(message.byteLength, now)) return;
      this.#onAudio(ws, new Uint8Array(message), now);
    });
  }

  #onAudio(ws: WebSocket, frame: Uint8Array, now: number): void {
    const { config, phase } = this.#state.meta;
    const refuse = (code: ErrorCode, message: string) => {
      this.#audioLimit.refused(frame.byteLength);
      this.#emitTo(ws, errorEvent(code, message, true));
    };
    if (phase !== "active") return refuse(ERROR_CODES.sessionEnding, "audio after end is not recorded");
    const max = this.#config.session.maxFrameBytes;
    if (frame.byteLength > max) {
      return refuse(ERROR_CODES.frameTooLarge, `binary frame of ${frame.byteLength} bytes exceeds the maximum of ${max}; frame dropped, session continues`);
    }
    if (!isWholeSamples(config.encoding, frame.byteLength)) {
      return refuse(
        ERROR_CODES.invalidFrame,
        `binary frame of ${frame.byteLength} bytes is not a whole number of ${config.encoding} samples; frame dropped, session continues`,
      );
    }
    // A restart loses the converter's filter history; a fresh one costs a few samples of ramp, not audio.
    this.#converter ??= createAudioConverter(config.encoding, config.sample_rate);
    const pcm = this.#converter.push(frame);
    this.#recorder!.append(pcm);
    this.#link!.feed(pcm, now);
    if (streamSeconds(this.#recorder!.recordedBytes) >= this.#config.session.maxSessionSeconds) {
      void this.#end("max_duration", maxDurationClose(`maximum session duration of ${this.#config.session.maxSessionSeconds} s reached`));
    }
  }

  /**
   * Control messages are never rate limited: whatever a client sent before
   * it, `end` ends the session. Their effects are idempotent and cheap, so a
   * flood of them costs little (see EngineLink.ping and flush), and replies to
   * invalid ones are rate limited.
   */
  async #onControl(ws: WebSocket, text: string, now: number): Promise<void> {
    const request = this.#protocol().parseControl(text, { streamSeconds: streamSeconds(this.#recorder?.recordedBytes ?? 0) });
    switch (request.type) {
      case "keepalive":
        return this.#link?.ping(now);
      case "flush":
        if (this.#state.meta.phase === "active") this.#link?.flush();
        return;
      case "end":
        return this.#end("client_end", NORMAL_CLOSE);
      case "invalid":
        if (this.#invalidReplies.take(now)) this.#emitTo(ws, errorEvent(ERROR_CODES.invalidMessage, request.reason, true));
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
    await this.#guard("webSocketClose", () => this.#clientGone(`client closed (${code})`));
  }

  override async webSocketError(): Promise<void> {
    await this.#guard("webSocketError", () => this.#clientGone("client socket error"));
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

  /* ------------------------------ alarm ------------------------------ */

  override async alarm(): Promise<void> {
    await this.#guard("alarm", async () => {
      if (!this.#state.exists) return;
      const now = Date.now();
      const meta = this.#state.meta;
      if (meta.phase === "active") {
        if (meta.holdsSlot) this.#slot.renewSoon(meta.owner, meta.sessionId, now);
        // Restarted (deploy, eviction) with the client gone: its grace period starts now.
        if (this.ctx.getWebSockets().length === 0 && meta.clientGoneAt === null) this.#state.update({ clientGoneAt: now });
      }
      const due = dueAction(this.#deadlineInputs(), now, this.#config.session);
      switch (due.kind) {
        case "end":
          return this.#end(due.reason, closeFor(due.reason, this.#config.session.idleTimeoutSeconds));
        case "finish_ending":
          if (this.#ending === null) return this.#end(meta.endReason ?? "client_gone", NORMAL_CLOSE);
          break;
        case "sync_store":
          await this.#outbox.sync();
          break;
        case "retry_owed":
          if (!this.#recordingFinished()) await retryRecording(this.#state, this.#recorder!);
          await saveLiveTranscript(this.#state, this.#recorder!, this.env.RECORDINGS);
          await this.#outbox.sync();
          break;
      }
      await this.#scheduleAlarm();
    });
  }

  async #scheduleAlarm(): Promise<void> {
    if (!this.#state.exists) return;
    const at = nextDeadline(this.#deadlineInputs(), Date.now(), this.#config.session);
    if (at === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.max(Date.now() + 10, at));
  }

  #deadlineInputs(): DeadlineInputs {
    return { meta: this.#state.meta, lastActivity: this.#lastActivity, recordingFinished: this.#recordingFinished() };
  }

  /* ------------------------------- end ------------------------------- */

  /** End the session once, whatever asked for it. A failed end can be run again (by the alarm). */
  #end(reason: EndReason, close: CloseSpec): Promise<void> {
    this.#ending ??= this.#runEnd(reason, close).catch((err: unknown) => {
      this.#ending = null;
      throw err;
    });
    return this.#ending;
  }

  /**
   * The engine's last results and the recording's completion, side by side;
   * then `session.end`. What nothing on the client's side waits for (the live
   * transcript copy, the store records, the job and its message) comes after
   * it, retried by alarm until done.
   */
  async #runEnd(reason: EndReason, close: CloseSpec): Promise<void> {
    const meta = this.#state.update({ phase: "ending", endReason: reason });
    const started = Date.now();
    this.#audioLimit.stop();
    if (close.error) this.#emit(errorEvent(close.error.code, close.error.message, false));
    const tail = this.#converter?.flush();
    if (tail && tail.byteLength > 0) {
      this.#recorder!.append(tail);
      this.#link?.feed(tail, started);
    }
    // Where the end's time goes, for the log line (operators and the concurrent-end benchmark read it).
    const took = { engine_ms: 0, recording_ms: 0 };
    const engineDone = (this.#link?.finish(this.#config.realtime.endTimeoutMs) ?? Promise.resolve()).then(() => {
      took.engine_ms = Date.now() - started;
    });
    let status: SessionMeta["status"] = reason === "client_gone" ? "interrupted" : "completed";
    let recordingError: string | null = null;
    let recording;
    try {
      [recording] = await Promise.all([this.#recorder!.finish().finally(() => (took.recording_ms = Date.now() - started)), engineDone]);
    } catch (err) {
      // The spool still holds every byte; the alarm retries (see #retryRecording).
      await engineDone;
      status = "failed";
      recordingError = `recording could not be completed yet: ${errorMessage(err)}`;
      log("error", "recording.failed", { session_id: meta.sessionId, message: errorMessage(err) });
    }

    const finals = this.#state.finals();
    const recordedBytes = recording?.dataBytes ?? this.#recorder!.recordedBytes;
    const durationSeconds = roundMs(streamSeconds(recordedBytes));
    const endedAt = Date.now();
    const dropped = this.#audioLimit.totals;
    this.#state.update({ phase: "ended", status, endedAt, dropped });
    this.#state.queueRecord({
      status,
      ended_at: new Date(endedAt).toISOString(),
      end_reason: reason,
      duration_seconds: durationSeconds,
      bytes_recorded: recordedBytes,
      bytes_dropped: dropped.bytes,
      audio_key: recording ? recording.key : null,
      error: recordingError,
    });
    // The job id was fixed (and reserved in the store) at the start, so session.end does not wait for
    // Redis or the Queue. The client is warned only when the store had already failed and is being retried.
    if (meta.jobId && this.#state.meta.storeAttempts > 0) {
      this.#emit({
        type: "warning",
        code: WARNING_CODES.enhancementDeferred,
        message: "the store is not reachable right now; the enhancement job is created and queued by automatic retries",
      });
    }
    this.#emit({
      type: "session.end",
      session_id: meta.sessionId,
      total_duration: durationSeconds,
      transcript: joinFinals(finals),
      segments: finals.map((f) => ({ start: f.start, end: f.end, text: f.text })),
      enhancement_job_id: meta.jobId,
      bytes_dropped: dropped.bytes,
    });
    const wireClose = this.#protocol().closeWith?.(close) ?? close;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(wireClose.code, wireClose.reason);
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
      enhancement_job_id: meta.jobId,
      bytes_dropped: dropped.bytes,
    });
    void saveLiveTranscript(this.#state, this.#recorder!, this.env.RECORDINGS).finally(() => this.#outbox.sync());
    await this.#scheduleAlarm();
  }

  /* ------------------------------ helpers ----------------------------- */

  /**
   * The error boundary of every handler: an unexpected throw is logged, the
   * client is told (`internal_error`, not recoverable), and the session ends
   * with its recording completed and the reserved close code.
   */
  async #guard(handler: string, fn: () => Promise<void> | void): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const sessionId = this.#state.exists ? this.#state.meta.sessionId : null;
      log("error", "session.internal_error", { session_id: sessionId, handler, message: errorMessage(err) });
      if (!this.#state.exists || this.#state.meta.phase === "ended") return;
      await this.#end("internal_error", INTERNAL_ERROR_CLOSE).catch((e: unknown) => log("error", "session.end_failed", { session_id: sessionId, message: errorMessage(e) }));
    }
  }

  /** Wire up the collaborators that need the session's identity (at the start, or after a restart). */
  #open(meta: SessionMeta): void {
    this.#recorder = new Recorder(this.ctx.storage, this.env.RECORDINGS, {
      key: r2Keys.recording(meta.sessionId),
      metadata: { session_id: meta.sessionId, source_encoding: meta.config.encoding, source_sample_rate: String(meta.config.sample_rate) },
      bufferMs: this.#config.recorder.bufferMs,
      partBytes: this.#config.recorder.partBytes,
      onRetry: (message) => log("warn", "recording.retry", { session_id: meta.sessionId, message }),
    });
    const recorder = this.#recorder;
    const state = this.#state;
    this.#link = new EngineLink(
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
          const { event, final } = liveEvent(engineEvent, state.meta.config);
          if (final) state.addFinal(final);
          if (event) this.#emit(event);
        },
        notify: (message) => this.#emit(message),
      },
      this.#config.realtime,
      this.env.AI,
    );
  }

  #recordingFinished(): boolean {
    return this.#recorder?.finished ?? false;
  }

  #recordingGaveUp(): boolean {
    return !this.#recordingFinished() && this.#state.meta.recordingAttempts >= MAX_RECORDING_ATTEMPTS;
  }

  #protocol(): ClientProtocol {
    const meta = this.#state.meta;
    this.#wire ??= PROTOCOLS[meta.protocol ?? "native"](meta);
    return this.#wire;
  }

  #emit(event: SessionEvent): void {
    for (const ws of this.ctx.getWebSockets()) this.#emitTo(ws, event);
  }

  #emitTo(ws: WebSocket, event: SessionEvent): void {
    const wire = this.#protocol().render(event);
    if (wire === null) return;
    try {
      if (typeof wire === "string") return ws.send(wire);
      if (wire.message !== undefined) ws.send(wire.message);
      ws.close(wire.close.code, wire.close.reason);
    } catch {
      // The client is gone; webSocketClose handles it.
    }
  }
}

function errorEvent(code: ErrorCode, message: string, recoverable: boolean): ErrorMessage {
  return { type: "error", code, message, recoverable };
}

