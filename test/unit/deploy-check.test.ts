import { describe, expect, it } from "vitest";
import { deployProblems, type DeployInputs } from "../../tools/deploy/check";

const complete: DeployInputs = {
  vars: { REALTIME_ENGINE: "workers-ai", BATCH_ENGINE: "workers-ai", LLM_ENGINE: "workers-ai", AUTH_MODE: "required" },
  secrets: ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
  r2Buckets: ["edge-transcribe-audio"],
  queues: ["edge-transcribe-enhancement"],
};

describe("deploy configuration check", () => {
  it("passes the default Workers AI configuration with the Upstash secrets set", () => {
    expect(deployProblems(complete)).toEqual([]);
  });

  it("names each missing secret with the command that sets it", () => {
    const problems = deployProblems({ ...complete, secrets: [] });
    expect(problems.map((p) => p.fix)).toEqual([
      "npx wrangler secret put UPSTASH_REDIS_REST_URL",
      "npx wrangler secret put UPSTASH_REDIS_REST_TOKEN",
    ]);
  });

  it("wants URLs and keys for the HTTP engines, and no local emulator addresses", () => {
    const problems = deployProblems({
      ...complete,
      vars: { ...complete.vars, REALTIME_ENGINE: "native", REALTIME_ENGINE_URL: "ws://127.0.0.1:8790/v1/realtime", BATCH_ENGINE: "elevenlabs", LLM_ENGINE: "openai" },
    });
    const text = problems.map((p) => p.what).join("\n");
    expect(text).toContain("REALTIME_ENGINE_URL points at this machine");
    expect(text).toContain("BATCH_ENGINE_URL is not set");
    expect(text).toContain("secret BATCH_ENGINE_API_KEY");
    expect(text).toContain("LLM_BASE_URL is not set");
    expect(text).toContain("secret LLM_API_KEY");
  });

  it("refuses auth off and test fault injection in a deployment", () => {
    const problems = deployProblems({ ...complete, vars: { ...complete.vars, AUTH_MODE: "off", DEV_FAULTS: "enabled" } });
    expect(problems).toHaveLength(2);
  });

  it("names a variable out of range with the range to set, as the worker would refuse it", () => {
    const problems = deployProblems({ ...complete, vars: { ...complete.vars, AUTH_TOKEN_TTL_SECONDS: "3", MAX_REQUEST_BODY_BYTES: "512" } });
    expect(problems.map((p) => p.fix)).toEqual([
      "set AUTH_TOKEN_TTL_SECONDS to a whole number from 5 to 3600 (s) in wrangler.toml [vars]",
      "set MAX_REQUEST_BODY_BYTES to a whole number from 1024 to 1048576 (bytes) in wrangler.toml [vars]",
    ]);
    expect(problems[0]!.what).toContain("AUTH_TOKEN_TTL_SECONDS");
  });

  it("does not invent secret problems when secrets could not be listed", () => {
    expect(deployProblems({ ...complete, secrets: null })).toEqual([]);
  });
});
