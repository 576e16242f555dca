/**
 * The realtime engine: native protocol over one WebSocket.
 *
 * `RealtimeTranscriber` is the socket-free core (PCM bytes in, engine events
 * out), `attachRealtime` binds it to a `ws` socket together with the
 * misbehaviour controls.
 */
import type { WebSocket } from "ws";
import type { EngineEvent, ErrorMessage, TranscriptFinalMessage, Word } from "../../src/protocol/messages";
import { ERROR_CODES } from "../../src/protocol/messages";
import { scriptLine, scriptWords, spreadWords } from "./script";
import type { EmulatorControl, SessionStats } from "./types";
import { roundMs, StreamingVad, type VadEvent } from "./vad";

export const REALTIME_DEFAULT_MODEL = "emulator-realtime";
export const REALTIME_SAMPLE_RATE = 16000;
/** One partial per this much voiced region audio. */
export const PARTIAL_INTERVAL_MS = 500;
/** Partials reveal one more word of the final text per this much region audio. */
export const PARTIAL_SECONDS_PER_WORD = 0.25;
export const FINAL_CONFIDENCE = 0.9;

export interface RealtimeParams {
  model: string;
  language: string;
  interimResults: boolean;
  wordTimestamps: boolean;
  sessionId: string | null;
  /** Script line of the first region (lets a reconnecting client continue the script). */
  scriptOffset: number;
}

export type QueryResult = { ok: true; params: RealtimeParams } | { ok: false; param: string; message: string };

function parseBool(v: string | null, fallback: boolean): boolean | null {
  if (v === null) return fallback;
  const s = v.toLowerCase();
  if (s === "true" || s === "1") return true;
  if (s === "false" || s === "0") return false;
  return null;
}

/** Which model names an engine server answers to. */
export interface ModelFamily {
  defaultModel: string;
  /** Accepted names start with this. */
  prefix: string;
  /** Who is refusing, in messages ("the emulator"). */
  server: string;
}

export const EMULATOR_MODELS: ModelFamily = { defaultModel: REALTIME_DEFAULT_MODEL, prefix: "emulator", server: "the emulator" };

/** Validates the upgrade's query; anything refused here becomes HTTP 400 before the upgrade. */
export function parseRealtimeQuery(q: URLSearchParams, models: ModelFamily = EMULATOR_MODELS): QueryResult {
  const model = q.get("model") ?? models.defaultModel;
  if (!model.startsWith(models.prefix)) {
    return { ok: false, param: "model", message: `unknown model "${model}" (${models.server} serves ${models.prefix}* models)` };
  }
  const rate = q.get("sample_rate");
  if (rate !== null && rate !== String(REALTIME_SAMPLE_RATE)) {
    return { ok: false, param: "sample_rate", message: "only sample_rate=16000 is accepted" };
  }
  const encoding = q.get("encoding");
  if (encoding !== null && encoding !== "pcm_s16le") {
    return { ok: false, param: "encoding", message: "only encoding=pcm_s16le is accepted" };
  }
  const interimResults = parseBool(q.get("interim_results"), true);
  if (interimResults === null) return { ok: false, param: "interim_results", message: "expected true/false/1/0" };
  const wordTimestamps = parseBool(q.get("word_timestamps"), false);
  if (wordTimestamps === null) return { ok: false, param: "word_timestamps", message: "expected true/false/1/0" };
  const offset = q.get("script_offset");
  const scriptOffset = offset === null ? 0 : Number(offset);
  if (!Number.isInteger(scriptOffset) || scriptOffset < 0) {
    return { ok: false, param: "script_offset", message: "expected a non-negative integer" };
  }
  return {
    ok: true,
    params: {
      model,
      language: q.get("language") ?? "auto",
      interimResults,
      wordTimestamps,
      sessionId: q.get("session_id"),
      scriptOffset,
    },
  };
}

interface OpenRegion {
  start: number; // seconds
  words: string[];
  text: string;
  partials: number;
}

/** Socket-free engine: feed PCM bytes and control messages, receive engine events in order. */
export class RealtimeTranscriber {
  private readonly vad = new StreamingVad(REALTIME_SAMPLE_RATE);
  private carry: number | null = null; // odd byte left over from the previous frame
  private regionCount = 0;
  private region: OpenRegion | null = null;
  private ended = false;

  constructor(
    private readonly params: RealtimeParams,
    private readonly send: (e: EngineEvent) => void,
  ) {}

