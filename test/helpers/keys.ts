/** API keys for e2e stacks with AUTH_MODE=required, made with the real `npm run keys` command against the stack's Redis. */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { Stack } from "../../tools/stack/stack";

const run = promisify(execFile);

export async function keys(stack: Stack, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [path.resolve("node_modules/tsx/dist/cli.mjs"), "tools/keys.ts", ...args], {
    env: { ...process.env, UPSTASH_REDIS_REST_URL: stack.bridgeUrl, UPSTASH_REDIS_REST_TOKEN: stack.token },
  });
  return stdout;
}

export async function createKey(stack: Stack, name: string, scopes = "realtime,jobs:read,jobs:write"): Promise<{ id: string; key: string }> {
  return JSON.parse(await keys(stack, "create", "--name", name, "--scopes", scopes, "--json")) as { id: string; key: string };
}
