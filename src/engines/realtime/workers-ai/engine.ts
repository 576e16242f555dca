/**
 * Deepgram nova-3 and flux on Workers AI, reached through the AI binding:
 * `env.AI.run(model, inputs, { websocket: true })` answers a 101 Response whose
 * `webSocket` is the live stream (raw PCM in, Deepgram JSON out). The wire
 * messages and their sources are in ./messages.ts; what each model's messages
 * become is in ./nova3.ts and ./flux.ts.
 *
 * Because the platform's documentation and its behaviour may differ (README
 * "Engines"), each link logs the shape of the first message it gets
 * (`engine.first_message`) and, once, any message its mapper does not
 * recognise (`engine.unrecognised_message`): field names and type/event only.
 */
import { REALTIME_LINK_DEFAULTS, WORKERS_AI_REALTIME_DEFAULTS, type WorkersAiRealtimeSettings } from "../../../config";
import { log } from "../../../log";
import type { EngineEvent } from "../../../protocol/messages";
import { SocketLink, type LinkProblem } from "../socket-link";
import type { RealtimeEngine, RealtimeSession, RealtimeSessionCallbacks, RealtimeSessionOptions } from "../types";
import { FluxMapper } from "./flux";
import type { Mapper, RunInputs } from "./mapper";
import { describeShape, type RawMessage } from "./messages";
import { NovaMapper } from "./nova3";

/** The realtime models this adapter speaks. */
export const WORKERS_AI_REALTIME_MODELS = {
  nova3: "@cf/deepgram/nova-3",
  flux: "@cf/deepgram/flux",
} as const;

/** Every setting has its default in src/config.ts (and a var in wrangler.toml). */
export type WorkersAiEngineOptions = Partial<WorkersAiRealtimeSettings & typeof REALTIME_LINK_DEFAULTS>;

type EngineSettings = WorkersAiRealtimeSettings & typeof REALTIME_LINK_DEFAULTS;

/**
 * The part of the AI binding this adapter uses. The generated `Ai` types
 * describe nova-3's batch input (`audio` required), so the binding is narrowed
 * to this shape in one place.
 */
interface AiWebSocketRunner {
  run(model: string, inputs: RunInputs, options: { websocket: true; signal?: AbortSignal }): Promise<Response>;
}

const KEEP_ALIVE = JSON.stringify({ type: "KeepAlive" });
const CLOSE_STREAM = JSON.stringify({ type: "CloseStream" });

/** Deepgram nova-3 / flux on Workers AI, selected per session by `options.model`. */
export class WorkersAiRealtimeEngine implements RealtimeEngine {
  readonly name = "workers-ai";
  readonly #ai: AiWebSocketRunner;
  readonly #settings: EngineSettings;

  constructor(ai: Ai, options: WorkersAiEngineOptions = {}) {
    this.#ai = ai as unknown as AiWebSocketRunner;
    this.#settings = { ...REALTIME_LINK_DEFAULTS, ...WORKERS_AI_REALTIME_DEFAULTS, ...stripUndefined(options) };
  }

  /** The concrete link (its `state` is readable in tests). */
  createSession(options: RealtimeSessionOptions, callbacks: RealtimeSessionCallbacks): WorkersAiLink {
    return new WorkersAiLink(this.#ai, this.#settings, options, callbacks);
  }
}

export class WorkersAiLink extends SocketLink implements RealtimeSession {
  readonly #ai: AiWebSocketRunner;
  readonly #session: RealtimeSessionOptions;
  readonly #mapper: Mapper | null;
  #seenFirst = false;
  #loggedUnrecognised = false;

  constructor(ai: AiWebSocketRunner, settings: EngineSettings, session: RealtimeSessionOptions, callbacks: RealtimeSessionCallbacks) {
    super(
      {
        maxPendingBytes: settings.maxPendingBytes,
        connectTimeoutMs: settings.connectTimeoutMs,
        endMessage: CLOSE_STREAM,
        keepAliveMessage: KEEP_ALIVE,
      },
      callbacks,
    );
    this.#ai = ai;
    this.#session = session;
    this.#mapper = createMapper(session, settings);
  }

  flush(): void {
    if (this.state === "closed" || !this.#mapper) return;
    const action = this.#mapper.flush();
    if (action.message !== null) this.send(action.message);
    for (const event of action.events) this.emit(event);
  }

  protected override refuseBeforeConnect(): string | null {
    if (this.#mapper) return null;
    const known = Object.values(WORKERS_AI_REALTIME_MODELS).join(", ");
    return `model ${this.#session.model} is not a Workers AI realtime model (${known})`;
  }

  protected request(signal: AbortSignal): Promise<Response> {
    return this.#ai.run(this.#session.model, this.#mapper!.inputs, { websocket: true, signal });
  }

  protected onMessage(data: unknown): void {
    if (!this.#mapper) return;
    const message = parseObject(data);
    if (message === null) {
      this.#noteUnrecognised({ keys: [], frame: typeof data === "string" ? "text, not a JSON object" : "binary, not a JSON object" });
      return;
    }
    if (!this.#seenFirst) {
      this.#seenFirst = true;
      this.#log("info", "engine.first_message", describeShape(message));
    }
    const { events, terminal, unrecognised } = this.#mapper.map(message);
    if (unrecognised) this.#noteUnrecognised(describeShape(message));
    for (const event of events) this.emit(event);
    if (terminal && this.finishing) this.end();
  }

  protected override settle(): EngineEvent[] {
    return this.#mapper?.settle() ?? [];
  }

  protected describe(problem: LinkProblem): string {
    const model = this.#session.model;
    switch (problem.kind) {
      case "unreachable":
        return `Workers AI did not open ${model}: ${problem.detail}`;
      case "refused":
        return `Workers AI refused the ${model} stream (HTTP ${problem.status}${problem.body ? `: ${problem.body}` : ""})`;
      case "queue-full":
        return `Workers AI did not open ${model} before its queue filled`;
      case "closed":
        return `Workers AI closed the ${model} stream (${problem.code}${problem.reason ? `: ${problem.reason}` : ""})`;
      case "socket-error":
        return `${model} stream error`;
      case "never-opened":
        return `Workers AI did not open ${model} within ${problem.timeoutMs} ms of the end`;
    }
  }

  /** Once per link: the first message the mapper could not place, so an operator sees what the platform sends. */
  #noteUnrecognised(shape: object): void {
    if (this.#loggedUnrecognised) return;
    this.#loggedUnrecognised = true;
    this.#log("warn", "engine.unrecognised_message", shape);
  }

  #log(level: "info" | "warn", event: string, shape: object): void {
    log(level, event, { session_id: this.#session.sessionId, model: this.#session.model, shape });
  }
}

function createMapper(options: RealtimeSessionOptions, settings: WorkersAiRealtimeSettings): Mapper | null {
  switch (options.model) {
    case WORKERS_AI_REALTIME_MODELS.nova3:
      return new NovaMapper(options, settings);
    case WORKERS_AI_REALTIME_MODELS.flux:
      return new FluxMapper(options, settings);
    default:
      return null;
  }
}

/** A text or binary frame holding one JSON object, or null (an engine bug must not take the session down). */
function parseObject(data: unknown): RawMessage | null {
  const text =
    typeof data === "string"
      ? data
      : data instanceof ArrayBuffer || ArrayBuffer.isView(data)
        ? new TextDecoder().decode(data)
        : null;
  if (text === null) return null;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof message === "object" && message !== null && !Array.isArray(message) ? (message as RawMessage) : null;
}

function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
