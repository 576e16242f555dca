/**
 * `npm run stream -- <file.wav> [options]`: stream a WAV file to the service
 * at real-time pace (or faster) and print what comes back. wscat cannot send
 * binary files; this can.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { parseWav, WavError, type WavInfo } from "../src/audio/wav";
import type { ServerMessage } from "../src/protocol/messages";

const HELP = `usage: npm run stream -- <file.wav> [options]

  --url <ws-url>        service base URL (default ws://127.0.0.1:8787)
  --fast                send as fast as possible instead of real time
  --speed <x>           real-time multiple, e.g. 4 (default 1)
  --frame-ms <ms>       audio per frame (default 100)
  --word-timestamps     ask for words in finals
  --no-interim          no partial results
  --language <code>     e.g. en (default auto)
  --enhance             ask for the batch enhancement and wait for it
  --cleanup             with --enhance: LLM cleanup
  --emotions            with --enhance: emotion labels
  --speakers <n>        with --enhance: number of speakers hint
  --key <api-key>       sent as Authorization: Bearer
  --json                print every message as a JSON line
  -h, --help`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string", default: process.env.TRANSCRIBE_URL ?? "ws://127.0.0.1:8787" },
    fast: { type: "boolean", default: false },
    speed: { type: "string", default: "1" },
    "frame-ms": { type: "string", default: "100" },
    "word-timestamps": { type: "boolean", default: false },
    "no-interim": { type: "boolean", default: false },
    language: { type: "string" },
    enhance: { type: "boolean", default: false },
    cleanup: { type: "boolean", default: false },
    emotions: { type: "boolean", default: false },
    speakers: { type: "string" },
    key: { type: "string", default: process.env.TRANSCRIBE_API_KEY },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help || positionals.length !== 1) {
  console.log(HELP);
  process.exit(values.help ? 0 : 2);
}

const file = positionals[0]!;
let bytes: Uint8Array;
let wav: WavInfo;
try {
  bytes = new Uint8Array(readFileSync(file));
  wav = parseWav(bytes);
} catch (err) {
  fail(err instanceof WavError ? `${file}: ${err.message}` : `cannot read ${file}: ${(err as Error).message}`);
}

const { encoding, audio } = toStreamable(wav, bytes);
const query = new URLSearchParams({ encoding, sample_rate: String(wav.sampleRate) });
if (values["word-timestamps"]) query.set("word_timestamps", "true");
if (values["no-interim"]) query.set("interim_results", "false");
if (values.language) query.set("language", values.language);
if (values.enhance) query.set("enhance_on_end", "true");
if (values.cleanup) query.set("enhance_llm_cleanup", "true");
if (values.emotions) query.set("enhance_emotions", "true");
if (values.speakers) query.set("num_speakers", values.speakers);

const base = values.url.replace(/\/$/, "");
const httpBase = base.replace(/^ws/, "http");
const headers: Record<string, string> = values.key ? { Authorization: `Bearer ${values.key}` } : {};
const ws = new WebSocket(`${base}/v1/audio/transcriptions/stream?${query}`, { headers, perMessageDeflate: false });
const tty = process.stdout.isTTY && !values.json;
let partialShown = false;

ws.on("unexpected-response", (_req, res) => {
  let body = "";
  res.on("data", (c: Buffer) => (body += c));
  res.on("end", () => {
    const detail = safeJson(body)?.error?.message ?? body;
    fail(`the service refused the session (HTTP ${res.statusCode}): ${detail}`);
  });
});
ws.on("error", (err) => fail(`cannot connect to ${base}: ${err.message} (is \`npm run dev\` running?)`));

ws.on("message", (data) => {
  const msg = JSON.parse(data.toString()) as ServerMessage;
  if (values.json) {
    console.log(JSON.stringify(msg));
  } else {
    show(msg);
  }
  if (msg.type === "session.end" && values.enhance && msg.enhancement_job_id) {
    void followEnhancement(msg.session_id).then(() => process.exit(0));
  }
});

ws.on("close", (code, reason) => {
  if (!values.enhance) {
    if (!values.json && code !== 1000) console.error(`closed: ${code} ${reason.toString()}`);
    process.exit(code === 1000 ? 0 : 1);
  }
});

ws.on("open", async () => {
  const bytesPerFrame = Math.max(1, Math.round((wav.sampleRate * Number(values["frame-ms"])) / 1000)) * bytesPerSample(encoding);
  const frameMs = (bytesPerFrame / bytesPerSample(encoding) / wav.sampleRate) * 1000;
  const speed = Number(values.speed) || 1;
  const started = performance.now();
  for (let at = 0, n = 0; at < audio.byteLength; at += bytesPerFrame, n++) {
    ws.send(audio.subarray(at, Math.min(audio.byteLength, at + bytesPerFrame)));
    if (!values.fast) {
      const due = started + ((n + 1) * frameMs) / speed;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    } else if (ws.bufferedAmount > 8 * 1024 * 1024) {
      while (ws.bufferedAmount > 1024 * 1024) await sleep(5);
    }
  }
  ws.send(JSON.stringify({ type: "end" }));
});

function show(msg: ServerMessage): void {
  const clearPartial = () => {
    if (partialShown && tty) process.stdout.write("\r\x1b[2K");
    partialShown = false;
  };
  switch (msg.type) {
    case "session.begin":
      console.log(`session ${msg.session_id} (${String(msg.config.model)}, ${encodingLabel()})`);
      return;
    case "transcript.partial":
      if (tty) {
        clearPartial();
        process.stdout.write(`\x1b[2m… ${msg.text}\x1b[0m`);
        partialShown = true;
      }
      return;
    case "transcript.final":
      clearPartial();
      console.log(`[${fmt(msg.start)} → ${fmt(msg.end)}] ${msg.text}`);
      return;
    case "warning":
      clearPartial();
      console.log(`warning ${msg.code}: ${msg.message}`);
      return;
    case "error":
      clearPartial();
      console.log(`error ${msg.code}${msg.recoverable ? "" : " (fatal)"}: ${msg.message}`);
      return;
    case "session.end":
      clearPartial();
      console.log(`\nsession ended: ${msg.total_duration.toFixed(2)} s of audio, ${msg.segments.length} segments`);
      if (msg.enhancement_job_id) console.log(`enhancement job: ${msg.enhancement_job_id}`);
      return;
    default:
      return;
  }
}

async function followEnhancement(sessionId: string): Promise<void> {
  let last = "";
  for (;;) {
    const res = await fetch(`${httpBase}/v1/audio/transcriptions/stream/${sessionId}/enhancement`, { headers });
    const body = (await res.json()) as {
      status: string;
      stage?: string | null;
      error?: { message: string };
      transcript?: EnhancedResult;
    };
    const state = `${body.status}${body.stage ? ` (${body.stage})` : ""}`;
    if (state !== last && !values.json) console.log(`enhancement: ${state}`);
    last = state;
    if (body.status === "completed") {
      if (values.json) console.log(JSON.stringify(body));
      else printEnhanced(body.transcript!);
      return;
    }
    if (body.status === "failed") fail(`enhancement failed: ${body.error?.message ?? "unknown error"}`);
    await sleep(1000);
  }
}

interface EnhancedResult {
  speakers: { id: string; name: string | null }[];
  segments: { start: number; end: number; speaker: string; text: string; emotion?: { label: string } }[];
}

function printEnhanced(result: EnhancedResult): void {
  const names = new Map(result.speakers.map((s) => [s.id, s.name ?? s.id]));
  console.log("\nenhanced transcript:");
  for (const s of result.segments) {
    const emotion = s.emotion ? ` (${s.emotion.label})` : "";
    console.log(`[${fmt(s.start)} → ${fmt(s.end)}] ${names.get(s.speaker) ?? s.speaker}${emotion}: ${s.text}`);
  }
}

/** The service takes mono s16/f32/μ-law/A-law; anything else is converted here to mono s16. */
function toStreamable(info: WavInfo, file: Uint8Array): { encoding: string; audio: Uint8Array } {
  const data = file.subarray(info.dataOffset, info.dataOffset + info.dataBytes);
  const direct: Record<string, string> = { pcm_s16le: "pcm_s16le", pcm_f32le: "pcm_f32le", mulaw: "mulaw", alaw: "alaw" };
  const format = info.format as string;
  if (info.channels === 1 && direct[format]) return { encoding: direct[format]!, audio: data };
  if (format !== "pcm_s16le" && format !== "pcm_f32le") {
    fail(`${file}: ${format} with ${info.channels} channels is not supported; convert it to mono first (e.g. sox in.wav -c 1 out.wav)`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = format === "pcm_f32le" ? 4 : 2;
  const frames = Math.floor(data.byteLength / (width * info.channels));
  const out = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let ch = 0; ch < info.channels; ch++) {
      const at = (i * info.channels + ch) * width;
      sum += width === 4 ? view.getFloat32(at, true) * 32767 : view.getInt16(at, true);
    }
    out[i] = Math.max(-32768, Math.min(32767, Math.round(sum / info.channels)));
  }
  return { encoding: "pcm_s16le", audio: new Uint8Array(out.buffer) };
}

function bytesPerSample(encoding: string): number {
  return encoding === "pcm_f32le" ? 4 : encoding === "pcm_s16le" ? 2 : 1;
}

function encodingLabel(): string {
  return `${encoding} ${wav.sampleRate} Hz${values.fast ? ", fast" : ""}`;
}

function fmt(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return `${String(m).padStart(2, "0")}:${(seconds - m * 60).toFixed(2).padStart(5, "0")}`;
}

function safeJson(text: string): { error?: { message?: string } } | null {
  try {
    return JSON.parse(text) as { error?: { message?: string } };
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
