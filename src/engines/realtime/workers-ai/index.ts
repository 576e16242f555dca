export { WORKERS_AI_REALTIME_MODELS, WorkersAiLink, WorkersAiRealtimeEngine, type WorkersAiEngineOptions } from "./engine";
