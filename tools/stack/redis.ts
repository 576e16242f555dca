// Starts a throwaway local redis-server for dev and tests, plus a minimal RESP2 client.
// No npm redis client on purpose: the bridge only needs raw replies (status vs bulk matters
// for the Upstash encoding rules), which high-level clients hide.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export type RespValue = string | number | bigint | Buffer | null | RespError | RespValue[];

/** A redis error reply. Returned as a value (not thrown) so errors nested in EXEC replies keep their place. */
export class RespError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RespError";
  }
}

export interface RespClient {
  /**
   * Sends one command; resolves with the reply. Error replies resolve as RespError values;
   * the promise rejects only when the connection fails. Simple strings come back as `string`,
   * bulk strings as `Buffer` (or null), integers as `number` (`bigint` beyond 2^53).
   */
  send(args: (string | Buffer)[]): Promise<RespValue>;
  close(): Promise<void>;
  readonly closed: boolean;
}

export interface RedisHandle {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  port?: number;
  dir?: string;
  log?: (line: string) => void;
}

const READY_TIMEOUT_MS = 10_000;

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  const log = opts.log ?? (() => {});
  const bin = findRedisServer() ?? (await installRedisServer(log));
  const autoPort = !opts.port;
  // A free port found by probing can be taken by someone else before redis binds it; retry then.
  for (let attempt = 1; ; attempt++) {
    const port = autoPort ? await findFreePort() : (opts.port as number);
    try {
      return await launch(bin, port, opts.dir, log);
    } catch (err) {
      const portClash = err instanceof Error && /already in use/i.test(err.message);
      if (!(autoPort && portClash && attempt < 3)) throw err;
      log(`[redis] port ${port} was taken, retrying`);
    }
  }
}

function findRedisServer(): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const candidates = [...dirs.map((d) => join(d, "redis-server")), "/usr/bin/redis-server", "/usr/sbin/redis-server"];
  return candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function installRedisServer(log: (line: string) => void): Promise<string> {
  const canApt = existsSync("/etc/debian_version") && process.getuid?.() === 0;
  if (!canApt) {
    throw new Error(
      "redis-server not found on PATH. Install it first: `sudo apt-get install -y redis-server` (Debian/Ubuntu), " +
        "`brew install redis` (macOS), or see https://redis.io/download",
    );
  }
  log("[redis] redis-server not found; installing it with apt-get (this can take a minute)");
  await runLogged("apt-get", ["update"], log);
  await runLogged("apt-get", ["install", "-y", "redis-server"], log);
  const bin = findRedisServer();
  if (!bin) throw new Error("apt-get install redis-server finished but redis-server is still not on PATH");
  return bin;
}

export function runLogged(cmd: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    forwardLines(child, `[${cmd}] `, log);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with code ${code}`)),
    );
  });
}

function forwardLines(child: ChildProcess, prefix: string, log: (line: string) => void, keep?: string[]): void {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        log(prefix + line);
        if (keep) {
          keep.push(line);
          if (keep.length > 20) keep.shift();
        }
      }
    });
  }
}

export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not determine a free port"))));
    });
  });
}

async function launch(bin: string, port: number, dir: string | undefined, log: (line: string) => void): Promise<RedisHandle> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"];
  if (dir) args.push("--dir", dir);
  // cwd in tmp so a stray dump never lands in the project tree.
  const child = spawn(bin, args, { cwd: dir ?? tmpdir(), detached: false, stdio: ["ignore", "pipe", "pipe"] });
  const recent: string[] = [];
  forwardLines(child, "[redis] ", log, recent);

  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  // Last-resort cleanup if the parent exits without calling stop().
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exitedPromise;
    clearTimeout(timer);
  };

  try {
    await waitForPing(port, () => exited, child);
  } catch (err) {
    await stop();
    const tail = recent.length ? `\nlast redis output:\n  ${recent.join("\n  ")}` : "";
    throw new Error(`${(err as Error).message}${tail}`);
  }
  log(`[redis] ready on 127.0.0.1:${port} (pid ${child.pid})`);
  return { port, url: `redis://127.0.0.1:${port}`, stop };
}

async function waitForPing(port: number, hasExited: () => boolean, child: ChildProcess): Promise<void> {
  let spawnError: Error | undefined;
  child.once("error", (e) => (spawnError = e));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`could not start redis-server: ${spawnError.message}`);
    if (hasExited()) throw new Error(`redis-server exited before accepting connections (exit code ${child.exitCode})`);
    const pid = await answeringPid(port);
    if (pid === child.pid) return;
    // Someone else already listens there; our child will exit with "Address already in use".
    if (pid !== undefined) throw new Error(`port ${port} is already in use by another redis-server (pid ${pid})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not become ready (PING/INFO) within ${READY_TIMEOUT_MS / 1000} s`);
}

