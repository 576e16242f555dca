// Local stand-in for the Upstash Redis REST endpoint: speaks the wire format @upstash/redis uses
// (DESIGN.md §3) in front of a real redis-server. Dev/test tool only.
//
// What @upstash/redis 1.39.0 sends: always POST, `Authorization: Bearer <token>`,
// `Content-Type: application/json`, `Upstash-Encoding: base64` unless responseEncoding:false,
// `upstash-sync-token` (read-your-writes; ignored here) and Upstash-Telemetry-* headers.
// Paths: `/` (one command), `/pipeline` and `/multi-exec` (array of commands), and the
// path form `/subscribe/...` / `/psubscribe/...` with `Accept: text/event-stream`, which this
// bridge does not implement.
import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createRespClient, RespError, type RespClient, type RespValue } from "../stack/redis.js";

export interface BridgeOptions {
  port?: number;
  host?: string;
  redisPort: number;
  token: string;
  log?: (line: string) => void;
}

export interface BridgeHandle {
  url: string;
  port: number;
  failNext(count: number, status?: number): void;
  /**
   * Hold every Redis request (not the control paths) until release(): a store
   * that does not answer, so tests can prove what does not wait for it.
   */
  hold(): void;
  /** Let held requests (and later ones) through; returns how many were held. */
  release(): number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const MAX_REDIS_CONNECTIONS = 32;

// Commands that would leave a pooled connection in a different state than the next request expects.
const CONNECTION_STATE_COMMANDS = new Set([
  "multi", "exec", "discard", "watch", "unwatch", "select", "auth", "hello", "reset", "quit",
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor",
  "sync", "psync", "replconf",
]);

type Json = string | number | bigint | null | Json[] | { [key: string]: Json };

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Connection pool: each request borrows a connection exclusively, so a transaction or a slow
// (blocking) command never interleaves with another request's replies.

class RespPool {
  private idle: RespClient[] = [];
  private waiters: ((c: RespClient) => void)[] = [];
  private open = 0;
  private closed = false;

  constructor(private readonly port: number, private readonly max: number) {}

