/**
 * A Workers AI text-generation model through the AI binding, in JSON mode
 * (https://developers.cloudflare.com/workers-ai/features/json-mode/):
 * `response_format: {type: "json_schema", json_schema}` when the caller gives a
 * schema, else `{type: "json_object"}`. The answer's `response` is already an
 * object in JSON mode, or a string holding JSON.
 *
 * JSON mode may answer "JSON Mode couldn't be met" (documented on that page);
 * at temperature 0 the same request fails the same way, so it is not retried
 * as is: a schema request falls back once to `json_object` (the system prompt
 * still describes the answer, and the stages validate what comes back), and a
 * second failure is an {@link LlmOutputError}: the stage records it as failed
 * and the job goes on without burning queue deliveries.
 */
import { log } from "../../log";
import { engineErrorFromWorkersAi } from "../errors";
import { parseJsonContent } from "./json";
import { LlmOutputError, type LlmCallOptions, type LlmClient } from "./types";

/** The part of the AI binding this adapter uses (tests pass a stand-in). */
export interface AiRunner {
  run(model: string, inputs: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
}

export const WORKERS_AI_LLM_ENGINE = "workers-ai";
export const WORKERS_AI_DEFAULT_LLM_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast";

export interface WorkersAiLlmOptions {
  ai: AiRunner;
  /** @default "@cf/meta/llama-3.3-70b-instruct-fp8-fast" */
  model?: string;
  /**
   * Workers AI text models stop at 256 tokens unless told otherwise; a cleanup
   * batch of 50 segments needs far more.
   * @default 4096
   */
  maxTokens?: number;
}

const DEFAULTS = { model: WORKERS_AI_DEFAULT_LLM_MODEL, maxTokens: 4096 };

export class WorkersAiLlm implements LlmClient {
  readonly name = WORKERS_AI_LLM_ENGINE;
  readonly model: string;
  #ai: AiRunner;
  #maxTokens: number;

  constructor(options: WorkersAiLlmOptions) {
    this.#ai = options.ai;
    this.model = options.model || DEFAULTS.model;
    this.#maxTokens = options.maxTokens ?? DEFAULTS.maxTokens;
  }

  async completeJson(task: object, system: string, options?: LlmCallOptions): Promise<unknown> {
    const messages = [
      { role: "system", content: system },
      { role: "user", content: JSON.stringify(task) },
    ];
    const formats: Array<{ type: string; json_schema?: Record<string, unknown> }> = options?.schema
      ? [{ type: "json_schema", json_schema: options.schema }, { type: "json_object" }]
      : [{ type: "json_object" }];
    let output: unknown;
    for (const [i, response_format] of formats.entries()) {
      try {
        output = await this.#ai.run(this.model, { messages, temperature: 0, max_tokens: this.#maxTokens, response_format });
        break;
      } catch (thrown) {
        const err = engineErrorFromWorkersAi(this.name, thrown);
        if (err.kind !== "json_mode_unmet") throw err;
        const last = i === formats.length - 1;
        log("warn", "llm.json_mode_unmet", { engine: this.name, model: this.model, format: response_format.type, fallback: !last });
        if (last) {
          const tried = formats.map((f) => f.type).join(", then ");
          throw new LlmOutputError(`${this.name}: JSON Mode couldn't be met (${tried}): ${err.message}`);
        }
      }
    }
    // Most text models answer `{response}`; some newer ones answer in the OpenAI shape (`choices`).
    const o = output as { response?: unknown; choices?: Array<{ message?: { content?: unknown } }> } | null;
    return parseJsonContent(this.name, o?.response ?? o?.choices?.[0]?.message?.content);
  }
}
