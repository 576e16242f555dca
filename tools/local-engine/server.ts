/**
 * Local speech engine: real recognition (CMU PocketSphinx, US English) behind
 * the same APIs the emulator serves: the native realtime protocol over
 * WebSocket and the ElevenLabs-style batch speech-to-text API. One worker
 * thread per session, at most `maxSessions` at once. See README.md.
 *
 *   npx tsx tools/local-engine/server.ts --port 8791 [--host 0.0.0.0 --token SECRET] [--max-sessions 4]
 */
import { realpathSync } from "node:fs";
import http from "node:http";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Resampler } from "../../src/audio/resampler";
import { listen, readBody, rejectUpgrade, sendJson } from "../emulator/http";
import { parseRealtimeQuery, type ModelFamily } from "../emulator/realtime";
import { detail, elevenLabsWords, parseSpeechToTextForm } from "../emulator/stt";
import type { HttpAnswer } from "../emulator/types";
import { WebSocketServer, type WebSocket } from "ws";
import { PoolFullError, WorkerPool, type Lease } from "./pool";
import { missingSphinxParts, SPHINX_PACKAGES, SPHINX_SAMPLE_RATE } from "./sphinx";
import type { BatchResult, FromWorker } from "./worker";

export const LOCAL_MODEL = "pocketsphinx-en-us";
export const LOCAL_MODELS: ModelFamily = { defaultModel: LOCAL_MODEL, prefix: "pocketsphinx", server: "the local engine" };
export const REALTIME_PATH = "/v1/realtime";
export const STT_PATH = "/v1/speech-to-text";
/** `X-Engine` header and the prefix of every error message. */
const ENGINE = "local-engine";
/**
 * Sessions (and batch files) decoded at once: one per CPU core. A session needs
 * ~0.3 of a core at real-time pace (more while a machine is shared), and a
 * recognizer that falls behind real time delays every result by seconds, so
 * the default keeps a core's headroom per session. Each costs ~100 MB.
 * Measured figures: BENCHMARKS.md section 7.
 */
export const DEFAULT_MAX_SESSIONS = Math.max(1, availableParallelism());
/** A batch file waits this long for a free recognizer before the answer is 503. */
export const BATCH_WAIT_MS = 120_000;
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
const MAX_WS_FRAME_BYTES = 16 * 1024 * 1024;
/** Languages the model knows (it is US English only). */
const LANGUAGE = /^(?:auto|en(?:[-_][a-z]{2})?)$/i;

export class LocalEngineConfigError extends Error {
  override name = "LocalEngineConfigError";
}

export interface LocalEngineOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** @default 127.0.0.1. Any other address requires `token`. */
  host?: string;
  /** When set, every request must carry it: `Authorization: Bearer …` or (batch) `xi-api-key`. */
  token?: string;
  /** @default DEFAULT_MAX_SESSIONS */
  maxSessions?: number;
  /** Loaded idle recognizers kept ready. @default 1 */
  spare?: number;
  log?: (line: string) => void;
}

export interface LocalEngineHandle {
  url: string;
  wsUrl: string;
  port: number;
  maxSessions: number;
  /** Recognizers in use right now. */
  inUse(): number;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

function authorized(headers: http.IncomingHttpHeaders, token: string | undefined): boolean {
  if (!token) return true;
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "")?.[1]?.trim();
  return bearer === token || headers["xi-api-key"] === token;
}

function errorBody(code: string, message: string): unknown {
  return { error: { code, message: `${ENGINE}: ${message}` } };
}

/** ElevenLabs reports log probabilities; a posterior of 0 would be -Infinity. */
function logprob(confidence: number): number {
  return Math.round(Math.log(Math.max(1e-4, confidence)) * 1000) / 1000;
}

let transcriptionCounter = 0;

function sttAnswer(result: BatchResult, language: string | undefined): HttpAnswer {
  const words = elevenLabsWords(
    result.utterances.flatMap((u) =>
      u.words.map((w) => ({ text: w.word, start: w.start, end: w.end, speaker: u.speaker, logprob: logprob(w.confidence) })),
    ),
  );
  return {
    status: 200,
    body: {
      language_code: language && language !== "auto" ? language : "en",
      language_probability: 1,
      text: result.utterances.map((u) => u.text).join(" "),
      words,
      model_id: LOCAL_MODEL,
      transcription_id: `${ENGINE}-${Date.now().toString(36)}-${++transcriptionCounter}`,
      /** Not part of ElevenLabs' answer: says where a stored result came from. */
      engine: "pocketsphinx 0.8 (local, offline)",
    },
  };
}

