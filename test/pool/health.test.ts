/** `GET /health` reports the configuration the service resolved, not the raw vars (issue 17). */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { readConfig, type AppEnv } from "../../src/config";
import { NOVA3_MODEL } from "../../src/engines/batch/workers-ai-nova3";
import type { HealthBody } from "../../src/gateway/schemas";
import { BASE } from "./client";

async function health(vars: Record<string, string | undefined>): Promise<HealthBody> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}/health`), { ...(env as AppEnv), ...vars } as AppEnv, ctx);
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(200);
  return (await res.json()) as HealthBody;
}

describe("health", () => {
  it("shows defaults applied and the limits in force", async () => {
    const body = await health({ MAX_SESSION_SECONDS: "600" });
    const config = readConfig(env as AppEnv);
    expect(body.engines.realtime).toEqual({ engine: "native", models: config.realtime.models, fallback: null });
    expect(body.engines.batch).toEqual({ engine: "elevenlabs", model: config.batch.model });
    expect(body.engines.llm).toEqual({ engine: "openai", model: "emulator-chat" });
    expect(body.limits).toMatchObject({ max_session_seconds: 600, max_upload_bytes: config.uploads.maxUploadBytes });
    expect(body.store.configured).toBe(true);
  });

  it("names the model an engine really runs, and none for an engine that is off", async () => {
    const body = await health({ BATCH_ENGINE: "workers-ai", BATCH_MODEL: "ignored", LLM_ENGINE: "none" });
    expect(body.engines.batch).toEqual({ engine: "workers-ai", model: NOVA3_MODEL });
    expect(body.engines.llm).toEqual({ engine: "none", model: null });
  });

  it("never shows a URL or a credential", async () => {
    const text = JSON.stringify(await health({}));
    for (const secret of [(env as AppEnv).UPSTASH_REDIS_REST_TOKEN, (env as AppEnv).BATCH_ENGINE_API_KEY, (env as AppEnv).LLM_API_KEY]) {
      expect(text).not.toContain(secret!);
    }
    expect(text).not.toMatch(/https?:\/\/|wss?:\/\//);
  });
});
