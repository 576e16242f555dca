/**
 * Deepgram nova-3 and flux on Workers AI, reached through the AI binding:
 * `env.AI.run(model, params, { websocket: true })` answers a 101 Response whose
 * `webSocket` is the live stream (raw PCM in, Deepgram JSON out). The wire
 * messages and their sources are in ./deepgram-messages.ts.
 *
 * Mapping onto the native protocol (timestamps: seconds on the engine's own
 * timeline, i.e. since the start of this link; the session adds its offset):
 *
 * nova-3
 *  - interim `Results` → `transcript.partial` {text, start, end: start+duration};
 *    empty interim transcripts are skipped; none at all when the session asked
 *    for no interim results (Deepgram still sends them: UtteranceEnd needs them).
 *  - final `Results` (`is_final`) → `transcript.final` {text, start, end:
 *    start+duration, confidence, words (punctuated_word when present)}. An empty
 *    final is skipped, except right after a partial: then it is sent with empty
 *    text so clients drop the partial Deepgram took back.
 *  - `SpeechStarted` → `vad.speech_start` {timestamp}.
 *  - end of speech: the FIRST of `speech_final: true` (timestamp: end of the
 *    last finalized word) or `UtteranceEnd` (timestamp: `last_word_end`) →
 *    `vad.speech_end`; the other one, arriving later for the same utterance,
 *    is ignored (Deepgram's "End of Speech Detection" guide: endpointing is
 *    quicker in quiet rooms, UtteranceEnd is the fallback when noise hides
 *    the silence). VAD events are kept paired: a transcript with words while
 *    no speech is open opens one (at its first word), a repeated SpeechStarted
 *    is ignored, and a stream that ends mid-speech closes it.
 *  - `Metadata` after `CloseStream` ends the stream (finish resolves).
 *  - `Error` frame → `error` event (recoverable); if the socket then closes,
 *    onFailure("runtime").
 *
 * flux (turn-based)
 *  - `StartOfTurn` → `vad.speech_start` {audio_window_start}, then a partial
 *    when it already carries text.
 *  - `Update` / `EagerEndOfTurn` / `TurnResumed` → `transcript.partial` for the
 *    turn so far (start: the turn's first audio_window_start, end:
 *    audio_window_end); empty or unchanged transcripts are skipped (Flux sends
 *    an Update every ~0.25 s whether or not the text changed).
 *  - `EndOfTurn` → `transcript.final` (confidence: mean word confidence; words
 *    only when Flux sends word timings, which the Workers AI schema does not
 *    list yet) + `vad.speech_end` {audio_window_end}.
 *  - `Connected` is ignored; `Error` (fatal) → `error` event, then the close
 *    → onFailure("runtime").
 *  - Flux's CloseStream does not end the open turn (no EndOfTurn, no
 *    Metadata; the server just closes): finish() emits the last Update of an
 *    open turn as its final (Deepgram's own advice), then `vad.speech_end`.
 *  - flush() sends `ForceEndTurn` (Flux ends the turn on what it has and sends
 *    a normal EndOfTurn; ignored when no turn is open). Configurable: see
 *    `fluxFlush`.
 */
import { ERROR_CODES, type EngineEvent, type Word } from "../../protocol/messages";
import type {
  DeepgramWord,
  FluxError,
  FluxTurnInfo,
  NovaError,
  NovaResults,
  NovaSpeechStarted,
  NovaUtteranceEnd,
} from "./deepgram-messages";
import type {
  EngineFailure,
  RealtimeEngine,
  RealtimeSession,
  RealtimeSessionCallbacks,
  RealtimeSessionOptions,
} from "./types";
import { LinkOutbox, waitAtMost } from "./link";

/** The realtime models this adapter speaks. */
export const WORKERS_AI_REALTIME_MODELS = {
  nova3: "@cf/deepgram/nova-3",
  flux: "@cf/deepgram/flux",
} as const;

