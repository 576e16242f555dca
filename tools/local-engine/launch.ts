/**
 * Starts the local engine as its own process (what `npm run dev` and the
 * real-speech tests run), installing PocketSphinx with apt when it is missing
 * and we are root on Debian, as tools/stack/redis.ts does for redis-server.
 *
 * Its own process, not the caller's: decoding takes real CPU and ~100 MB per
 * session, and a test runner or the dev script should not share that heap.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { runLogged } from "../stack/redis";
import { stopGroup } from "../stack/stack";
import { missingSphinxParts, SPHINX_PACKAGES } from "./sphinx";

const SERVER = path.resolve(import.meta.dirname, "server.ts");
const ROOT = path.resolve(import.meta.dirname, "../..");
const START_TIMEOUT_MS = 60_000;
const LISTENING = /^local-engine listening on (\S+) \(realtime (\S+),/;

export class LocalEngineUnavailableError extends Error {
  override name = "LocalEngineUnavailableError";
}

/**
 * Makes sure PocketSphinx and its model are installed. Returns null when they
 * are (possibly after installing them), else a sentence saying how to get them.
 */
export async function ensureSphinx(log: (line: string) => void): Promise<string | null> {
  if (missingSphinxParts().length === 0) return null;
  const how = `install it with: sudo apt-get install -y ${SPHINX_PACKAGES.join(" ")}`;
  if (!existsSync("/etc/debian_version") || process.getuid?.() !== 0) return `PocketSphinx is not installed; ${how}`;
  log(`[local-engine] PocketSphinx not found; installing ${SPHINX_PACKAGES.join(" ")} with apt-get (about 37 MB)`);
  try {
    await runLogged("apt-get", ["install", "-y", ...SPHINX_PACKAGES], log).catch(async () => {
      await runLogged("apt-get", ["update"], log);
      await runLogged("apt-get", ["install", "-y", ...SPHINX_PACKAGES], log);
    });
  } catch (err) {
    return `installing PocketSphinx failed (${err instanceof Error ? err.message : String(err)}); ${how}`;
  }
  const missing = missingSphinxParts();
  return missing.length === 0 ? null : `PocketSphinx is still incomplete after apt-get (missing ${missing.join(", ")})`;
}

export interface LaunchedEngine {
  url: string;
  wsUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  /** @default 0 (a free port) */
  port?: number;
  maxSessions?: number;
  log?: (line: string) => void;
}

export async function launchLocalEngine(options: LaunchOptions = {}): Promise<LaunchedEngine> {
  const log = options.log ?? ((): void => {});
  const problem = await ensureSphinx(log);
  if (problem) throw new LocalEngineUnavailableError(problem);
  const args = ["--import", "tsx", SERVER, "--port", String(options.port ?? 0), "--quiet"];
  if (options.maxSessions !== undefined) args.push("--max-sessions", String(options.maxSessions));
  const child = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const stop = (): Promise<void> => stopGroup(child);
  try {
    return await new Promise<LaunchedEngine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const onLine = (line: string): void => {
        lines.push(line);
        if (lines.length > 30) lines.shift();
        const m = LISTENING.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ url: m[1]!, wsUrl: m[2]!, pid: child.pid!, stop });
        } else if (line.trim()) log(`[local-engine] ${line}`);
      };
      for (const stream of [child.stdout!, child.stderr!]) {
        let partial = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => {
          const parts = (partial + chunk).split("\n");
          partial = parts.pop() ?? "";
          parts.forEach(onLine);
        });
      }
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with code ${code}`));
      });
    });
  } catch (err) {
    await stop();
    throw new LocalEngineUnavailableError(`the local engine did not start: ${(err as Error).message}\n${lines.join("\n")}`);
  }
}
