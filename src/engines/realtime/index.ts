import type { ServiceConfig } from "../../config";
import { NativeWebSocketEngine } from "./native-ws";
import type { RealtimeEngine } from "./types";
import { WorkersAiRealtimeEngine } from "./workers-ai";

export type * from "./types";
export { WORKERS_AI_REALTIME_MODELS } from "./workers-ai";

/**
 * The realtime engine this deployment is configured for. `ai` is the Workers
 * AI binding (`env.AI`), needed by the "workers-ai" engine only.
 */
export function createRealtimeEngine(config: ServiceConfig["realtime"], ai?: Ai): RealtimeEngine {
  const link = { connectTimeoutMs: config.connectTimeoutMs, maxPendingBytes: config.maxPendingBytes };
  switch (config.engine) {
    case "native":
      return new NativeWebSocketEngine({ url: config.url, apiKey: config.apiKey, ...link });
    case "workers-ai":
      if (!ai) throw new Error("the Workers AI realtime engine needs the AI binding (env.AI), and none was given");
      return new WorkersAiRealtimeEngine(ai, { ...config.workersAi, ...link });
  }
}
