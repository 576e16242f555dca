import { Hono } from "hono";
import { readConfig } from "../../config";
import type { GatewayEnv } from "../env";

export const health = new Hono<GatewayEnv>().get("/", (c) => {
  const config = readConfig(c.env);
  return c.json({
    status: "ok",
    engines: {
      realtime: { engine: config.realtime.engine, models: config.realtime.models },
      batch: { engine: c.env.BATCH_ENGINE ?? null, model: c.env.BATCH_MODEL ?? null },
      llm: { engine: c.env.LLM_ENGINE ?? "none", model: c.env.LLM_MODEL ?? null },
    },
    store: { configured: Boolean(c.env.UPSTASH_REDIS_REST_URL && c.env.UPSTASH_REDIS_REST_TOKEN) },
  });
});
