import type { ServiceConfig } from "../../config";
import { NativeWebSocketEngine } from "./native-ws";
import type { RealtimeEngine } from "./types";

export type * from "./types";

/** The realtime engine this deployment is configured for. */
export function createRealtimeEngine(config: ServiceConfig["realtime"], _ai?: Ai): RealtimeEngine {
  switch (config.engine) {
    case "native":
      return new NativeWebSocketEngine({ url: config.url, apiKey: config.apiKey });
    case "workers-ai":
      throw new Error("the Workers AI realtime engine is not available in this build");
  }
}