export interface WorkersAiEngineOptions {
  /**
   * Most audio held while the stream is connecting. Past this the link is
   * declared failed rather than growing without bound; the recording keeps
   * the audio either way.
   * @default 1_920_000 (60 s of 16 kHz s16)
   */
  maxPendingBytes?: number;
  /**
   * How long to wait for Workers AI to open the stream.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * nova-3: milliseconds of silence before Deepgram finalizes with
   * `speech_final` (Deepgram's own default, 10 ms, splits mid-sentence).
   * @default 300
   */
  endpointingMs?: number;
  /**
   * nova-3: gap after the last finalized word that produces `UtteranceEnd`
   * (needs interim results, which this adapter always requests).
   * @default 1000
   */
  utteranceEndMs?: number;
  /**
   * nova-3: numerals, punctuation and casing in transcripts.
   * @default true
   */
  smartFormat?: boolean;
  /**
   * nova-3: `language` sent when the session asks for "auto". Unset, no
   * language is sent and nova-3 uses its default (en-US); "multi" asks it to
   * detect among its supported languages.
   * @default undefined
   */
  autoLanguage?: string;
  /**
   * flux: end-of-turn confidence that ends a turn (0.5–0.9). Unset, Flux's
   * default applies (0.7).
   * @default undefined
   */
  eotThreshold?: number;
  /**
   * flux: silence after which a turn ends regardless of confidence. Unset,
   * Flux's default applies (5000).
   * @default undefined
   */
  eotTimeoutMs?: number;
  /**
   * flux: what flush() sends. "ForceEndTurn" ends the open turn now (Flux
   * answers with EndOfTurn); "none" sends nothing and leaves turn ends to Flux.
   * @default "ForceEndTurn"
   */
  fluxFlush?: "ForceEndTurn" | "none";
}

const DEFAULTS = {
  maxPendingBytes: 1_920_000,
  connectTimeoutMs: 10_000,
  endpointingMs: 300,
  utteranceEndMs: 1000,
  smartFormat: true,
  fluxFlush: "ForceEndTurn" as "ForceEndTurn" | "none",
};

type EngineSettings = typeof DEFAULTS & Omit<WorkersAiEngineOptions, keyof typeof DEFAULTS>;

/**
 * The part of the AI binding this adapter uses. The generated `Ai` types
 * describe nova-3's batch input (`audio` required) and no websocket params,
 * while the websocket call takes query-string params, so the binding is
 * narrowed to this shape in one place.
 */
interface AiWebSocketRunner {
  run(model: string, inputs: Record<string, string>, options: { websocket: true; signal?: AbortSignal }): Promise<Response>;
}

const KEEP_ALIVE = JSON.stringify({ type: "KeepAlive" });
const CLOSE_STREAM = JSON.stringify({ type: "CloseStream" });

/** Deepgram nova-3 / flux on Workers AI, selected per session by `options.model`. */
export class WorkersAiRealtimeEngine implements RealtimeEngine {
  readonly name = "workers-ai";
  #ai: AiWebSocketRunner;
  #options: EngineSettings;

  constructor(ai: Ai, options: WorkersAiEngineOptions = {}) {
    this.#ai = ai as unknown as AiWebSocketRunner;
    this.#options = { ...DEFAULTS, ...stripUndefined(options) };
  }

  createSession(options: RealtimeSessionOptions, callbacks: RealtimeSessionCallbacks): RealtimeSession {
    return new WorkersAiSession(this.#ai, this.#options, options, callbacks);
  }
}

/* ------------------------------------------------------------------ */
/* The link                                                            */
/* ------------------------------------------------------------------ */

class WorkersAiSession implements RealtimeSession {
  state: RealtimeSession["state"] = "connecting";
  #ai: AiWebSocketRunner;
  #engine: EngineSettings;
  #model: string;
  #mapper: Mapper | null;
  #callbacks: RealtimeSessionCallbacks;
  #socket: WebSocket | null = null;
  #outbox: LinkOutbox;
  #failed = false;
  #finishing = false;
  #finished: Promise<void>;
  #resolveFinished!: () => void;

  constructor(
    ai: AiWebSocketRunner,
    engine: EngineSettings,
    options: RealtimeSessionOptions,
    callbacks: RealtimeSessionCallbacks,
  ) {
    this.#ai = ai;
    this.#engine = engine;
    this.#outbox = new LinkOutbox(engine.maxPendingBytes);
    this.#model = options.model;
    this.#callbacks = callbacks;
    this.#mapper = createMapper(options, engine);
    this.#finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    void this.#connect();
  }