export async function startLocalEngine(options: LocalEngineOptions = {}): Promise<LocalEngineHandle> {
  const host = options.host ?? "127.0.0.1";
  const token = options.token || undefined;
  if (!isLoopback(host) && !token) {
    throw new LocalEngineConfigError(`refusing to listen on ${host} without a token: pass --token (or LOCAL_ENGINE_TOKEN) when binding beyond loopback`);
  }
  const log = options.log ?? ((): void => {});
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new LocalEngineConfigError(`max sessions must be an integer >= 1, got ${maxSessions}`);
  const pool = new WorkerPool({ limit: maxSessions, spare: Math.min(maxSessions, options.spare ?? 1), log });
  await pool.warm();

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_FRAME_BYTES });
  wss.on("headers", (headers) => headers.push(`X-Engine: ${ENGINE}`));

  const transcribe = async (req: http.IncomingMessage): Promise<HttpAnswer> => {
    const body = await readBody(req, MAX_UPLOAD_BYTES);
    if (body === null) return detail(413, "file_too_large", `${ENGINE}: upload too large`);
    const parsed = await parseSpeechToTextForm(req.headers["content-type"], body, ENGINE);
    if (!parsed.ok) return parsed.answer;
    const { wav, options: stt } = parsed.request;
    if (stt.languageCode && !LANGUAGE.test(stt.languageCode)) {
      return detail(422, "unsupported_language", `${ENGINE}: only English is recognised (language_code ${stt.languageCode})`);
    }
    let samples = wav.samples;
    if (wav.sampleRate !== SPHINX_SAMPLE_RATE) {
      const resampler = new Resampler(wav.sampleRate, SPHINX_SAMPLE_RATE);
      const head = resampler.process(samples);
      const tail = resampler.flush();
      samples = new Int16Array(head.length + tail.length);
      samples.set(head);
      samples.set(tail, head.length);
    }
    let lease: Lease;
    try {
      lease = await pool.acquireWithin(BATCH_WAIT_MS);
    } catch (err) {
      if (err instanceof PoolFullError) return detail(503, "service_unavailable", `${ENGINE}: ${err.message}`);
      throw err;
    }
    const result = await new Promise<BatchResult>((resolve, reject) => {
      lease.onMessage((m: FromWorker) => {
        if (m.type === "batch-result") resolve(m.result);
        else if (m.type === "failed") reject(new Error(m.message));
      });
      lease.post({ type: "batch", job: lease.job, samples, diarize: stt.diarize, ...(stt.numSpeakers !== undefined ? { numSpeakers: stt.numSpeakers } : {}) });
    }).finally(() => lease.release());
    log(`[local-engine] batch: ${(samples.length / SPHINX_SAMPLE_RATE).toFixed(1)} s decoded in ${result.decodeMs.toFixed(0)} ms, ${result.utterances.length} utterances`);
    return sttAnswer(result, stt.languageCode);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://local-engine").pathname;
    const method = req.method ?? "GET";
    const send = (answer: HttpAnswer): void => sendJson(res, answer, ENGINE);
    if (path === "/health" && method === "GET") {
      return send({
        status: 200,
        body: { status: "ok", engine: "pocketsphinx", model: LOCAL_MODEL, realtime: REALTIME_PATH, batch: STT_PATH, sessions: { in_use: pool.inUse, limit: maxSessions } },
      });
    }
    if (!authorized(req.headers, token)) return send({ status: 401, body: errorBody("unauthorized", "a valid token is required") });
    if (path === REALTIME_PATH) return send({ status: 426, body: errorBody("upgrade_required", "WebSocket upgrade required") });
    if (path === STT_PATH && method === "POST") return send(await transcribe(req));
    return send({ status: 404, body: errorBody("not_found", `no ${method} ${path}`) });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`[local-engine] ${req.method} ${req.url}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      if (!res.headersSent) sendJson(res, { status: 500, body: errorBody("internal_error", "internal error") }, ENGINE);
      else res.destroy();
    });
  });

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://local-engine");
    const refuse = (status: number, body: unknown): void => rejectUpgrade(socket, status, body, ENGINE);
    if (url.pathname !== REALTIME_PATH) return refuse(404, errorBody("not_found", `no WebSocket at ${url.pathname}`));
    if (!authorized(req.headers, token)) return refuse(401, errorBody("unauthorized", "a valid token is required"));
    const parsed = parseRealtimeQuery(url.searchParams, LOCAL_MODELS);
    if (!parsed.ok) return refuse(400, { error: { code: "invalid_request", message: `${ENGINE}: ${parsed.message}`, param: parsed.param } });
    if (!LANGUAGE.test(parsed.params.language)) {
      return refuse(400, { error: { code: "invalid_request", message: `${ENGINE}: only English is recognised`, param: "language" } });
    }
    let lease: Lease;
    try {
      lease = pool.acquire();
    } catch (err) {
      if (!(err instanceof PoolFullError)) throw err;
      log(`[local-engine] refusing a realtime session: ${err.message}`);
      return refuse(503, errorBody("unavailable", err.message));
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, lease, parsed.params, url.searchParams.get("session_id") ?? "anonymous"));
  });

  const attach = (ws: WebSocket, lease: Lease, params: { interimResults: boolean; wordTimestamps: boolean }, label: string): void => {
    let ended = false;
    log(`[local-engine] session ${label} open (${pool.inUse}/${maxSessions} recognizers in use)`);
    lease.onMessage((m) => {
      if (m.type === "event") {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m.event));
        if (m.event.type === "session.end") {
          lease.release();
          ws.close(1000);
        }
      } else if (m.type === "failed") {
        log(`[local-engine] session ${label}: recognizer failed: ${m.message}`);
        lease.release(false);
        ws.close(4000 + 11, "recognizer failed");
      }
    });
    lease.post({ type: "open", job: lease.job, interimResults: params.interimResults, wordTimestamps: params.wordTimestamps });
    ws.on("message", (data, isBinary) => {
      if (ended) return;
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (isBinary) return lease.post({ type: "audio", bytes: new Uint8Array(buf) });
      let type: unknown;
      try {
        type = (JSON.parse(buf.toString("utf8")) as { type?: unknown }).type;
      } catch {
        type = undefined;
      }
      if (type === "flush") lease.post({ type: "flush" });
      else if (type === "end") {
        ended = true;
        lease.post({ type: "end" });
      } else if (type !== "keepalive") {
        ws.send(JSON.stringify({ type: "error", code: "invalid_message", message: `${ENGINE}: expected binary PCM or {type: flush|end|keepalive}`, recoverable: true }));
      }
    });
    ws.on("close", () => {
      // A client that leaves without `end` frees its recognizer at once (release is idempotent).
      lease.release();
      log(`[local-engine] session ${label} closed`);
    });
    ws.on("error", (err) => log(`[local-engine] session ${label}: socket error: ${err.message}`));
  };

  const { port, hostPart } = await listen(server, options.port ?? 0, host);
  return {
    url: `http://${hostPart}:${port}`,
    wsUrl: `ws://${hostPart}:${port}${REALTIME_PATH}`,
    port,
    maxSessions,
    inUse: () => pool.inUse,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
    },
  };
}

