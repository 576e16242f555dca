/**
 * Three projects, one `npm test`:
 *  - unit: pure code and the Node dev tools (bridge, emulator, audio), in Node;
 *  - pool: the worker inside workerd (@cloudflare/vitest-pool-workers) against
 *    a real redis-server behind the bridge and the emulator, started by a global setup;
 *  - e2e: the real local stack (wrangler dev + everything) driven by ws clients.
 */
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            remoteBindings: false,
            miniflare: {
              bindings: {
                // The emulator stands in for every engine (wrangler.toml defaults to Workers AI).
                REALTIME_ENGINE: "native",
                REALTIME_MODELS: "emulator-realtime",
                BATCH_ENGINE: "elevenlabs",
                LLM_ENGINE: "openai",
                LLM_MODEL: "emulator-chat",
                UPSTASH_REDIS_REST_URL: inject("bridgeUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject("bridgeToken"),
                REALTIME_ENGINE_URL: inject("emulatorWsUrl"),
                BATCH_ENGINE_URL: inject("emulatorUrl"),
                BATCH_ENGINE_API_KEY: "emulator-key",
                LLM_BASE_URL: `${inject("emulatorUrl")}/v1`,
                LLM_API_KEY: "emulator-key",
                CLIENT_GONE_GRACE_SECONDS: "1",
                // Auth tests pass AUTH_MODE=required to the app themselves.
                AUTH_MODE: "off",
              },
            },
          })),
        ],
        test: {
          name: "pool",
          include: ["test/pool/**/*.test.ts"],
          globalSetup: ["test/pool/global-setup.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/e2e/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