  feed(pcm: Uint8Array): void {
    this.#send(pcm);
  }

  flush(): void {
    const message = this.#mapper?.flushMessage;
    if (message) this.#send(message);
  }

  keepAlive(): void {
    // Only an open stream can time out; while connecting there is nothing to keep alive.
    if (this.state !== "open" || !this.#socket) return;
    this.#socket.send(KEEP_ALIVE);
  }

  async finish(timeoutMs: number): Promise<void> {
    if (this.state === "closed") return;
    if (!this.#finishing) {
      this.#finishing = true;
      this.#send(CLOSE_STREAM);
    }
    await waitAtMost(this.#finished, timeoutMs);
    // Timed out with the stream still up: what the engine owes is emitted from what it sent.
    if (this.state === "open") this.#end();
    // Never opened: the queued audio was not transcribed, and the session is told so.
    if (this.state === "connecting") {
      this.#fail("connect", `Workers AI did not open ${this.#model} within ${timeoutMs} ms of the end`);
    }
    this.close();
  }

  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.#outbox.clear();
    try {
      this.#socket?.close(1000, "session finished");
    } catch {
      // Already closing; nothing to release.
    }
    this.#resolveFinished();
  }

  #send(data: Uint8Array | string): void {
    if (this.state === "closed") return;
    if (!this.#outbox.send(data)) this.#fail("connect", `Workers AI did not open ${this.#model} before its queue filled`);
  }

  async #connect(): Promise<void> {
    // Callbacks never fire before createSession has returned.
    await Promise.resolve();
    const mapper = this.#mapper;
    if (!mapper) {
      const known = Object.values(WORKERS_AI_REALTIME_MODELS).join(", ");
      this.#fail("connect", `model ${this.#model} is not a Workers AI realtime model (${known})`);
      return;
    }
    if (this.#isClosed()) return;

    const ms = this.#engine.connectTimeoutMs;
    let response: Response;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let timedOut = false;
    // Aborted only when we give up: a signal that fired later could end an open stream.
    const abort = new AbortController();
    try {
      const run = Promise.resolve().then(() =>
        this.#ai.run(this.#model, mapper.params, { websocket: true, signal: abort.signal }),
      );
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          abort.abort(new Error(`no answer within ${ms} ms`));
          reject(new Error(`no answer within ${ms} ms`));
        }, ms);
      });
      // A stream that opens after we gave up is closed at once.
      run.then(
        (late) => {
          if (timedOut) closeQuietly(late.webSocket);
        },
        () => undefined,
      );
      response = await Promise.race([run, timeout]);
    } catch (err) {
      this.#fail("connect", `Workers AI did not open ${this.#model}: ${describe(err)}`);
      return;
    } finally {
      if (timer !== null) clearTimeout(timer);
    }

    const socket = response.webSocket;
    if (!socket) {
      const body = await response.text().catch(() => "");
      this.#fail(
        "connect",
        `Workers AI refused the ${this.#model} stream (HTTP ${response.status}${body ? `: ${body.slice(0, 200)}` : ""})`,
      );
      return;
    }
    socket.accept();
    if (this.#isClosed()) {
      closeQuietly(socket);
      return;
    }
    this.#socket = socket;
    socket.addEventListener("message", (event) => this.#onMessage(event.data));
    // Whichever way the link ends, close() / #fail() answer the engine's Close frame:
    // compatibility dates before 2026-04-07 do not reply to it automatically.
    socket.addEventListener("close", (event) => {
      if (this.state === "closed") return;
      // After CloseStream the engine closing the socket is the normal end.
      if (this.#finishing) {
        this.#end();
        return;
      }
      this.#fail(
        "runtime",
        `Workers AI closed the ${this.#model} stream (${event.code}${event.reason ? `: ${event.reason}` : ""})`,
      );
    });
    socket.addEventListener("error", () => this.#fail("runtime", `${this.#model} stream error`));

    this.state = "open";
    this.#outbox.open(socket);
    this.#callbacks.onOpen?.();
  }

  #onMessage(data: unknown): void {
    if (this.state === "closed" || !this.#mapper) return;
    const text =
      typeof data === "string"
        ? data
        : data instanceof ArrayBuffer
          ? new TextDecoder().decode(data)
          : ArrayBuffer.isView(data)
            ? new TextDecoder().decode(data)
            : null;
    if (text === null) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return; // An engine bug must not take the session down; the recording is unaffected.
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) return;
    const { events, terminal } = this.#mapper.map(message as Record<string, unknown>);
    for (const event of events) this.#callbacks.onEvent(event);
    if (terminal && this.#finishing && !this.#isClosed()) this.#end();
  }

  /** Read through a call: the state changes across awaits and callbacks, which narrowing does not see. */
  #isClosed(): boolean {
    return this.state === "closed";
  }

  /** The stream ended as asked: emit what the engine still owes, then release finish(). */
  #end(): void {
    if (this.state === "closed") return;
    for (const event of this.#mapper?.settle() ?? []) this.#callbacks.onEvent(event);
    this.close();
  }

  #fail(phase: EngineFailure["phase"], message: string): void {
    if (this.#failed || this.state === "closed") return;
    this.#failed = true;
    this.state = "closed";
    this.#outbox.clear();
    try {
      this.#socket?.close(1011, "link failed");
    } catch {
      // The socket is already gone.
    }
    this.#resolveFinished();
    this.#callbacks.onFailure({ phase, message });
  }
}

