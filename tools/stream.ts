/**
 * `npm run stream -- <file.wav> [options]` (or `npx edge-transcribe-stream …`):
 * stream a WAV file at real-time pace (or faster), or the microphone with
 * `--mic`, to the service and print what comes back. wscat cannot send binary
 * files; this can.
 *
 * Exit codes: 0 done; 1 the service or the connection failed (refused
 * session, fatal in-band error, abnormal close, failed enhancement); 2 usage
 * (bad option, unreadable or non-WAV file, no microphone recorder).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseWav, WavError, type WavInfo } from "../src/audio/wav";
import type { ServerMessage } from "../src/protocol/messages";
import { ResumableStream, StreamClosed, StreamRefused } from "./client/resumable-stream";

const HELP = `usage: edge-transcribe-stream <file.wav> [options]
       edge-transcribe-stream --mic [options]
       (inside this repository: npm run stream -- …)

  <file.wav>            a WAV file: 16-bit, float, μ-law or A-law, 8–48 kHz (stereo is mixed down)
  --mic                 stream the microphone instead (needs SoX \`rec\` or ALSA \`arecord\`);
                        Ctrl-C ends the session gracefully, a second Ctrl-C quits
  --seconds <s>         with --mic: stop after this many seconds

  --url <url>           service base URL, ws(s):// or http(s):// (default $TRANSCRIBE_URL or ws://127.0.0.1:8787)
  --key <api-key>       sent as Authorization: Bearer (default $TRANSCRIBE_API_KEY)
  --model <name>        realtime model (default: the service's first)
  --language <code>     e.g. en (default auto)
  --word-timestamps     ask for words in finals
  --no-interim          no partial results
  --enhance             ask for the batch enhancement and wait for it on the same socket
                        (await_enhancement); if the socket is lost, poll for it instead
  --cleanup             with --enhance: LLM cleanup
  --emotions            with --enhance: emotion labels
  --speakers <n>        with --enhance: number of speakers hint

  --fast                send the file as fast as possible instead of real time
  --speed <x>           real-time multiple, e.g. 4 (default 1)
  --frame-ms <ms>       audio per frame (default 100)
  --no-resume           do not reconnect when the connection drops (by default the session is
                        resumed and the audio the service had not acknowledged is sent again)
  --json                print only JSON lines: every server message as received, then
                        {"type":"enhancement.status",…} and {"type":"enhancement",…};
                        problems go to stderr as {"type":"cli.error",…}
  -h, --help`;

/** Which option sets each query parameter, to name it in a 400. */
const PARAM_SOURCE: Record<string, string> = {
  model: "--model",
  language: "--language",
  encoding: "the WAV header",
  sample_rate: "the WAV header",
  interim_results: "--no-interim",
  word_timestamps: "--word-timestamps",
  enhance_on_end: "--enhance",
  enhance_llm_cleanup: "--cleanup",
  enhance_emotions: "--emotions",
  num_speakers: "--speakers",
  api_key: "--key",
  token: "--key",
};

const CLOSE_MEANING: Record<number, string> = {
  1001: "the service is going away (restart or deploy)",
  1006: "the connection dropped without a close frame",
  1008: "policy violation",
  1011: "the service hit an unexpected condition",
  4000: "idle timeout: nothing was sent for too long",
  4001: "maximum session length reached",
  4003: "internal error in the service",
  4004: "a newer connection took this session over",
};

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      url: { type: "string", default: process.env.TRANSCRIBE_URL ?? "ws://127.0.0.1:8787" },
      mic: { type: "boolean", default: false },
      seconds: { type: "string" },
      fast: { type: "boolean", default: false },
      speed: { type: "string", default: "1" },
      "frame-ms": { type: "string", default: "100" },
      "word-timestamps": { type: "boolean", default: false },
      "no-interim": { type: "boolean", default: false },
      model: { type: "string" },
      language: { type: "string" },
      enhance: { type: "boolean", default: false },
      cleanup: { type: "boolean", default: false },
      emotions: { type: "boolean", default: false },
      speakers: { type: "string" },
      key: { type: "string", default: process.env.TRANSCRIBE_API_KEY },
      json: { type: "boolean", default: false },
      "no-resume": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}
