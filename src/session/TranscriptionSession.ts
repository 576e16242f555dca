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
import { loadConfig, logConfigError, type AppEnv, type ServiceConfig } from "../config";
import type { EnhancementUpdate } from "../delivery/push-types";
import { errorMessage, log } from "../log";
import { ERROR_CODES, type ErrorCode, type ErrorMessage } from "../protocol/messages";
import { Recorder } from "../recorder/recorder";
import { newJobId } from "../store/ids";
import { r2Keys } from "../store/keys";
import type { EndReason } from "../store/records";
import { retryRecording, saveLiveTranscript } from "./after-end";
import { AudioLimit, dropReport, TokenBucket } from "./audio-limit";
import { closeFor, echoableCloseCode, INTERNAL_ERROR_CLOSE, maxDurationClose, NORMAL_CLOSE, type CloseSpec } from "./close";
import { dueAction, MAX_RECORDING_ATTEMPTS, nextDeadline, type DeadlineInputs } from "./deadlines";
import { linkForSession, type EngineLink } from "./engine-link";
import { decodeDevFaults, decodeHandoff, HandoffError, type ResumeHandoff } from "./handoff";
import { EnhancementPush } from "./enhancement-push";
import { StreamProgress } from "./progress";
import { newResumeToken, refuseResume } from "./resume";
import { ClientSockets } from "./client-sockets";
import { finishSession } from "./end";
import { SlotLease } from "./slot-lease";
import { SessionState, type SessionMeta } from "./state";
import { startRecord, StoreOutbox } from "./store-sync";

/** With an invalid configuration (a bad deploy), alarms look again this often for a fixed one. */
const INVALID_CONFIG_RETRY_MS = 60_000;

export class TranscriptionSession extends DurableObject<AppEnv> {
  readonly #loaded: ReturnType<typeof loadConfig>;
  readonly #state: SessionState;
  readonly #clients: ClientSockets;
  // The collaborators exist only with a valid configuration (see #wire); nothing runs on guessed settings.
  #outbox!: StoreOutbox;
  #slot!: SlotLease;
  /** Audio frames over MAX_MESSAGES_PER_SECOND (burst: twice the rate); control messages never spend it. */
  #audioLimit!: AudioLimit;
  /** Replies to invalid control messages, so a flood of garbage cannot become a flood of errors. */
  #invalidReplies!: TokenBucket;
  #recorder: Recorder | null = null;
  #converter: AudioConverter | null = null;
  #link: EngineLink | null = null;
  #progress!: StreamProgress;
  /** The enhanced result pushed to a socket that awaits it. */
  #push!: EnhancementPush;
  #ending: Promise<void> | null = null;
  #lastActivity = Date.now();