/* ------------------------------------------------------------------ */
/* Message mapping                                                     */
/* ------------------------------------------------------------------ */

interface MapResult {
  events: EngineEvent[];
  /** The engine's last message of the stream (nova-3's closing Metadata). */
  terminal?: boolean;
}

interface Mapper {
  /** Inputs of `AI.run` (sent by the binding as query parameters, hence strings). */
  readonly params: Record<string, string>;
  /** Control frame for flush(), or null when there is none. */
  readonly flushMessage: string | null;
  map(message: Record<string, unknown>): MapResult;
  /** At the end of the stream: events the engine still owes (open turn, open speech). */
  settle(): EngineEvent[];
}

function createMapper(options: RealtimeSessionOptions, engine: EngineSettings): Mapper | null {
  switch (options.model) {
    case WORKERS_AI_REALTIME_MODELS.nova3:
      return new NovaMapper(options, engine);
    case WORKERS_AI_REALTIME_MODELS.flux:
      return new FluxMapper(options, engine);
    default:
      return null;
  }
}

class NovaMapper implements Mapper {
  readonly params: Record<string, string>;
  readonly flushMessage = JSON.stringify({ type: "Finalize" });
  #interim: boolean;
  #inSpeech = false;
  #speechStartedAt = 0;
  #lastWordEnd: number | null = null;
  /** End of the last word heard, interim or final: where open speech ends if the stream stops. */
  #lastHeard = 0;
  #partialOutstanding = false;

  constructor(options: RealtimeSessionOptions, engine: EngineSettings) {
    this.#interim = options.interimResults;
    this.params = {
      encoding: "linear16",
      sample_rate: "16000",
      channels: "1",
      // Always on: UtteranceEnd is computed from interim results. Partials are
      // only passed on when the session asked for them.
      interim_results: "true",
      punctuate: "true",
      smart_format: String(engine.smartFormat),
      vad_events: "true",
      endpointing: String(engine.endpointingMs),
      utterance_end_ms: String(engine.utteranceEndMs),
    };
    const language = options.language === "auto" ? engine.autoLanguage : options.language;
    if (language) this.params.language = language;
  }

