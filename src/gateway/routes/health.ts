/** `GET /health`: the service is up, and the configuration it resolved (defaults applied; no credentials or URLs). */
import { Hono } from "hono";
import { readConfig, type ServiceConfig } from "../../config";
import { NOVA3_MODEL } from "../../engines/batch/workers-ai-nova3";
import type { GatewayEnv } from "../env";
import type { HealthBody } from "../schemas";

export const health = new Hono<GatewayEnv>().get("/", (c) => {
  const config = readConfig(c.env);
  return c.json({
    status: "ok",
    engines: engines(config),
    limits: {
      max_session_seconds: config.session.maxSessionSeconds,
      idle_timeout_seconds: config.session.idleTimeoutSeconds,
      client_gone_grace_seconds: config.session.clientGoneGraceSeconds,
      max_frame_bytes: config.session.maxFrameBytes,
      max_messages_per_second: config.limits.maxMessagesPerSecond,
      max_request_body_bytes: config.limits.maxRequestBodyBytes,
      max_upload_bytes: config.uploads.maxUploadBytes,
      max_concurrent_sessions_per_key: config.auth.maxConcurrentSessions,
    },
    store: { configured: Boolean(c.env.UPSTASH_REDIS_REST_URL && c.env.UPSTASH_REDIS_REST_TOKEN) },
  } satisfies HealthBody);
});

function engines({ realtime, batch, llm }: ServiceConfig): HealthBody["engines"] {
  const fallback = realtime.fallback && { engine: realtime.fallback.engine, model: realtime.fallback.model };
  // Workers AI batch always runs nova-3, whatever BATCH_MODEL says.
  const batchModel = batch.engine === "none" ? null : batch.engine === "workers-ai" ? NOVA3_MODEL : batch.model;
  return {
    realtime: { engine: realtime.engine, models: realtime.models, fallback },
    batch: { engine: batch.engine, model: batchModel },
    llm: { engine: llm.engine, model: llm.engine === "none" ? null : llm.model },
  };
}
