/**
 * Local engine emulator: stands in for the realtime speech engine (native
 * protocol over WebSocket), the ElevenLabs-style batch speech-to-text API and an
 * OpenAI-compatible LLM. Development and tests only; see README.md.
 *
 *   npx tsx tools/emulator/server.ts --port 8790
 */
import { createHash, type Hash } from "node:crypto";
import http from "node:http";
import type { Duplex } from "node:stream";
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { WebSocketServer } from "ws";
import { listen, readBody, rejectUpgrade, sendJson } from "./http";
import { handleChatCompletion } from "./llm";
import { attachRealtime, parseRealtimeQuery } from "./realtime";
import { handleSpeechToText } from "./stt";
import {
  defaultControl,
  emptyStats,
  type EmulatorControl,
  type EmulatorStats,
  type HttpAnswer,
  type SessionStats,
} from "./types";

export type { EmulatorControl, EmulatorStats, SessionStats } from "./types";
export { EMULATOR_SCRIPT, scriptLine } from "./script";

export const REALTIME_PATH = "/v1/realtime";
export const STT_PATH = "/v1/speech-to-text";
export const CHAT_PATH = "/v1/chat/completions";
export const DEFAULT_CLI_PORT = 8790;
/** An hour of 16 kHz mono is 115 MB; leave room for stereo/48 kHz test files. */
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
const MAX_JSON_BYTES = 16 * 1024 * 1024;
/** Realtime frames above this are refused by ws (close 1009); far above any sane audio frame. */
const MAX_WS_FRAME_BYTES = 16 * 1024 * 1024;

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the emulator is never meant to be reachable from elsewhere. */
  host?: string;
  log?: (line: string) => void;
  /**
   * Benchmarks: called for every realtime audio frame as it arrives, with the
   * connection's session key (`session_id` query parameter), the frame's bytes
   * (do not keep or modify them) and `performance.now()` taken on arrival.
   * Also settable later with `handle.setFrameArrivalHook` (e.g. on an emulator
   * started by startStack).
   */
  onFrameArrival?: FrameArrivalHook;
}

export type FrameArrivalHook = (sessionKey: string, bytes: Uint8Array, tMs: number) => void;

export interface EmulatorHandle {
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT/v1/realtime */
  wsUrl: string;
  port: number;
  /** Live switches: assign fields directly (affects what happens next). */
  control: EmulatorControl;
  /** A snapshot (deep copy). */
  stats(): EmulatorStats;
  /** Controls back to defaults and counters to zero (open connections stay open). */
  reset(): void;
  /** Replaces (or with null removes) the per-frame arrival hook (see EmulatorOptions.onFrameArrival). */
  setFrameArrivalHook(hook: FrameArrivalHook | null): void;
  close(): Promise<void>;
}

/** Applies a POSTed partial control object; returns an error message or null. */
function applyControl(control: EmulatorControl, patch: unknown): string | null {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return "body must be a JSON object";
  const p = patch as Record<string, unknown>;
  const next = { ...control };
  for (const [k, v] of Object.entries(p)) {
    switch (k) {
      case "refuseConnections":
        if (typeof v !== "boolean") return `${k} must be a boolean`;
        next.refuseConnections = v;
        break;
      case "dropAfterBytes":
        if (v !== null && (typeof v !== "number" || !Number.isInteger(v) || v < 0)) return `${k} must be null or an integer >= 0`;
        next.dropAfterBytes = v;
        break;
      case "resultDelayMs":
      case "failHttpNext":
        if (typeof v !== "number" || !Number.isFinite(v) || v < 0) return `${k} must be a number >= 0`;
        next[k] = v;
        break;
      case "failHttpStatus":
        if (typeof v !== "number" || !Number.isInteger(v) || v < 100 || v > 599) return `${k} must be an HTTP status`;
        next.failHttpStatus = v;
        break;
      default:
        return `unknown control field "${k}"`;
    }
  }
  Object.assign(control, next);
  return null;
}