  map(message: Record<string, unknown>): MapResult {
    switch (message.type) {
      case "Results":
        return { events: this.#results(message as unknown as NovaResults) };
      case "SpeechStarted": {
        const timestamp = num((message as unknown as NovaSpeechStarted).timestamp);
        return { events: timestamp === null ? [] : this.#speechStart(timestamp) };
      }
      case "UtteranceEnd": {
        const lastWordEnd = num((message as unknown as NovaUtteranceEnd).last_word_end);
        return { events: lastWordEnd === null ? [] : this.#speechEnd(lastWordEnd) };
      }
      case "Metadata":
        return { events: [], terminal: true };
      case "Error":
        return { events: [engineError(novaErrorText(message as unknown as NovaError))] };
      default:
        return { events: [] };
    }
  }

  settle(): EngineEvent[] {
    if (!this.#inSpeech) return [];
    return this.#speechEnd(this.#lastHeard);
  }

  #results(results: NovaResults): EngineEvent[] {
    const start = num(results.start);
    const duration = num(results.duration);
    const alternative = results.channel?.alternatives?.[0];
    if (start === null || duration === null || !alternative) return [];
    const end = round3(start + duration);
    const text = typeof alternative.transcript === "string" ? alternative.transcript : "";
    const words = Array.isArray(alternative.words) ? alternative.words.filter(isDeepgramWord) : [];
    const events: EngineEvent[] = [];
    const lastWord = words[words.length - 1];
    if (lastWord) this.#lastHeard = Math.max(this.#lastHeard, round3(lastWord.end));

    if (!results.is_final) {
      if (text.trim() === "") return events;
      events.push(...this.#speechStart(words[0] ? round3(words[0].start) : round3(start)));
      if (this.#interim) {
        events.push({ type: "transcript.partial", text, start: round3(start), end });
        this.#partialOutstanding = true;
      }
      return events;
    }

    if (text.trim() !== "") {
      events.push(...this.#speechStart(words[0] ? round3(words[0].start) : round3(start)));
      events.push({
        type: "transcript.final",
        text,
        start: round3(start),
        end,
        confidence: num(alternative.confidence) ?? 0,
        words: words.map(
          (w): Word => ({
            word: w.punctuated_word ?? w.word,
            start: round3(w.start),
            end: round3(w.end),
            confidence: w.confidence,
          }),
        ),
      });
      this.#lastWordEnd = lastWord ? round3(lastWord.end) : end;
    } else if (this.#partialOutstanding) {
      // Deepgram took back what the partial showed: tell clients to drop it.
      events.push({ type: "transcript.final", text: "", start: round3(start), end, confidence: 0, words: [] });
    }
    this.#partialOutstanding = false;

    if (results.speech_final) events.push(...this.#speechEnd(this.#lastWordEnd ?? end));
    return events;
  }

  #speechStart(timestamp: number): EngineEvent[] {
    if (this.#inSpeech) return [];
    this.#inSpeech = true;
    this.#speechStartedAt = timestamp;
    return [{ type: "vad.speech_start", timestamp }];
  }

  #speechEnd(timestamp: number): EngineEvent[] {
    if (!this.#inSpeech) return [];
    this.#inSpeech = false;
    this.#lastWordEnd = null;
    return [{ type: "vad.speech_end", timestamp: round3(Math.max(timestamp, this.#speechStartedAt)) }];
  }
}

interface OpenTurn {
  /** Flux's `turn_index`, or -1 when it sent none. */
  index: number;
  start: number;
  end: number;
  transcript: string;
  words: FluxTurnInfo["words"];
  /** Text of the last partial sent for this turn. */
  shown: string;
}

class FluxMapper implements Mapper {
  readonly params: Record<string, string>;
  readonly flushMessage: string | null;
  #interim: boolean;
  #turn: OpenTurn | null = null;

  constructor(options: RealtimeSessionOptions, engine: EngineSettings) {
    this.#interim = options.interimResults;
    // Flux on Workers AI is English-only and takes no language parameter.
    this.params = { encoding: "linear16", sample_rate: "16000" };
    if (engine.eotThreshold !== undefined) this.params.eot_threshold = String(engine.eotThreshold);
    if (engine.eotTimeoutMs !== undefined) this.params.eot_timeout_ms = String(engine.eotTimeoutMs);
    this.flushMessage = engine.fluxFlush === "ForceEndTurn" ? JSON.stringify({ type: "ForceEndTurn" }) : null;
  }

  map(message: Record<string, unknown>): MapResult {
    switch (message.type) {
      case "TurnInfo":
        return { events: this.#turnInfo(message as unknown as FluxTurnInfo) };
      case "Error":
        return { events: [engineError(fluxErrorText(message as unknown as FluxError))] };
      default:
        return { events: [] }; // Connected, and anything newer.
    }
  }

  settle(): EngineEvent[] {
    const turn = this.#turn;
    if (!turn) return [];
    // Flux's CloseStream ends no turn: its last Update is the turn's final text.
    this.#turn = null;
    return this.#close(turn);
  }

  #turnInfo(info: FluxTurnInfo): EngineEvent[] {
    const windowStart = num(info.audio_window_start);
    const windowEnd = num(info.audio_window_end);
    if (windowStart === null || windowEnd === null) return [];
    const transcript = typeof info.transcript === "string" ? info.transcript : "";
    const events: EngineEvent[] = [];

    let turn = this.#turn;
    if (turn && (info.event === "StartOfTurn" || (typeof info.turn_index === "number" && info.turn_index !== turn.index))) {
      // A new turn while one is still open (its EndOfTurn never came): close the old one first.
      this.#turn = null;
      events.push(...this.#close(turn));
      turn = null;
    }
    const opens = info.event === "StartOfTurn" || transcript.trim() !== "";
    if (!turn && opens) {
      turn = {
        index: typeof info.turn_index === "number" ? info.turn_index : -1,
        start: round3(windowStart),
        end: round3(windowEnd),
        transcript: "",
        words: [],
        shown: "",
      };
      this.#turn = turn;
      events.push({ type: "vad.speech_start", timestamp: turn.start });
    }
    if (!turn) return events; // An empty Update between turns.

    turn.start = Math.min(turn.start, round3(windowStart));
    turn.end = Math.max(turn.end, round3(windowEnd));
    turn.transcript = transcript;
    turn.words = Array.isArray(info.words) ? info.words : [];

    if (info.event === "EndOfTurn") {
      this.#turn = null;
      events.push(...this.#close(turn));
      return events;
    }
    if (this.#interim && transcript.trim() !== "" && transcript !== turn.shown) {
      turn.shown = transcript;
      events.push({ type: "transcript.partial", text: transcript, start: turn.start, end: turn.end });
    }
    return events;
  }

  /** The final of a turn (or the retraction of its partial), then the end of its speech. */
  #close(turn: OpenTurn): EngineEvent[] {
    const events: EngineEvent[] = [];
    const words = turn.words ?? [];
    if (turn.transcript.trim() !== "") {
      const confidences = words.map((w) => num(w.confidence)).filter((c): c is number => c !== null);
      const confidence = confidences.length ? round3(confidences.reduce((a, b) => a + b, 0) / confidences.length) : 0;
      const timed = words.length > 0 && words.every((w) => num(w.start) !== null && num(w.end) !== null);
      events.push({
        type: "transcript.final",
        text: turn.transcript,
        start: turn.start,
        end: turn.end,
        confidence,
        ...(timed
          ? {
              words: words.map((w) => ({
                word: w.word,
                start: round3(w.start!),
                end: round3(w.end!),
                confidence: w.confidence,
              })),
            }
          : {}),
      });
    } else if (turn.shown !== "") {
      events.push({ type: "transcript.final", text: "", start: turn.start, end: turn.end, confidence: 0 });
    }
    events.push({ type: "vad.speech_end", timestamp: turn.end });
    return events;
  }
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

function engineError(message: string): EngineEvent {
  return { type: "error", code: ERROR_CODES.engineUnavailable, message, recoverable: true };
}

function novaErrorText(error: NovaError): string {
  const what = error.description || error.message || "unknown error";
  return error.variant ? `${error.variant}: ${what}` : what;
}

function fluxErrorText(error: FluxError): string {
  const what = error.description || "unknown error";
  return error.code ? `${error.code}: ${what}` : what;
}

function isDeepgramWord(value: unknown): value is DeepgramWord {
  if (typeof value !== "object" || value === null) return false;
  const w = value as Record<string, unknown>;
  return typeof w.word === "string" && typeof w.start === "number" && typeof w.end === "number" && typeof w.confidence === "number";
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Millisecond precision: Deepgram's floats (0.71999997, start+duration sums) come out clean. */
function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function closeQuietly(socket: WebSocket | null | undefined): void {
  if (!socket) return;
  try {
    socket.accept();
  } catch {
    // Already accepted.
  }
  try {
    socket.close(1000, "session finished");
  } catch {
    // Already closing.
  }
}

function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
