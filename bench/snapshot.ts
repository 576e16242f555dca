/**
 * The benchmark runs the stack from a snapshot of the working tree taken at
 * its start: `wrangler dev` reloads the worker whenever a source file changes,
 * and a reload in the middle of a measurement drops every session. The
 * snapshot holds the same code (copied file by file; node_modules is a
 * symlink), so edits made while the benchmark runs cannot reach it.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Stack, StackOptions } from "../tools/stack/stack";

export const ROOT = path.resolve(import.meta.dirname, "..");
const SKIP = new Set(["node_modules", ".git", ".wrangler", ".artifacts", "bench", ".dev.vars"]);

export interface Snapshot {
  dir: string;
  /** `git rev-parse HEAD` and how many paths `git status --porcelain` lists (read-only git). */
  revision: string;
  dirtyPaths: number;
  startStack(options: StackOptions): Promise<Stack>;
  remove(): void;
}

function git(args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] }).toString();
  } catch {
    return null;
  }
}

export async function takeSnapshot(): Promise<Snapshot> {
  const dir = mkdtempSync(path.join(tmpdir(), "edge-transcribe-bench-src-"));
  for (const name of readdirSync(ROOT)) {
    if (SKIP.has(name)) continue;
    cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  }
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  const revision = git(["rev-parse", "HEAD"])?.trim() ?? "unknown";
  const status = git(["--no-optional-locks", "status", "--porcelain"]);
  const dirtyPaths = status === null ? -1 : status.split("\n").filter((l) => l.trim()).length;
  const mod = (await import(pathToFileURL(path.join(dir, "tools/stack/stack.ts")).href)) as typeof import("../tools/stack/stack");
  return {
    dir,
    revision,
    dirtyPaths,
    startStack: (options) => mod.startStack(options),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
