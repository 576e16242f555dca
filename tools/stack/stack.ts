/**
 * The local stack: redis-server, the Upstash bridge, the engine emulator (and,
 * when asked, the local speech engine) and `wrangler dev`, wired together.
 * `npm run dev` and the end-to-end tests both start it through here, so what
 * the tests drive is what developers run.
 *
 * Only the service port is fixed; every internal part takes a free port unless
 * told otherwise, so the stack starts beside a user's own redis or engines.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { startBridge } from "../bridge/server";
import { startEmulator } from "../emulator/server";
import { launchLocalEngine, type LaunchedEngine } from "../local-engine/launch";
import { LOCAL_MODEL } from "../local-engine/server";
import { findFreePort, startRedis } from "./redis";

export interface StackOptions {
  /** Port of the worker (wrangler dev). @default 8787 */
  port?: number;
  /** @default 0 (any free port) */
  redisPort?: number;
  /** @default 0 (any free port) */
  bridgePort?: number;
  /** @default 0 (any free port) */
  emulatorPort?: number;
  /**
   * Which engine serves realtime and batch speech-to-text: the scripted
   * emulator (exact, for tests) or the local PocketSphinx engine (real speech;
   * throws LocalEngineUnavailableError when it cannot be installed). The LLM is
   * the emulator's rule-based stand-in either way.
   * @default "emulator"
   */
  engine?: "emulator" | "local";
  /** Local engine only: its concurrent-session limit. @default its own default */
  localEngineMaxSessions?: number;
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
  /** Which engine answers speech, and where (the emulator's URL when it is the emulator). */
  engine: { kind: "emulator" | "local"; url: string };
  redisPort: number;
  token: string;
  persistTo: string;
  bridge: Awaited<ReturnType<typeof startBridge>>;
  emulator: Awaited<ReturnType<typeof startEmulator>>;
  /** wrangler dev's inspector (Chrome DevTools protocol: CPU profiles, heap snapshots of the worker isolate). */
  inspectorUrl(): string;
  /** Restart only wrangler dev (same state dir): a deploy or eviction, as far as sessions can tell. */
  restartWorker(): Promise<void>;
  /** Run the worker's scheduled() handler (the stalled-job sweeper) once, as the cron trigger would. */
  triggerScheduled(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_SERVICE_PORT = 8787;

/** The service port is held by someone else; `message` is the one line to show. */
export class ServicePortTakenError extends Error {
  override name = "ServicePortTakenError";
}

/** Fails fast, before anything is started, when the fixed service port is taken. */
async function checkServicePort(port: number): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
  if (!free) {
    throw new ServicePortTakenError(
      `port ${port} is already in use (another \`npm run dev\`, or another program); stop it or choose another port with --port N or PORT=N`,
    );
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const token = options.token ?? "local-dev-token";
  const port = options.port ?? DEFAULT_SERVICE_PORT;
  const persistTo = options.persistTo ?? mkdtempSync(path.join(tmpdir(), "edge-transcribe-"));
  await checkServicePort(port);

  const redis = await startRedis({ port: options.redisPort ?? 0, log });
  const stops: (() => Promise<void>)[] = [() => redis.stop()];
  try {
    const bridge = await startBridge({ port: options.bridgePort ?? 0, redisPort: redis.port, token, log });
    stops.unshift(() => bridge.close());
    const emulator = await startEmulator({ port: options.emulatorPort ?? 0, log });
    stops.unshift(() => emulator.close());
    let local: LaunchedEngine | null = null;
    if (options.engine === "local") {
      local = await launchLocalEngine({ log, ...(options.localEngineMaxSessions !== undefined ? { maxSessions: options.localEngineMaxSessions } : {}) });
      stops.unshift(() => local!.stop());
    }
    const speech: Record<string, string> = local
      ? // The local engine answers speech; its model names say what it is. No key is needed on loopback.
        {
          REALTIME_ENGINE_URL: local.wsUrl,
          REALTIME_MODELS: LOCAL_MODEL,
          BATCH_ENGINE_URL: local.url,
          BATCH_MODEL: LOCAL_MODEL,
          BATCH_ENGINE_API_KEY: "local",
          // A file streamed faster than real time leaves the recognizer seconds behind; `end` must still get the last words.
          ENGINE_END_TIMEOUT_MS: "60000",
        }
      : { REALTIME_ENGINE_URL: emulator.wsUrl, REALTIME_MODELS: "emulator-realtime", BATCH_ENGINE_URL: emulator.url, BATCH_MODEL: "emulator-scribe", BATCH_ENGINE_API_KEY: "emulator-key" };

    const vars: Record<string, string> = {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: token,
      // Local engines stand in for every cloud engine (wrangler.toml defaults to Workers AI).
      REALTIME_ENGINE: "native",
      BATCH_ENGINE: "elevenlabs",
      ...speech,
      LLM_ENGINE: "openai",
      LLM_BASE_URL: `${emulator.url}/v1`,
      LLM_MODEL: "emulator-chat",
      LLM_API_KEY: "emulator-key",
      // Local dev runs without API keys; tests that check auth turn it on.
      AUTH_MODE: "off",
      WEBHOOK_ALLOW_LOCAL_URLS: "true", // local receivers (http, loopback) for webhooks: never in a deployment
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
      engine: local ? { kind: "local", url: local.url } : { kind: "emulator", url: emulator.url },
      redisPort: redis.port,
      token,
      persistTo,
      bridge,
      emulator,
inspectorUrl: () => `http://127.0.0.1:${worker.inspectorPort}`,
      triggerScheduled: () => triggerScheduled(`http://127.0.0.1:${port}`),
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

/**
 * wrangler dev runs scheduled() on GET /__scheduled when started with
 * --test-scheduled. (Its /cdn-cgi/handler/scheduled route, which could also
 * set the scheduled time, reaches only the static-assets router in wrangler
 * 4.86 when [assets] is configured, and fails with 500.) The handler runs as
 * of now; tests give their stack a short JOB_LEASE_SECONDS.
 */
export const SCHEDULED_PATH = "/__scheduled";

async function triggerScheduled(base: string): Promise<void> {
  const res = await fetch(`${base}${SCHEDULED_PATH}`);
  const body = await res.text();
  if (!res.ok) throw new Error(`scheduled handler failed: HTTP ${res.status} ${body}`);
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
    // GET /__scheduled runs scheduled() (the cron trigger), see SCHEDULED_PATH.
    "--test-scheduled",
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