/** pid of the redis answering on the port, or undefined while nothing (ready) answers. */
async function answeringPid(port: number): Promise<number | undefined> {
  const client = createRespClient(port);
  let timer: number | NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, 1_000)));
  try {
    const reply = await Promise.race([client.send(["INFO", "server"]).catch(() => undefined), timeout]);
    const pid = Buffer.isBuffer(reply) ? /process_id:(\d+)/.exec(reply.toString("latin1"))?.[1] : undefined;
    return pid ? Number(pid) : undefined;
  } finally {
    clearTimeout(timer);
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// RESP2 client

interface Pending {
  resolve(v: RespValue): void;
  reject(e: Error): void;
}

export function createRespClient(port: number, host = "127.0.0.1"): RespClient {
  const sock = net.createConnection({ port, host });
  sock.setNoDelay(true);
  // Redis answers strictly in order, so a FIFO of waiters matches replies to concurrent calls.
  const pending: Pending[] = [];
  const parser = new RespParser();
  let failure: Error | undefined;

  const fail = (err: Error) => {
    failure ??= err;
    for (const p of pending.splice(0)) p.reject(failure);
  };
  sock.on("data", (chunk) => {
    try {
      for (const value of parser.push(chunk)) {
        const p = pending.shift();
        if (!p) throw new Error("redis sent a reply nobody asked for");
        p.resolve(value);
      }
    } catch (err) {
      fail(err as Error);
      sock.destroy();
    }
  });
  sock.on("error", (err) => fail(new Error(`redis connection to ${host}:${port} failed: ${err.message}`)));
  sock.on("close", () => fail(new Error(`redis connection to ${host}:${port} closed`)));

  return {
    get closed() {
      return failure !== undefined;
    },
    send(args) {
      if (failure) return Promise.reject(failure);
      return new Promise<RespValue>((resolve, reject) => {
        pending.push({ resolve, reject });
        sock.write(encodeCommand(args));
      });
    },
    close() {
      failure ??= new Error("redis client closed");
      if (sock.destroyed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        sock.once("close", () => resolve());
        // A socket still connecting may never emit close after end(); nothing is in flight then.
        if (sock.connecting) sock.destroy();
        else sock.end();
      });
    },
  };
}

export function encodeCommand(args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Thrown internally when the buffer ends mid-reply; `need` is the minimum total size to retry at. */
class Incomplete {
  constructor(readonly need: number) {}
}

/** Incremental RESP2 parser; buffers chunks until a whole reply is available. */
export class RespParser {
  private chunks: Buffer[] = [];
  private size = 0;
  // Re-parsing a large bulk reply on every 64 KiB chunk would be quadratic; wait until enough arrived.
  private need = 0;

  push(chunk: Buffer): RespValue[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: RespValue[] = [];
    if (this.size < this.need) return out;
    let buf = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
    let offset = 0;
    for (;;) {
      if (offset >= buf.length) {
        buf = Buffer.alloc(0);
        offset = 0;
        break;
      }
      try {
        const [value, next] = parseValue(buf, offset);
        out.push(value);
        offset = next;
      } catch (err) {
        if (!(err instanceof Incomplete)) throw err;
        this.need = err.need - offset;
        break;
      }
    }
    const rest = buf.subarray(offset);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    if (!rest.length) this.need = 0;
    return out;
  }
}

function readLine(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf("\r\n", offset, "latin1");
  if (end < 0) throw new Incomplete(buf.length + 1);
  return [buf.toString("utf8", offset, end), end + 2];
}

function parseValue(buf: Buffer, offset: number): [RespValue, number] {
  if (offset >= buf.length) throw new Incomplete(offset + 1);
  const type = String.fromCharCode(buf[offset] as number);
  const [line, next] = readLine(buf, offset + 1);
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new RespError(line), next];
    case ":": {
      const n = BigInt(line);
      return [Number.isSafeInteger(Number(n)) ? Number(n) : n, next];
    }
    case "$": {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) throw new Incomplete(next + len + 2);
      return [Buffer.from(buf.subarray(next, next + len)), next + len + 2];
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return [null, next];
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const [item, after] = parseValue(buf, pos);
        items.push(item);
        pos = after;
      }
      return [items, pos];
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}
