import type { AppEnv, ServiceConfig } from "../../config";
import { OpenAiCompatibleLlm } from "./openai";
import type { LlmClient } from "./types";
import { type AiRunner, WorkersAiLlm } from "./workers-ai";

export type * from "./types";
export { LlmOutputError } from "./types";
export { parseJsonContent } from "./json";
export { OpenAiCompatibleLlm, OPENAI_ENGINE, type OpenAiCompatibleOptions } from "./openai";
export { WorkersAiLlm, WORKERS_AI_DEFAULT_LLM_MODEL, WORKERS_AI_LLM_ENGINE, type WorkersAiLlmOptions } from "./workers-ai";

/**
 * The LLM this deployment is configured for, or why there is none
 * (LLM_ENGINE=none or unset, or openai without LLM_BASE_URL): the LLM stages
 * are then skipped with that reason.
 */
export function createLlmClient(
  config: ServiceConfig["llm"],
  env: Pick<AppEnv, "AI">,
): { llm: LlmClient; reason?: undefined } | { llm: null; reason: string } {
  switch (config.engine) {
    case "workers-ai":
      return { llm: new WorkersAiLlm({ ai: env.AI as unknown as AiRunner, model: config.model }) };
    case "openai":
      if (!config.baseUrl) return { llm: null, reason: "LLM_ENGINE=openai but LLM_BASE_URL is not set" };
      return { llm: new OpenAiCompatibleLlm({ baseUrl: config.baseUrl, apiKey: config.apiKey, model: config.model }) };
    case "none":
      return { llm: null, reason: "no LLM is configured (LLM_ENGINE is none or unset)" };
  }
}
