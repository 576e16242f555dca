import type { AppEnv, ServiceConfig } from "../../config";
import { ElevenLabsTranscriber } from "./elevenlabs";
import type { BatchTranscriber } from "./types";
import { type AiRunner, WorkersAiNova3Transcriber } from "./workers-ai-nova3";

export type * from "./types";
export { EngineError, engineErrorFromResponse, engineErrorFromThrown, engineErrorFromWorkersAi, isRetryableStatus } from "../errors";
export { ElevenLabsTranscriber, ELEVENLABS_ENGINE, mapWords as mapElevenLabsWords, type ElevenLabsOptions } from "./elevenlabs";
export { WorkersAiNova3Transcriber, NOVA3_MODEL, mapDeepgramWords, type AiRunner, type Nova3Options } from "./workers-ai-nova3";

/**
 * The batch transcriber this deployment is configured for, or a reason why
 * there is none (no engine, or an HTTP engine without a URL).
 */
export function createBatchTranscriber(
  config: ServiceConfig["batch"],
  env: Pick<AppEnv, "AI">,
): { transcriber: BatchTranscriber; reason?: undefined } | { transcriber: null; reason: string } {
  switch (config.engine) {
    case "workers-ai":
      return { transcriber: new WorkersAiNova3Transcriber({ ai: env.AI as unknown as AiRunner }) };
    case "elevenlabs":
      if (!config.url) return { transcriber: null, reason: "BATCH_ENGINE=elevenlabs but BATCH_ENGINE_URL is not set" };
      return { transcriber: new ElevenLabsTranscriber({ url: config.url, apiKey: config.apiKey, model: config.model }) };
    case "none":
      return { transcriber: null, reason: "BATCH_ENGINE is none: no batch transcription engine is configured" };
  }
}
