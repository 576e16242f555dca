/**
 * Starts the real Node-side services the pool tests talk to: redis-server,
 * the Upstash bridge in front of it, and the engine emulator.
 */
import type { TestProject } from "vitest/node";
import { startBridge } from "../../tools/bridge/server";
import { startEmulator } from "../../tools/emulator/server";
import { startRedis } from "../../tools/stack/redis";

const TOKEN = "pool-test-token";

export default async function setup(project: TestProject) {
  const quiet = () => undefined;
  const redis = await startRedis({ port: 0, log: quiet });
  const bridge = await startBridge({ port: 0, redisPort: redis.port, token: TOKEN, log: quiet });
  const emulator = await startEmulator({ port: 0, log: quiet });
  project.provide("bridgeUrl", bridge.url);
  project.provide("bridgeToken", TOKEN);
  project.provide("emulatorUrl", emulator.url);
  project.provide("emulatorWsUrl", emulator.wsUrl);
  return async () => {
    await emulator.close();
    await bridge.close();
    await redis.stop();
  };
}

