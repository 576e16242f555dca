/**
 * Any OpenAI-compatible chat-completions endpoint (OpenAI, a gateway, vLLM,
 * Ollama, the local emulator): `POST {baseUrl}/chat/completions` with
 * `Authorization: Bearer …`, JSON mode (`response_format: {type: "json_object"}`)
 * and temperature 0; the answer is `choices[0].message.content`, parsed as JSON.
 */
import { EngineError, engineErrorFromResponse, engineErrorFromThrown } from "../errors";
import { parseJsonContent } from "./json";
import type { LlmCallOptions, LlmClient } from "./types";

export interface OpenAiCompatibleOptions {
  /** e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  baseUrl: string;
  apiKey?: string;
  model: string;
  /**
   * Abort one request after this long.
   * @default 120000
   */
  timeoutMs?: number;
  /** For tests. @default globalThis.fetch */
  fetch?: typeof fetch;
}

const DEFAULTS = { timeoutMs: 120_000 };

export const OPENAI_ENGINE = "openai";

export class OpenAiCompatibleLlm implements LlmClient {
  readonly name = OPENAI_ENGINE;
  readonly model: string;
  #url: string;
  #apiKey: string | undefined;
  #timeoutMs: number;
  #fetch: typeof fetch;

  constructor(options: OpenAiCompatibleOptions) {
    this.model = options.model;
    this.#url = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`;
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async completeJson(task: object, system: string, _options?: LlmCallOptions): Promise<unknown> {
    let res: Response;
    try {
      res = await this.#fetch(this.#url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: this.model,
          temperature: 0,
          response_format: { type: "json_object" },
          messages: [
            { role: "system", content: system },
            { role: "user", content: JSON.stringify(task) },
          ],
        }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw engineErrorFromThrown(this.name, err);
    }
    if (!res.ok) throw await engineErrorFromResponse(this.name, res);
    let body: { choices?: Array<{ message?: { content?: unknown } }> };
    try {
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw new EngineError(this.name, `${this.name} answered ${res.status} with a body that is not JSON`, { retryable: true, cause: err });
    }
    return parseJsonContent(this.name, body.choices?.[0]?.message?.content);
  }
}