  /** Seconds of audio received (whole samples). */
  get position(): number {
    return this.vad.samplesSeen / REALTIME_SAMPLE_RATE;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  pushPcm(bytes: Uint8Array): void {
    if (this.ended || bytes.length === 0) return;
    let offset = 0;
    const total = bytes.length + (this.carry === null ? 0 : 1);
    const samples = new Int16Array(total >> 1);
    let n = 0;
    if (this.carry !== null) {
      samples[n++] = ((bytes[0]! << 8) | this.carry) << 16 >> 16;
      offset = 1;
      this.carry = null;
    }
    for (; offset + 1 < bytes.length; offset += 2) {
      samples[n++] = ((bytes[offset + 1]! << 8) | bytes[offset]!) << 16 >> 16;
    }
    if (offset < bytes.length) this.carry = bytes[offset]!;
    this.vad.push(samples, this.onVad);
  }

  /** Finalize an open region now, at the current audio position. */
  flush(): void {
    if (this.ended) return;
    this.vad.finalize(this.onVad);
  }

  /** Finalize, then announce the end. The caller closes the socket. */
  end(): void {
    if (this.ended) return;
    this.vad.finalize(this.onVad);
    this.ended = true;
    this.send({ type: "session.end" });
  }

  sendError(code: ErrorMessage["code"], message: string): void {
    this.send({ type: "error", code, message, recoverable: true });
  }

  private readonly onVad = (e: VadEvent): void => {
    const sec = (samples: number): number => samples / REALTIME_SAMPLE_RATE;
    if (e.type === "start") {
      const text = scriptLine(this.params.scriptOffset + this.regionCount++);
      this.region = { start: sec(e.start), words: scriptWords(text), text, partials: 0 };
      this.send({ type: "vad.speech_start", timestamp: roundMs(sec(e.start)) });
    } else if (e.type === "voiced") {
      const r = this.region;
      if (!r || !this.params.interimResults) return;
      const voicedEnd = sec(e.voicedEnd);
      // Frames are 20 ms, so at most one 500 ms boundary is crossed per event.
      if (voicedEnd - r.start + 1e-9 >= ((r.partials + 1) * PARTIAL_INTERVAL_MS) / 1000) this.partial(r, voicedEnd);
    } else {
      const r = this.region;
      if (!r) return;
      const end = sec(e.end);
      if (this.params.interimResults && r.partials === 0) this.partial(r, end);
      const start = roundMs(r.start);
      const endMs = roundMs(end);
      const final: TranscriptFinalMessage = {
        type: "transcript.final",
        text: r.text,
        start,
        end: endMs,
        confidence: FINAL_CONFIDENCE,
      };
      if (this.params.wordTimestamps) {
        final.words = spreadWords(r.text, start, endMs).map(
          (w): Word => ({ word: w.word, start: w.start, end: w.end, confidence: FINAL_CONFIDENCE }),
        );
      }
      this.send(final);
      this.send({ type: "vad.speech_end", timestamp: endMs });
      this.region = null;
    }
  };

  private partial(r: OpenRegion, end: number): void {
    const count = Math.min(r.words.length, Math.max(1, Math.floor((end - r.start) / PARTIAL_SECONDS_PER_WORD)));
    r.partials++;
    this.send({
      type: "transcript.partial",
      text: r.words.slice(0, count).join(" "),
      start: roundMs(r.start),
      end: roundMs(end),
    });
  }
}

/**
 * Outbound queue: every message leaves `resultDelayMs` after it was produced,
 * never before an earlier one, and the close waits for the messages before it.
 */
class Outbox {
  private readonly queue: Array<{ due: number; data: string | null; close?: number }> = [];
  private lastDue = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly delayMs: () => number,
  ) {}

  send(data: string): void {
    this.push({ due: 0, data });
  }

  close(code: number): void {
    this.push({ due: 0, data: null, close: code });
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }

  private push(item: { due: number; data: string | null; close?: number }): void {
    item.due = Math.max(Date.now() + Math.max(0, this.delayMs()), this.lastDue);
    this.lastDue = item.due;
    this.queue.push(item);
    this.pump();
  }

  private readonly pump = (): void => {
    this.timer = null;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) {
      const item = this.queue.shift()!;
      if (this.ws.readyState !== this.ws.OPEN) continue;
      if (item.data !== null) this.ws.send(item.data);
      else this.ws.close(item.close);
    }
    if (this.queue.length > 0 && !this.timer) this.timer = setTimeout(this.pump, this.queue[0]!.due - now);
  };
}

export interface RealtimeContext {
  control: EmulatorControl;
  /** Looked up on every use so a stats reset starts counting afresh. */
  stats: () => SessionStats;
  label: string;
  log: (line: string) => void;
  onDropped: () => void;
  /** Every audio frame as received, so tests can hash what reached the engine. */
  onAudio?: (frame: Buffer) => void;
}

/** Binds a transcriber to an accepted socket. */
export function attachRealtime(ws: WebSocket, params: RealtimeParams, ctx: RealtimeContext): void {
  const { control, log, label } = ctx;
  // Read once: the switch applies to connections opened after it was set.
  const dropAfter = control.dropAfterBytes;
  const outbox = new Outbox(ws, () => control.resultDelayMs);
  const engine = new RealtimeTranscriber(params, (e) => outbox.send(JSON.stringify(e)));
  let received = 0;
  let dropped = false;

  ws.on("message", (data, isBinary) => {
    // ws keeps parsing frames that arrived in the same TCP read after terminate().
    if (dropped) return;
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) {
      received += buf.length;
      const stats = ctx.stats();
      stats.bytesReceived += buf.length;
      stats.framesReceived++;
      ctx.onAudio?.(buf);
      if (dropAfter !== null && received >= dropAfter) {
        log(`[emulator] ${label}: dropping connection after ${received} bytes (dropAfterBytes=${dropAfter})`);
        dropped = true;
        ctx.onDropped();
        outbox.dispose();
        ws.terminate(); // destroys the TCP socket: no close frame, like a crashed engine
        return;
      }
      engine.pushPcm(buf);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(buf.toString("utf8"));
    } catch {
      msg = null;
    }
    const type = typeof msg === "object" && msg !== null ? (msg as { type?: unknown }).type : undefined;
    if (type === "flush") {
      ctx.stats().flushes++;
      engine.flush();
    } else if (type === "end") {
      ctx.stats().ends++;
      if (!engine.isEnded) {
        engine.end();
        outbox.close(1000);
        log(`[emulator] ${label}: end after ${engine.position.toFixed(3)} s of audio`);
      }
    } else if (type === "keepalive") {
      ctx.stats().keepalives++;
    } else {
      engine.sendError(ERROR_CODES.invalidMessage, "emulator: expected binary PCM or {type: flush|end|keepalive}");
    }
  });
  ws.on("close", () => outbox.dispose());
  ws.on("error", (err) => log(`[emulator] ${label}: socket error: ${err.message}`));
}