  async acquire(): Promise<RespClient> {
    if (this.closed) throw new HttpError(503, "ERR bridge is shutting down");
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (!c.closed) return c;
      this.open--;
    }
    if (this.open < this.max) {
      this.open++;
      return createRespClient(this.port);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(c: RespClient): void {
    if (c.closed || this.closed) {
      this.open--;
      void c.close();
      // A slot freed up: hand a fresh connection to whoever is waiting.
      const next = this.waiters.shift();
      if (next && !this.closed) {
        this.open++;
        next(createRespClient(this.port));
      }
      return;
    }
    const next = this.waiters.shift();
    if (next) next(c);
    else this.idle.push(c);
  }

  async use<T>(fn: (c: RespClient) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    try {
      return await fn(c);
    } finally {
      this.release(c);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((c) => c.close()));
  }
}

// ---------------------------------------------------------------------------------------------
// Upstash response encoding

/**
 * Mirrors the decoder in @upstash/redis: with base64 on, every string is base64 except a
 * top-level status reply `OK`, which the client passes through untouched. Other statuses
 * (PONG, QUEUED…) are encoded too, because the client base64-decodes any other string.
 */
function encodeValue(v: RespValue, base64: boolean, topLevel: boolean): Json {
  if (v === null || typeof v === "number" || typeof v === "bigint") return v;
  if (Array.isArray(v)) return v.map((item) => encodeValue(item, base64, false));
  if (v instanceof RespError) return encodeValue(v.message, base64, false);
  if (typeof v === "string") {
    if (!base64 || (topLevel && v === "OK")) return v;
    return Buffer.from(v, "utf8").toString("base64");
  }
  return base64 ? v.toString("base64") : v.toString("utf8");
}

function resultEntry(v: RespValue, base64: boolean): Json {
  return v instanceof RespError ? { error: v.message } : { result: encodeValue(v, base64, true) };
}

/** JSON.stringify cannot emit bigint; redis 64-bit integers are written as raw digits instead. */
function toJson(v: Json): string {
  if (typeof v === "bigint") return v.toString();
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(toJson).join(",")}]`;
  return `{${Object.entries(v).map(([k, val]) => `${JSON.stringify(k)}:${toJson(val)}`).join(",")}}`;
}

// ---------------------------------------------------------------------------------------------
// Request parsing

type Command = (string | Buffer)[];

function toCommand(raw: unknown): Command {
  if (!Array.isArray(raw) || raw.length === 0) throw new HttpError(400, "ERR a command must be a non-empty JSON array");
  return raw.map((arg) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new HttpError(400, `ERR unsupported argument type in command: ${JSON.stringify(arg)}`);
  });
}

function toCommandList(raw: unknown): Command[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new HttpError(400, "ERR a batch must be a non-empty JSON array of command arrays");
  }
  return raw.map(toCommand);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "ERR invalid JSON body");
  }
}

/** Upstash path form: /cmd/arg1/arg2, a POST body appended as the last argument, query params after it. */
function pathCommand(url: URL, body: Buffer): Command {
  const cmd: Command = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (body.length) cmd.push(body);
  for (const [k, v] of url.searchParams) {
    if (k === "_token") continue;
    cmd.push(k);
    if (v) cmd.push(v);
  }
  return cmd;
}

function commandName(cmd: Command): string {
  return String(cmd[0]).toLowerCase();
}

function refusal(cmd: Command): RespError | undefined {
  const name = commandName(cmd);
  if (!CONNECTION_STATE_COMMANDS.has(name)) return undefined;
  const hint = name.endsWith("subscribe") ? " (server-sent events are not implemented by the bridge)" : "";
  return new RespError(`ERR command '${name}' is not supported over the REST bridge${hint}`);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.reject(new HttpError(413, "ERR request body too large (limit 10 MiB)"));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        req.resume();
        reject(new HttpError(413, "ERR request body too large (limit 10 MiB)"));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

function tokenMatches(req: http.IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const given = header.match(/^Bearer\s+(.+)$/i)?.[1] ?? url.searchParams.get("_token") ?? "";
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Execution

async function runSingle(pool: RespPool, cmd: Command): Promise<RespValue> {
  return refusal(cmd) ?? pool.use((c) => c.send(cmd));
}

async function runPipeline(pool: RespPool, cmds: Command[]): Promise<RespValue[]> {
  // Writing every command before awaiting any reply keeps it one round trip, like Upstash.
  return pool.use((c) => Promise.all(cmds.map((cmd) => refusal(cmd) ?? c.send(cmd))));
}

/**
 * Upstash transaction semantics: a command rejected while queueing (syntax error, unknown
 * command) discards the whole transaction and the request fails with that error; errors raised
 * while executing are reported per command and do not roll anything back.
 */
async function runMultiExec(pool: RespPool, cmds: Command[]): Promise<RespValue[]> {
  const refused = cmds.map(refusal).find((r) => r !== undefined);
  if (refused) throw new HttpError(400, refused.message);
  const replies = await pool.use((c) =>
    Promise.all([c.send(["MULTI"]), ...cmds.map((cmd) => c.send(cmd)), c.send(["EXEC"])]),
  );
  const queued = replies.slice(1, -1);
  const queueError = queued.find((r): r is RespError => r instanceof RespError);
  if (queueError) throw new HttpError(400, queueError.message);
  const exec = replies[replies.length - 1];
  if (exec instanceof RespError) throw new HttpError(400, exec.message);
  if (!Array.isArray(exec)) throw new HttpError(400, "ERR transaction was aborted");
  return exec;
}

// ---------------------------------------------------------------------------------------------
// HTTP server

export async function startBridge(opts: BridgeOptions): Promise<BridgeHandle> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? "127.0.0.1";
  const pool = new RespPool(opts.redisPort, MAX_REDIS_CONNECTIONS);
  let failRemaining = 0;
  let failStatus = 503;

  let held: (() => void)[] | null = null;
  let heldCount = 0;
  const hold = () => {
    held ??= [];
  };
  const release = () => {
    const waiting = held ?? [];
    held = null;
    for (const go of waiting) go();
    const count = heldCount;
    heldCount = 0;
    return count;
  };

  const failNext = (count: number, status = 503) => {
    failRemaining = Math.max(0, Math.floor(count));
    failStatus = status;
  };

  const send = (res: http.ServerResponse, status: number, body: Json) => {
    const text = toJson(body);
    res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://bridge.local");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (req.method !== "POST" && !(req.method === "GET" && path !== "/")) {
      throw new HttpError(405, "ERR method not allowed; use POST");
    }
    if (!tokenMatches(req, url, opts.token)) throw new HttpError(401, "Unauthorized");
    const body = await readBody(req);

    if (path.startsWith("/__bridge/")) {
      if (path === "/__bridge/fail-next") {
        const raw = body.length ? parseJson(body) : {};
        const spec = (typeof raw === "object" && raw !== null ? raw : {}) as { count?: unknown; status?: unknown };
        failNext(typeof spec.count === "number" ? spec.count : 1, typeof spec.status === "number" ? spec.status : 503);
        return send(res, 200, { result: "OK" });
      }
      if (path === "/__bridge/reset") {
        failNext(0);
        release();
        return send(res, 200, { result: "OK" });
      }
      if (path === "/__bridge/hold") {
        hold();
        return send(res, 200, { result: "OK" });
      }
      if (path === "/__bridge/release") {
        return send(res, 200, { result: release() });
      }
      if (path === "/__bridge/held") {
        return send(res, 200, { result: heldCount });
      }
      throw new HttpError(404, `ERR unknown bridge control path ${path}`);
    }

    if (held) {
      heldCount++;
      await new Promise<void>((go) => held!.push(go));
    }
    if (failRemaining > 0) {
      failRemaining--;
      return send(res, failStatus, { error: "bridge: injected failure" });
    }

    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    if (path === "/pipeline") {
      const replies = await runPipeline(pool, toCommandList(parseJson(body)));
      return send(res, 200, replies.map((r) => resultEntry(r, base64)));
    }
    if (path === "/multi-exec") {
      const replies = await runMultiExec(pool, toCommandList(parseJson(body)));
      return send(res, 200, replies.map((r) => resultEntry(r, base64)));
    }
    const cmd = path === "/" ? toCommand(parseJson(body)) : pathCommand(url, body);
    const reply = await runSingle(pool, cmd);
    if (reply instanceof RespError) return send(res, 400, { error: reply.message });
    return send(res, 200, { result: encodeValue(reply, base64, true) });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 502;
      const message = err instanceof HttpError ? err.message : `ERR bridge: ${(err as Error).message}`;
      if (status >= 500) log(`[bridge] ${req.method} ${req.url} -> ${status} ${message}`);
      if (res.headersSent) return res.destroy();
      if (status === 413) res.setHeader("Connection", "close");
      send(res, status, { error: message });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log(`[bridge] Upstash REST bridge on ${url} -> redis 127.0.0.1:${opts.redisPort}`);

  return {
    url,
    port,
    failNext,
    hold,
    release,
    async close() {
      release();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CLI: tsx tools/bridge/server.ts --port 8079 --redis-port 6379 --token local-dev-token

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8079" },
      host: { type: "string", default: "127.0.0.1" },
      "redis-port": { type: "string", default: "6379" },
      token: { type: "string", default: process.env.UPSTASH_REDIS_REST_TOKEN },
    },
  });
  if (!values.token) throw new Error("missing --token (or UPSTASH_REDIS_REST_TOKEN)");
  const bridge = await startBridge({
    port: Number(values.port),
    host: values.host,
    redisPort: Number(values["redis-port"]),
    token: values.token,
    log: (line) => console.log(line),
  });
  const shutdown = () => void bridge.close().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`[bridge] ${(err as Error).message}`);
    process.exit(1);
  });
}
