/**
 * The local stack: redis-server, the Upstash bridge, the engine emulator and
 * `wrangler dev`, wired together. `npm run dev` and the end-to-end tests both
 * start it through here, so what the tests drive is what developers run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startBridge } from "../bridge/server";
import { startEmulator } from "../emulator/server";
import { findFreePort, startRedis } from "./redis";

export interface StackOptions {
  /** Port of the worker (wrangler dev). @default 8787 */
  port?: number;
  /** @default 6379 (0 = any free port) */
  redisPort?: number;
  /** @default 8079 */
  bridgePort?: number;
  /** @default 8790 */
  emulatorPort?: number;
  /** Where Miniflare keeps R2, DO and queue state. @default a fresh temp dir */
  persistTo?: string;
  /** Extra worker vars (override wrangler.toml [vars]). */
  vars?: Record<string, string>;
  /** Bridge token. @default "local-dev-token" */
  token?: string;
  log?: (line: string) => void;
  /** Echo wrangler's own output. @default false */
  verbose?: boolean;
}

export interface Stack {
  url: string;
  /** The vars wrangler dev runs with (after overrides). */
  vars: Record<string, string>;
  wsUrl: string;
  bridgeUrl: string;
  emulatorUrl: string;
  redisPort: number;
  token: string;
  persistTo: string;
  bridge: Awaited<ReturnType<typeof startBridge>>;
  emulator: Awaited<ReturnType<typeof startEmulator>>;
  /** wrangler dev's inspector (Chrome DevTools protocol: CPU profiles, heap snapshots of the worker isolate). */
  inspectorUrl(): string;
  /** Restart only wrangler dev (same state dir): a deploy or eviction, as far as sessions can tell. */
  restartWorker(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const token = options.token ?? "local-dev-token";
  const port = options.port ?? 8787;
  const persistTo = options.persistTo ?? mkdtempSync(path.join(tmpdir(), "edge-transcribe-"));

  const redis = await startRedis({ port: options.redisPort ?? 6379, log });
  const stops: (() => Promise<void>)[] = [() => redis.stop()];
  try {
    const bridge = await startBridge({ port: options.bridgePort ?? 8079, redisPort: redis.port, token, log });
    stops.unshift(() => bridge.close());
    const emulator = await startEmulator({ port: options.emulatorPort ?? 8790, log });
    stops.unshift(() => emulator.close());

    const vars: Record<string, string> = {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: token,
      // The emulator stands in for every engine locally (wrangler.toml defaults to Workers AI).
      REALTIME_ENGINE: "native",
      REALTIME_ENGINE_URL: emulator.wsUrl,
      REALTIME_MODELS: "emulator-realtime",
      BATCH_ENGINE: "elevenlabs",
      BATCH_ENGINE_URL: emulator.url,
      BATCH_ENGINE_API_KEY: "emulator-key",
      LLM_ENGINE: "openai",
      LLM_BASE_URL: `${emulator.url}/v1`,
      LLM_MODEL: "emulator-chat",
      BATCH_MODEL: "emulator-scribe",
      LLM_API_KEY: "emulator-key",
      // Local dev runs without API keys; tests that check auth turn it on.
      AUTH_MODE: "off",
      // Deepgram-style callbacks to a receiver on this machine (never in a deployment).
      LISTEN_CALLBACK_ALLOW_PRIVATE: "true",
      ...options.vars,
    };
    let worker = await startWrangler({ port, persistTo, vars, log, verbose: options.verbose ?? false });
    stops.unshift(() => worker.stop());

    return {
      vars,
      url: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}`,
      bridgeUrl: bridge.url,
      emulatorUrl: emulator.url,
      redisPort: redis.port,
      token,
      persistTo,
      bridge,
      emulator,
      inspectorUrl: () => `http://127.0.0.1:${worker.inspectorPort}`,
      async restartWorker() {
        await worker.stop();
        worker = await startWrangler({ port, persistTo, vars, log, verbose: options.verbose ?? false });
      },
      async stop() {
        await worker.stop();
        for (const stop of stops.slice(1)) await stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const stop of stops) await stop().catch(() => undefined);
    throw err;
  }
}

interface WranglerOptions {
  port: number;
  persistTo: string;
  vars: Record<string, string>;
  log: (line: string) => void;
  verbose: boolean;
}

const WRANGLER_BIN = path.resolve(import.meta.dirname, "../../node_modules/wrangler/bin/wrangler.js");

async function startWrangler(options: WranglerOptions): Promise<{ stop(): Promise<void>; inspectorPort: number }> {
  // Its own inspector port too: two stacks at once (tests, benchmarks) must not collide on 9229/9230.
  const inspectorPort = await findFreePort();
  const args = [
    WRANGLER_BIN,
    "dev",
    "--local",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--persist-to",
    options.persistTo,
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    "--log-level",
    options.verbose ? "log" : "warn",
  ];
  for (const [key, value] of Object.entries(options.vars)) args.push("--var", `${key}:${value}`);
  const child = spawn(process.execPath, args, {
    cwd: path.resolve(import.meta.dirname, "../.."),
    // Its own process group, so stopping it also stops workerd (which otherwise keeps the port).
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
  });
  const output: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > 200) output.shift();
      if (options.verbose || /error|✘/i.test(line)) options.log(`[wrangler] ${line}`);
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const stop = () => stopGroup(child);
  try {
    await waitForHealth(`http://127.0.0.1:${options.port}/health`, child, 60_000);
  } catch (err) {
    await stop();
    throw new Error(`wrangler dev did not start: ${(err as Error).message}\n${output.slice(-30).join("\n")}`);
  }
  return { stop, inspectorPort };
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
}

export async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is already gone.
    }
  };
  kill("SIGTERM");
  const timer = setTimeout(() => kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
  // workerd may outlive the wrangler parent for a moment; make sure the group is gone.
  kill("SIGKILL");
}