try {
  parsed = parse();
} catch (err) {
  usage((err as Error).message);
}
const { values, positionals } = parsed;
const json = values.json;

if (values.help) {
  console.log(HELP);
  process.exit(0);
}
if (values.mic && positionals.length > 0) usage("give either a file or --mic, not both");
if (!values.mic && positionals.length !== 1) usage(positionals.length === 0 ? "no input: give a WAV file or --mic" : "give one file at a time");
const frameMsOption = Number(values["frame-ms"]);
if (!Number.isFinite(frameMsOption) || frameMsOption < 10 || frameMsOption > 1000) usage("--frame-ms must be a number from 10 to 1000");
const speed = Number(values.speed);
if (!Number.isFinite(speed) || speed <= 0) usage("--speed must be a positive number");
const micSeconds = values.seconds === undefined ? null : Number(values.seconds);
if (micSeconds !== null && (!values.mic || !Number.isFinite(micSeconds) || micSeconds <= 0)) usage("--seconds takes a positive number and goes with --mic");
if ((values.cleanup || values.emotions || values.speakers) && !values.enhance) usage("--cleanup, --emotions and --speakers go with --enhance");

/* ------------------------------------------------------------------ */
/* The audio source                                                    */
/* ------------------------------------------------------------------ */

interface AudioSource {
  encoding: string;
  sampleRate: number;
  label: string;
  /** Calls `send` per frame, then `done` once (all audio sent, or stopped). */
  start(send: (frame: Uint8Array) => void, done: () => void): void;
  /** Stop early (Ctrl-C); `done` still follows. */
  stop(): void;
}

const source: AudioSource = values.mic ? micSource() : fileSource(positionals[0]!);

function fileSource(file: string): AudioSource {
  let bytes: Uint8Array;
  let wav: WavInfo;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (err) {
    usage(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  try {
    wav = parseWav(bytes);
  } catch (err) {
    if (!(err instanceof WavError)) throw err;
    usage(`${file}: ${err.message}. This tool streams WAV files (16-bit, float, μ-law or A-law, 8–48 kHz); convert others first, e.g. ffmpeg -i in.mp3 -ac 1 -ar 16000 out.wav`);
  }
  const { encoding, audio } = toStreamable(file, wav, bytes);
  let stopped = false;
  return {
    encoding,
    sampleRate: wav.sampleRate,
    label: `${path.basename(file)}: ${encoding} ${wav.sampleRate} Hz${values.fast ? ", fast" : speed !== 1 ? `, ${speed}× real time` : ""}`,
    stop: () => void (stopped = true),
    async start(send, done) {
      const bytesPerFrame = Math.max(1, Math.round((wav.sampleRate * frameMsOption) / 1000)) * bytesPerSample(encoding);
      const frameMs = (bytesPerFrame / bytesPerSample(encoding) / wav.sampleRate) * 1000;
      const started = performance.now();
      for (let at = 0, n = 0; at < audio.byteLength && !stopped; at += bytesPerFrame, n++) {
        send(audio.subarray(at, Math.min(audio.byteLength, at + bytesPerFrame)));
        if (!values.fast) {
          const wait = started + ((n + 1) * frameMs) / speed - performance.now();
          if (wait > 0) await sleep(wait);
        } else if (stream.bufferedAmount > 8 * 1024 * 1024) {
          while (stream.bufferedAmount > 1024 * 1024) await sleep(5);
        }
      }
      done();
    },
  };
}

/** A recorder on PATH that writes 16 kHz s16le mono raw PCM to stdout until stopped. */
function findRecorder(): { name: string; command: string; args: string[] } | null {
  const onPath = (name: string): string | null => {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
      if (!dir) continue;
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not here.
      }
    }
    return null;
  };
  const rec = onPath("rec");
  if (rec) return { name: "rec (SoX)", command: rec, args: ["-q", "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-L", "-t", "raw", "-"] };
  const arecord = onPath("arecord");
  if (arecord) return { name: "arecord (ALSA)", command: arecord, args: ["-q", "-t", "raw", "-f", "S16_LE", "-r", "16000", "-c", "1"] };
  return null;
}