  constructor(ctx: DurableObjectState, env: AppEnv) {
    super(ctx, env);
    this.#loaded = loadConfig(env);
    this.#state = new SessionState(ctx.storage.sql);
    this.#clients = new ClientSockets(ctx, this.#state);
    if (this.#loaded.ok) this.#wire(this.#loaded.config, env);
  }

  /** Throws ConfigError on an invalid configuration: fetch and alarm refuse before anything reads it. */
  get #config(): ServiceConfig {
    if (!this.#loaded.ok) throw this.#loaded.error;
    return this.#loaded.config;
  }

  #wire(config: ServiceConfig, env: AppEnv): void {
    const rate = config.limits.maxMessagesPerSecond;
    this.#audioLimit = new AudioLimit(rate, this.#state.exists ? this.#state.progress().dropped : undefined, (totals) => {
      this.#checkpoint();
      this.#clients.emit(dropReport(totals, rate));
    });
    this.#invalidReplies = new TokenBucket(rate);
    this.#progress = new StreamProgress(
      this.#state,
      () => this.#audioLimit.totals,
      (bytes) => this.#clients.emit({ type: "audio.ack", bytes }),
    );
    this.#slot = new SlotLease(env, config.auth.slotLeaseSeconds);
    this.#push = new EnhancementPush(this.ctx, { sockets: () => this.#clients.current(), emit: (m) => this.#clients.emit(m) }, env.RECORDINGS, config.delivery.awaitMaxSeconds);
    this.#outbox = new StoreOutbox(
      this.#state,
      env,
      config.store.recordTtlSeconds,
      () => ({ complete: this.#recordingFinished(), gaveUp: this.#recordingGaveUp() }),
      () => this.#scheduleAlarm(),
    );
    if (this.#state.exists) this.#open(this.#state.meta);
  }

  /* ------------------------------ start ------------------------------ */

  override async fetch(request: Request): Promise<Response> {
    if (!this.#loaded.ok) {
      logConfigError(this.#loaded.error, "new session");
      const message = `the service refuses new sessions until its configuration is fixed: ${this.#loaded.error.descriptions.join("; ")}`;
      return Response.json({ error: { code: "unavailable", message } }, { status: 503 });
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    let handoff;
    try {
      handoff = decodeHandoff(request);
    } catch (err) {
      if (!(err instanceof HandoffError)) throw err;
      log("error", "session.bad_handoff", { message: err.message });
      return new Response(err.message, { status: 400 });
    }
    if (handoff.kind === "resume") return this.#resume(handoff);
    // Ids are random; a second start of the same object is a client bug or an attack.
    if (this.#state.exists) return new Response("session already exists", { status: 409 });
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
      resumeToken: newResumeToken(),
    });
    this.#open(meta);

    const client = this.#clients.accept();
    this.#clients.emit({
      type: "session.begin",
      session_id: sessionId,
      config: { ...config },
      enhancement: { requested: config.enhance_on_end, llm_cleanup: config.enhance_llm_cleanup, emotions: config.enhance_emotions },
      resume_token: meta.resumeToken!,
    });
    log("info", "session.start", { session_id: sessionId, encoding: config.encoding, sample_rate: config.sample_rate });
    this.#state.queueRecord(startRecord(meta));
    void this.#outbox.sync();
    this.#link!.start();
    await this.#scheduleAlarm();
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * A new connection to this live session (DESIGN §4.3.1): it takes over from
   * any older one, hears where to continue from, and the grace period stops.
   */
  async #resume(handoff: ResumeHandoff): Promise<Response> {
    const meta = this.#state.exists ? this.#state.meta : null;
    const refusal = refuseResume(meta, handoff, Date.now(), this.#config.session.clientGoneGraceSeconds);
    if (refusal) {
      if (refusal.status === 410 && meta?.phase === "active") void this.#end("client_gone", closeFor("client_gone", 0));
      return Response.json({ error: { code: refusal.code, message: refusal.message } }, { status: refusal.status });
    }
    this.#checkpoint();
    const connection = this.#clients.takeOver();
    const client = this.#clients.accept();
    this.#lastActivity = Date.now();
    this.#link!.start(); // after a restart the engine link is gone: reopen it where the last final ended
    this.#clients.emit({
      type: "session.resumed",
      session_id: handoff.sessionId,
      bytes_received: this.#progress.durableBytes,
      total_duration: roundMs(streamSeconds(this.#recorder!.recordedBytes)),
    });
    log("info", "session.resumed", { session_id: handoff.sessionId, connection, bytes_received: this.#progress.durableBytes });
    await this.#scheduleAlarm();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Make everything handled so far durable: the recorder's buffer and the stream position with it. */
  #checkpoint(): void {
    this.#recorder?.spool();
    this.#progress.persist();
  }

  /** RPC from the enhancement pipeline: a stage started or the job finished (pushed to a waiting client). */
  async enhancementUpdate(update: EnhancementUpdate): Promise<void> {
    if (!this.#state.exists || !this.#loaded.ok) return;
    await this.#push.onUpdate(update);
    await this.#scheduleAlarm();
  }

  /* -------------------------- client messages ------------------------- */

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // The per-frame path: no closure per message (the guard's try/catch is inline), no awaits for audio.
    try {
      if (!this.#state.exists || !this.#clients.isCurrent(ws)) return;
      const now = Date.now();
      this.#lastActivity = now;
      const meta = this.#state.meta;
      if (meta.holdsSlot && meta.phase === "active") this.#slot.renewSoon(meta.owner, meta.sessionId, now);
      if (typeof message === "string") return await this.#onControl(ws, message, now);
      if (message.byteLength === 0) return;
      this.#progress.handled(message.byteLength);
      // Over the rate a frame is dropped on purpose (a client this far over is broken or abusive), counted to the byte.
      if (!this.#audioLimit.admit(message.byteLength, now)) return;
      this.#onAudio(ws, new Uint8Array(message), now);
    } catch (err) {
      await this.#failed("webSocketMessage", err);
    }
  }

  #onAudio(ws: WebSocket, frame: Uint8Array, now: number): void {
    const { config, phase } = this.#state.meta;
    if (phase !== "active") return this.#refuse(ws, frame, ERROR_CODES.sessionEnding, "audio after end is not recorded");
    const max = this.#config.session.maxFrameBytes;
    if (frame.byteLength > max) {
      return this.#refuse(ws, frame, ERROR_CODES.frameTooLarge, `binary frame of ${frame.byteLength} bytes exceeds the maximum of ${max}; frame dropped, session continues`);
    }
    if (!isWholeSamples(config.encoding, frame.byteLength)) {
      return this.#refuse(
        ws,
        frame,
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

  /** A frame that is not recorded: the client is told, and it counts in `bytes_dropped`. */
  #refuse(ws: WebSocket, frame: Uint8Array, code: ErrorCode, message: string): void {
    this.#audioLimit.refused(frame.byteLength);
    this.#clients.emitTo(ws, errorEvent(code, message, true));
  }

  /**
   * Control messages are never rate limited: whatever a client sent before
   * it, `end` ends the session. Their effects are idempotent and cheap, so a
   * flood of them costs little (see EngineLink.ping and flush), and replies to
   * invalid ones are rate limited.
   */
  async #onControl(ws: WebSocket, text: string, now: number): Promise<void> {
    const request = this.#clients.parseControl(text, { streamSeconds: streamSeconds(this.#recorder?.recordedBytes ?? 0) });
    switch (request.type) {
      case "keepalive":
        return this.#link?.ping(now);
      case "flush":
        if (this.#state.meta.phase === "active") this.#link?.flush();
        return;
      case "end":
        this.#push.noteEnd(request.await_enhancement === true);
        return this.#end("client_end", NORMAL_CLOSE);
      case "invalid":
        if (this.#invalidReplies.take(now)) this.#clients.emitTo(ws, errorEvent(ERROR_CODES.invalidMessage, request.reason, true));
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
    if (this.#state.exists && this.#clients.isCurrent(ws)) await this.#guard("webSocketClose", () => this.#clientGone(`client closed (${code})`));
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    if (this.#state.exists && this.#clients.isCurrent(ws)) await this.#guard("webSocketError", () => this.#clientGone("client socket error"));
  }


  /** The client left without `end`: keep the engine going, finish after the grace period. */
  async #clientGone(why: string): Promise<void> {
    if (!this.#state.exists || this.#state.meta.phase !== "active") return;
    this.#checkpoint();
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
      if (!this.#loaded.ok) {
        // Finish nothing on guessed settings: wait for a deploy with a valid configuration.
        logConfigError(this.#loaded.error, `session ${this.#state.meta.sessionId}: alarm deferred`);
        await this.ctx.storage.setAlarm(Date.now() + INVALID_CONFIG_RETRY_MS);
        return;
      }
      const now = Date.now();
      const meta = this.#state.meta;
      if (meta.phase === "active") {
        if (meta.holdsSlot) this.#slot.renewSoon(meta.owner, meta.sessionId, now);
        // Restarted (deploy, eviction) with the client gone: its grace period starts now.
        if (this.#clients.current().length === 0 && meta.clientGoneAt === null) this.#state.update({ clientGoneAt: now });
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
          this.#push.onAlarm(now);
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
    return { meta: this.#state.meta, lastActivity: this.#lastActivity, recordingFinished: this.#recordingFinished(), pushDeadline: this.#push.deadline() };
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
   * The end itself (./end.ts); then what nothing on the client's side waits
   * for (the live transcript copy, the store records, the job and its
   * message), retried by alarm until done.
   */
  async #runEnd(reason: EndReason, close: CloseSpec): Promise<void> {
    await finishSession(
      {
        state: this.#state,
        clients: this.#clients,
        recorder: this.#recorder!,
        link: this.#link,
        converter: this.#converter,
        audioLimit: this.#audioLimit,
        progress: this.#progress,
        push: this.#push,
        endTimeoutMs: this.#config.realtime.endTimeoutMs,
        checkpoint: () => this.#checkpoint(),
      },
      reason,
      close,
    );
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
      await this.#failed(handler, err);
    }
  }

  /** An unexpected throw in `handler`: logged, and the session ends with `internal_error` (4003). */
  async #failed(handler: string, err: unknown): Promise<void> {
    const sessionId = this.#state.exists ? this.#state.meta.sessionId : null;
    log("error", "session.internal_error", { session_id: sessionId, handler, message: errorMessage(err) });
    if (!this.#state.exists || this.#state.meta.phase === "ended") return;
    await this.#end("internal_error", INTERNAL_ERROR_CLOSE).catch((e: unknown) => log("error", "session.end_failed", { session_id: sessionId, message: errorMessage(e) }));
  }

  /** Wire up the collaborators that need the session's identity (at the start, or after a restart). */
  #open(meta: SessionMeta): void {
    this.#recorder = new Recorder(this.ctx.storage, this.env.RECORDINGS, {
      key: r2Keys.recording(meta.sessionId),
      metadata: { session_id: meta.sessionId, source_encoding: meta.config.encoding, source_sample_rate: String(meta.config.sample_rate) },
      bufferMs: this.#config.recorder.bufferMs,
      partBytes: this.#config.recorder.partBytes,
      onRetry: (message) => log("warn", "recording.retry", { session_id: meta.sessionId, message }),
      // The stream position is written with the audio it covers: acks and resume never claim more.
      onSpool: () => this.#progress.persist(),
    });
    this.#link = linkForSession(this.#state, this.#recorder, this.#config.realtime, this.env.AI, (event) => this.#clients.emit(event));
  }

  #recordingFinished(): boolean {
    return this.#recorder?.finished ?? false;
  }

  #recordingGaveUp(): boolean {
    return !this.#recordingFinished() && this.#state.meta.recordingAttempts >= MAX_RECORDING_ATTEMPTS;
  }

}

function errorEvent(code: ErrorCode, message: string, recoverable: boolean): ErrorMessage {
  return { type: "error", code, message, recoverable };
}

