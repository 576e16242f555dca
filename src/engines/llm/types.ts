/**
 * The LLM interface used by the enhancement stages: one JSON task in, one JSON
 * value out (modelled on ../realtime/types.ts: one small shape, one class per
 * engine). The task is sent as the user message, `JSON.stringify(task)`;
 * the system prompt says what to answer.
 *
 * Adapters throw `EngineError` (../errors) for engine failures, and
 * {@link LlmOutputError} when the engine answered but not with JSON.
 */

export interface LlmCallOptions {
  /**
   * JSON Schema of the expected answer. Engines with schema-constrained output
   * (Workers AI JSON mode) use it; the others ask for any JSON object.
   */
  schema?: Record<string, unknown>;
}

export interface LlmClient {
  /** Engine name for results and logs, e.g. "openai". */
  readonly name: string;
  readonly model: string;
  /** Resolves to the parsed JSON answer (not validated: callers check its shape). */
  completeJson(task: object, system: string, options?: LlmCallOptions): Promise<unknown>;
}

/** The engine answered, but its content is not JSON: retrying the same prompt is unlikely to help. */
export class LlmOutputError extends Error {
  override readonly name = "LlmOutputError";
}