function micSource(): AudioSource {
  const recorder = findRecorder();
  if (!recorder) {
    usage(
      "--mic needs a recorder on PATH: SoX's `rec` (apt install sox / brew install sox) or ALSA's `arecord` (apt install alsa-utils). " +
        "Or record a WAV file first and stream that.",
    );
  }
  let child: ChildProcess | null = null;
  let stopTimer: NodeJS.Timeout | undefined;
  /** The recorder runs in its own process group (Ctrl-C is ours to handle); stop all of it. */
  const killRecorder = (signal: NodeJS.Signals) => {
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  };
  process.on("exit", () => killRecorder("SIGKILL"));
  const mic: AudioSource = {
    encoding: "pcm_s16le",
    sampleRate: 16000,
    label: `microphone via ${recorder.name}, 16 kHz${micSeconds ? `, ${micSeconds} s` : ""}`,
    stop() {
      clearTimeout(stopTimer);
      killRecorder("SIGTERM");
    },
    start(send, done) {
      const frameBytes = Math.max(1, Math.round((16000 * frameMsOption) / 1000)) * 2;
      let pending: Buffer = Buffer.alloc(0);
      let stderr = "";
      let sent = 0;
      child = spawn(recorder.command, recorder.args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
      child.stdout!.on("data", (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        while (pending.length >= frameBytes) {
          send(pending.subarray(0, frameBytes));
          sent += frameBytes;
          pending = pending.subarray(frameBytes);
        }
      });
      child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
      child.on("error", (err) => {
        problem("recorder_failed", `${recorder.name} could not start: ${err.message}`);
        exitCode = 1;
      });
      child.on("close", (code, signal) => {
        clearTimeout(stopTimer);
        const whole = pending.length - (pending.length % 2);
        if (whole > 0) {
          send(pending.subarray(0, whole));
          sent += whole;
        }
        if (code !== 0 && signal === null && !stopping) {
          problem("recorder_failed", `${recorder.name} exited with code ${code}${stderr.trim() ? `: ${stderr.trim()}` : ""}${sent === 0 ? " (no microphone? check the input device)" : ""}`);
          exitCode = 1;
        }
        done();
      });
      if (micSeconds) stopTimer = setTimeout(() => mic.stop(), micSeconds * 1000);
    },
  };
  return mic;
}

/** The service takes mono s16/f32/μ-law/A-law; anything else is converted here to mono s16. */
function toStreamable(file: string, info: WavInfo, bytes: Uint8Array): { encoding: string; audio: Uint8Array } {
  const data = bytes.subarray(info.dataOffset, info.dataOffset + info.dataBytes);
  const direct: Record<string, string> = { pcm_s16le: "pcm_s16le", pcm_f32le: "pcm_f32le", mulaw: "mulaw", alaw: "alaw" };
  const format = info.format as string;
  if (info.channels === 1 && direct[format]) return { encoding: direct[format]!, audio: data };
  if (format !== "pcm_s16le" && format !== "pcm_f32le") {
    usage(`${file}: ${format} with ${info.channels} channels is not supported; convert it to mono first (e.g. sox in.wav -c 1 out.wav)`);
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

/* ------------------------------------------------------------------ */
/* The session                                                         */
/* ------------------------------------------------------------------ */

const query = new URLSearchParams({ encoding: source.encoding, sample_rate: String(source.sampleRate) });
if (values["word-timestamps"]) query.set("word_timestamps", "true");
if (values["no-interim"]) query.set("interim_results", "false");
if (values.model) query.set("model", values.model);
if (values.language) query.set("language", values.language);
if (values.enhance) {
  query.set("enhance_on_end", "true");
  // The enhanced result comes on this socket after session.end; polling is the fallback if it is lost.
  query.set("await_enhancement", "true");
}
if (values.cleanup) query.set("enhance_llm_cleanup", "true");
if (values.emotions) query.set("enhance_emotions", "true");
if (values.speakers) query.set("num_speakers", values.speakers);

const base = values.url.replace(/\/+$/, "").replace(/^http(s?):\/\//, "ws$1://");
if (!/^wss?:\/\/[^/]+/.test(base)) usage(`--url must be a ws://, wss://, http:// or https:// URL, not '${values.url}'`);
const httpBase = base.replace(/^ws/, "http");
const headers: Record<string, string> = values.key ? { Authorization: `Bearer ${values.key}` } : {};
const tty = process.stdout.isTTY && !json;

let exitCode = 0;
let stopping = false;
let following = false;
/** Session whose enhanced result is still owed on the socket (null: none, or it came). */
let awaiting: string | null = null;
let partialShown = false;

const stream = new ResumableStream({
  base,
  query,
  headers: () => headers,
  resume: !values["no-resume"],
  onMessage,
  onState: (state, detail) => {
    if (state === "reconnecting") problem("reconnecting", `connection lost (${detail}); reconnecting…`);
  },
  // Closed while the enhanced result was still owed (a dropped connection, or a server without push): poll.
  onClose: () => {
    if (awaiting && !following) follow(awaiting);
  },
});

stream.start().then(
  () => source.start((frame) => stream.send(frame), () => stream.end()),
  (err: unknown) => (err instanceof StreamRefused ? refused(err) : connectionFailed(err as NodeJS.ErrnoException)),
);

stream.ended.then(
  () => {
    source.stop();
    // With --enhance the socket stays open for the pushed result (onPushed), or closes into polling.
    if (!awaiting) process.exit(exitCode);
  },
  (err: unknown) => {
    source.stop();
    if (err instanceof StreamRefused && err.status === 409 && stream.sessionId) {
      // `end` got through just before the connection dropped: the session ended; its results are there.
      problem("ended_while_reconnecting", `the session ended while reconnecting; read it with GET ${httpBase}/v1/audio/transcriptions/stream/${stream.sessionId}`);
      if (values.enhance) follow(stream.sessionId);
      else process.exit(exitCode);
      return;
    }
    if (err instanceof StreamRefused) refused(err);
    if (err instanceof StreamClosed) {
      const meaning = CLOSE_MEANING[err.code] ?? (err.code === 1000 ? "closed before session.end" : "closed");
      fatal("closed", `connection closed (code ${err.code}): ${meaning}${err.reason ? ` — ${err.reason}` : ""}`, { close_code: err.code });
    }
    fatal("closed", (err as Error).message);
  },
);

function onMessage(msg: ServerMessage): void {
  if (json) console.log(JSON.stringify(msg));
  else show(msg);
  if (msg.type === "session.begin" && values.mic && !json) console.error("recording: press Ctrl-C to end the session");
  if (msg.type === "session.resumed" && !json) console.error(`reconnected: the service holds ${msg.bytes_received} bytes; sending the rest again`);
  if (msg.type === "error" && !msg.recoverable) exitCode = 1;
  if (msg.type === "session.end" && values.enhance && msg.enhancement_job_id) awaiting = msg.session_id;
  if (msg.type.startsWith("enhancement.")) onPushed(msg);
}

/** The enhanced result pushed on the socket; a timeout falls back to polling. */
function onPushed(msg: ServerMessage): void {
  if (msg.type === "enhancement.status") {
    if (!json) console.log(`enhancement: ${msg.status}${msg.stage ? ` (${msg.stage})` : ""}`);
    return;
  }
  const sessionId = awaiting;
  awaiting = null;
  if (msg.type === "enhancement.completed") {
    const body = { status: "completed", enhancement_job_id: msg.job_id, transcript: msg.transcript as EnhancedResult };
    if (json) console.log(JSON.stringify({ type: "enhancement", ...body }));
    else printEnhanced(body.transcript);
    process.exit(exitCode);
  } else if (msg.type === "enhancement.failed") {
    if (json) console.log(JSON.stringify({ type: "enhancement", status: "failed", enhancement_job_id: msg.job_id, error: msg.error }));
    fatal("enhancement_failed", `enhancement failed (${msg.error.code}): ${msg.error.message}`);
  } else if (msg.type === "enhancement.timeout" && sessionId) {
    if (!json) console.error(`${msg.message}; polling instead`);
    follow(sessionId);
  }
}

/** Poll for the enhancement (the socket was lost or the server stopped waiting), then exit. */
function follow(sessionId: string): void {
  following = true;
  void followEnhancement(sessionId).then(() => process.exit(exitCode));
}

/** The service refused the session (or its resume): say why, in terms of this tool's options. */
function refused(err: StreamRefused): never {
  const status = err.status;
  const error = safeJson(err.body)?.error;
  const message = error?.message ?? (err.body.trim() || "no details");
  const extra = { status, ...(error?.code ? { error_code: error.code } : {}), ...(error?.param ? { param: error.param } : {}) };
  if (err.phase === "resume") fatal("resume_refused", `the service refused to resume the session (HTTP ${status}): ${message}`, extra);
  if (status === 400) {
    const param = error?.param;
    const from = param && PARAM_SOURCE[param] ? ` (set by ${PARAM_SOURCE[param]})` : "";
    fatal("invalid_parameter", param ? `invalid parameter '${param}'${from}: ${message}` : `the service refused the request (HTTP 400): ${message}`, extra);
  }
  if (status === 401 || status === 403) {
    const hint = values.key ? "check --key (or TRANSCRIBE_API_KEY)" : "this service needs an API key: pass --key (or set TRANSCRIBE_API_KEY)";
    fatal(status === 401 ? "unauthorized" : "forbidden", `the service refused the credentials (HTTP ${status}): ${message}; ${hint}`, extra);
  }
  if (status === 429) fatal("rate_limited", `too many live sessions for this key (HTTP 429): ${message}`, extra);
  if (status === 404) fatal("not_found", `no stream endpoint at ${base} (HTTP 404): ${message}; check --url`, extra);
  fatal("refused", `the service refused the session (HTTP ${status}): ${message}`, extra);
}

function connectionFailed(err: NodeJS.ErrnoException): never {
  const where = `${base}`;
  switch (err.code) {
    case "ECONNREFUSED":
      fatal("connection_refused", `cannot connect to ${where}: connection refused. Is the service running (npm run dev)? Point --url elsewhere otherwise.`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      fatal("host_not_found", `cannot connect to ${where}: host not found (${err.code}); check --url`);
    case "ECONNRESET":
      fatal("connection_reset", `the connection to ${where} was reset before the session began`);
    case "ETIMEDOUT":
      fatal("timeout", `cannot connect to ${where}: timed out`);
    default:
      if (/certificate|SSL|TLS/i.test(err.message)) fatal("tls", `TLS problem talking to ${where}: ${err.message}`);
      fatal("connection_failed", `connection to ${where} failed: ${err.message}`);
  }
}

// Ctrl-C (or SIGTERM): end the session gracefully — stop the audio, send `end`, wait for `session.end`.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping || stream.state === "ended" || stream.state === "failed") process.exit(130);
    stopping = true;
    if (!json) console.error("\nending the session… (Ctrl-C again to quit now)");
    source.stop();
  });
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

function show(msg: ServerMessage): void {
  const clearPartial = () => {
    if (partialShown && tty) process.stdout.write("\r\x1b[2K");
    partialShown = false;
  };
  switch (msg.type) {
    case "session.begin":
      console.log(`session ${msg.session_id} (${String(msg.config.model)}; ${source.label})`);
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
      console.error(`warning ${msg.code}: ${msg.message}`);
      return;
    case "error":
      clearPartial();
      console.error(`error ${msg.code}${msg.recoverable ? " (the session continues)" : " (fatal)"}: ${msg.message}`);
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

interface EnhancedResult {
  speakers: { id: string; name: string | null }[];
  segments: { start: number; end: number; speaker: string; text: string; emotion?: { label: string } }[];
}

interface EnhancementBody {
  status: string;
  stage?: string | null;
  error?: { code?: string; message: string };
  transcript?: EnhancedResult;
}

async function followEnhancement(sessionId: string): Promise<void> {
  const url = `${httpBase}/v1/audio/transcriptions/stream/${sessionId}/enhancement`;
  const deadline = Date.now() + 15 * 60_000;
  let last = "";
  let failures = 0;
  for (;;) {
    if (Date.now() > deadline) fatal("enhancement_timeout", "the enhancement did not finish within 15 minutes; poll it later with curl");
    let res: Response;
    try {
      res = await fetch(url, { headers });
    } catch (err) {
      if (++failures > 10) fatal("connection_failed", `cannot reach ${httpBase} to follow the enhancement: ${(err as Error).message}`);
      await sleep(1000 * Math.min(8, 2 ** failures));
      continue;
    }
    const text = await res.text();
    if (!res.ok) {
      const message = safeJson(text)?.error?.message ?? text.slice(0, 200);
      if ((res.status >= 500 || res.status === 429) && ++failures <= 10) {
        await sleep(1000 * Math.min(8, 2 ** failures));
        continue;
      }
      if (res.status === 401 || res.status === 403) fatal("unauthorized", `cannot read the enhancement (HTTP ${res.status}): ${message}; check --key`, { status: res.status });
      fatal("enhancement_unreadable", `cannot read the enhancement (HTTP ${res.status}): ${message}`, { status: res.status });
    }
    failures = 0;
    const body = JSON.parse(text) as EnhancementBody;
    const state = `${body.status}${body.stage ? ` (${body.stage})` : ""}`;
    if (state !== last) {
      if (json) console.log(JSON.stringify({ type: "enhancement.status", status: body.status, stage: body.stage ?? null }));
      else console.log(`enhancement: ${state}`);
    }
    last = state;
    if (body.status === "completed") {
      if (json) console.log(JSON.stringify({ type: "enhancement", ...body }));
      else printEnhanced(body.transcript!);
      return;
    }
    if (body.status === "failed") {
      if (json) console.log(JSON.stringify({ type: "enhancement", ...body }));
      fatal("enhancement_failed", `enhancement failed${body.error?.code ? ` (${body.error.code})` : ""}: ${body.error?.message ?? "unknown error"}`);
    }
    await sleep(1000);
  }
}

function printEnhanced(result: EnhancedResult): void {
  const names = new Map(result.speakers.map((s) => [s.id, s.name ?? s.id]));
  console.log("\nenhanced transcript:");
  for (const s of result.segments) {
    const emotion = s.emotion ? ` (${s.emotion.label})` : "";
    console.log(`[${fmt(s.start)} → ${fmt(s.end)}] ${names.get(s.speaker) ?? s.speaker}${emotion}: ${s.text}`);
  }
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

function bytesPerSample(encoding: string): number {
  return encoding === "pcm_f32le" ? 4 : encoding === "pcm_s16le" ? 2 : 1;
}

function fmt(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return `${String(m).padStart(2, "0")}:${(seconds - m * 60).toFixed(2).padStart(5, "0")}`;
}

function safeJson(text: string): { error?: { code?: string; message?: string; param?: string } } | null {
  try {
    return JSON.parse(text) as { error?: { code?: string; message?: string; param?: string } };
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A problem worth saying that does not end the run by itself. */
function problem(code: string, message: string, extra: Record<string, unknown> = {}): void {
  if (json) console.error(JSON.stringify({ type: "cli.error", code, message, ...extra }));
  else console.error(message);
}

/** Say it and exit 1. */
function fatal(code: string, message: string, extra: Record<string, unknown> = {}): never {
  problem(code, message, extra);
  process.exit(1);
}

/** A usage problem: say it (with a pointer to --help) and exit 2. */
function usage(message: string): never {
  if (process.argv.includes("--json")) console.error(JSON.stringify({ type: "cli.error", code: "usage", message }));
  else console.error(`${message}\n(see --help)`);
  process.exit(2);
}