/* ----------------------------------- CLI ----------------------------------- */

export const DEFAULT_CLI_PORT = 8791;

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.LOCAL_ENGINE_PORT ?? String(DEFAULT_CLI_PORT) },
      host: { type: "string", default: process.env.LOCAL_ENGINE_HOST ?? "127.0.0.1" },
      token: { type: "string", default: process.env.LOCAL_ENGINE_TOKEN ?? "" },
      "max-sessions": { type: "string", default: process.env.LOCAL_ENGINE_MAX_SESSIONS ?? String(DEFAULT_MAX_SESSIONS) },
      quiet: { type: "boolean", default: false },
    },
  });
  const port = Number(values.port);
  const missing = missingSphinxParts();
  if (missing.length > 0) {
    console.error(`local-engine: PocketSphinx is not installed (missing ${missing.join(", ")}); run: sudo apt-get install -y ${SPHINX_PACKAGES.join(" ")}`);
    process.exit(2);
  }
  try {
    const engine = await startLocalEngine({
      port,
      host: values.host,
      token: values.token,
      maxSessions: Number(values["max-sessions"]),
      log: values.quiet ? (): void => {} : (line): void => console.log(line),
    });
    // Scripts (tools/local-engine/launch.ts) wait for this exact line.
    console.log(`local-engine listening on ${engine.url} (realtime ${engine.wsUrl}, ${engine.maxSessions} sessions max)`);
    const stop = (): void => void engine.close().then(() => process.exit(0));
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  } catch (err) {
    console.error(`local-engine: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
}