function emptySession(): SessionStats {
  return { connections: 0, bytesReceived: 0, framesReceived: 0, flushes: 0, ends: 0, keepalives: 0 };
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? ((): void => {});
  const control = defaultControl();
  const stats = emptyStats();
  let anonymous = 0;
  let frameArrival: FrameArrivalHook | null = opts.onFrameArrival ?? null;

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_FRAME_BYTES });
  wss.on("headers", (headers) => headers.push("X-Engine: emulator"));

  const sessionStats = (key: string): SessionStats => (stats.sessions[key] ??= emptySession());
  // Running sha256 of the audio each session's engine links received, in arrival order.
  const audioHashes = new Map<string, Hash>();

  const injectedFailure = (path: string): HttpAnswer | null => {
    if (control.failHttpNext <= 0) return null;
    control.failHttpNext--;
    const status = control.failHttpStatus;
    const message = `emulator: injected failure (HTTP ${status})`;
    log(`[emulator] ${path}: ${message}`);
    return path === STT_PATH
      ? { status, body: { detail: { status: "service_unavailable", message } } }
      : { status, body: { error: { message, type: "server_error", param: null, code: null } } };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://emulator.local");
    const path = url.pathname;
    const method = req.method ?? "GET";

    if (path.startsWith("/__emulator/")) {
      if (path === "/__emulator/stats" && method === "GET") return sendJson(res, { status: 200, body: snapshot() });
      if (path === "/__emulator/control" && method === "GET") return sendJson(res, { status: 200, body: control });
      if (path === "/__emulator/control" && method === "POST") {
        const body = await readBody(req, MAX_JSON_BYTES);
        let patch: unknown = null;
        try {
          patch = body ? JSON.parse(new TextDecoder().decode(body)) : null;
        } catch {
          patch = null;
        }
        const err = applyControl(control, patch);
        if (err) return sendJson(res, { status: 400, body: { error: { code: "invalid_request", message: `emulator: ${err}` } } });
        log(`[emulator] control: ${JSON.stringify(control)}`);
        return sendJson(res, { status: 200, body: control });
      }
      if (path === "/__emulator/reset" && method === "POST") {
        await readBody(req, MAX_JSON_BYTES);
        reset();
        return sendJson(res, { status: 200, body: { ok: true } });
      }
      return sendJson(res, { status: 404, body: { error: { code: "not_found", message: `emulator: no ${method} ${path}` } } });
    }

    stats.httpRequests[path] = (stats.httpRequests[path] ?? 0) + 1;

    if (path === "/health" && method === "GET") {
      return sendJson(res, { status: 200, body: { status: "ok", emulator: true, realtime: REALTIME_PATH, batch: STT_PATH, llm: CHAT_PATH } });
    }
    if (path === REALTIME_PATH) {
      return sendJson(res, { status: 426, body: { error: { code: "upgrade_required", message: "emulator: WebSocket upgrade required" } } });
    }
    if ((path === STT_PATH || path === CHAT_PATH) && method === "POST") {
      const body = await readBody(req, path === STT_PATH ? MAX_UPLOAD_BYTES : MAX_JSON_BYTES);
      const failure = injectedFailure(path);
      if (failure) return sendJson(res, failure);
      if (body === null) {
        return sendJson(res, path === STT_PATH
          ? { status: 413, body: { detail: { status: "file_too_large", message: "emulator: upload too large" } } }
          : { status: 413, body: { error: { message: "emulator: body too large", type: "invalid_request_error" } } });
      }
      return sendJson(res, path === STT_PATH ? await handleSpeechToText(req.headers, body) : handleChatCompletion(req.headers, body));
    }
    return sendJson(res, { status: 404, body: { error: { code: "not_found", message: `emulator: no ${method} ${path}` } } });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`[emulator] ${req.method} ${req.url}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      if (!res.headersSent) sendJson(res, { status: 500, body: { error: { code: "internal_error", message: "emulator: internal error" } } });
      else res.destroy();
    });
  });

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://emulator.local");
    if (url.pathname !== REALTIME_PATH) {
      return rejectUpgrade(socket, 404, { error: { code: "not_found", message: `emulator: no WebSocket at ${url.pathname}` } });
    }
    if (control.refuseConnections) {
      stats.connectionsRefused++;
      log(`[emulator] refusing realtime connection (refuseConnections)`);
      return rejectUpgrade(socket, 503, { error: { code: "unavailable", message: "emulator: refusing connections" } });
    }
    const parsed = parseRealtimeQuery(url.searchParams);
    if (!parsed.ok) {
      return rejectUpgrade(socket, 400, {
        error: { code: "invalid_request", message: `emulator: ${parsed.message}`, param: parsed.param },
      });
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      stats.connectionsOpened++;
      const key = parsed.params.sessionId ?? `anonymous-${++anonymous}`;
      sessionStats(key).connections++;
      log(`[emulator] realtime connection ${key} (model=${parsed.params.model})`);
      attachRealtime(ws, parsed.params, {
        control,
        stats: () => sessionStats(key),
        label: key,
        log,
        onDropped: () => stats.connectionsDropped++,
        onAudio: (frame) => {
          if (frameArrival) frameArrival(key, frame, performance.now());
          let hash = audioHashes.get(key);
          if (!hash) audioHashes.set(key, (hash = createHash("sha256")));
          hash.update(frame);
        },
      });
    });
  });

  const snapshot = (): EmulatorStats => {
    const copy = structuredClone({ ...stats, openConnections: wss.clients.size });
    for (const [key, hash] of audioHashes) if (copy.sessions[key]) copy.sessions[key].audioSha256 = hash.copy().digest("hex");
    return copy;
  };
  const reset = (): void => {
    Object.assign(control, defaultControl());
    Object.assign(stats, emptyStats());
    audioHashes.clear();
  };

  const { port, hostPart } = await listen(server, opts.port ?? 0, host);

  return {
    url: `http://${hostPart}:${port}`,
    wsUrl: `ws://${hostPart}:${port}${REALTIME_PATH}`,
    port,
    control,
    stats: snapshot,
    reset,
    setFrameArrivalHook: (hook) => {
      frameArrival = hook;
    },
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/* ----------------------------------- CLI ----------------------------------- */

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: String(DEFAULT_CLI_PORT) },
      host: { type: "string", default: "127.0.0.1" },
      quiet: { type: "boolean", default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`emulator: invalid --port ${values.port}`);
    process.exit(2);
  }
  const emu = await startEmulator({
    port,
    host: values.host,
    log: values.quiet ? (): void => {} : (line): void => console.log(line),
  });
  // Scripts wait for this exact line before starting dependants.
  console.log(`emulator listening on ${emu.url} (realtime ${emu.wsUrl})`);
  const stop = (): void => {
    void emu.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
