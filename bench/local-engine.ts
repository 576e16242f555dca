/**
 * Section 7: the local speech engine (tools/local-engine), measured directly
 * (no worker in between): batch real-time factor and WER, streaming latency
 * from audio to partial/final at 1 session and at the engine's session limit,
 * CPU per audio second, memory per session, WER of the live finals.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import type { SpeechFixture } from "../tools/fixtures/make-speech";
import { launchLocalEngine } from "../tools/local-engine/launch";
import { DEFAULT_MAX_SESSIONS, LOCAL_MODEL } from "../tools/local-engine/server";
import { wordErrorRate } from "../tools/local-engine/wer";
import { fmt, summarize, table, type Summary } from "./stats";
import { CLK_TCK, contentionBetween, contentionMark, cpuTicks, ownPgid, rssKb } from "./sys";
import { sleep } from "./tracker";

const FIXTURES = path.resolve(import.meta.dirname, "../test/fixtures/speech");
const FIXTURE_NAMES = ["conversation", "monologue"];
const FRAME_MS = 100;
const FRAME_BYTES = (16000 * 2 * FRAME_MS) / 1000;

export interface BatchRun {
  fixture: string;
  audioS: number;
  wallMs: number;
  wer: number;
  speakers: number;
  expectedSpeakers: number;
}

export interface StreamRun {
  sessions: number;
  audioS: number;
  partial: Summary;
  final: Summary;
  /** Engine process CPU seconds per second of audio (all sessions). */
  cpuPerAudioS: number;
  rssMaxKb: number;
  werMean: number;
  refused: number;
  /** Share of the machine's CPU used by processes outside the benchmark meanwhile (0..1). */
  otherLoad: number;
}

export interface LocalEngineResult {
  limit: number;
  rssIdleKb: number;
  batch: BatchRun[];
  stream: StreamRun[];
}

function fixture(name: string): { meta: SpeechFixture; wav: Buffer } {
  return {
    meta: JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as SpeechFixture,
    wav: readFileSync(path.join(FIXTURES, `${name}.wav`)),
  };
}

async function batchRun(url: string, name: string): Promise<BatchRun> {
  const { meta, wav } = fixture(name);
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(wav)], { type: "audio/wav" }), `${name}.wav`);
  form.append("model_id", LOCAL_MODEL);
  form.append("diarize", "true");
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/speech-to-text`, { method: "POST", body: form });
  const body = (await res.json()) as { text: string; words: Array<{ type: string; speaker_id: string }> };
  const wallMs = performance.now() - t0;
  if (!res.ok) throw new Error(`batch ${name}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return {
    fixture: name,
    audioS: meta.duration,
    wallMs,
    wer: wordErrorRate(meta.text, body.text),
    speakers: new Set(body.words.filter((w) => w.type === "word").map((w) => w.speaker_id)).size,
    expectedSpeakers: Object.keys(meta.speakers).length,
  };
}

interface SessionOutcome {
  partialMs: number[];
  finalMs: number[];
  text: string;
  refused: boolean;
}

/** One session at real-time pace; latency = result arrival − send time of the frame holding the result's `end`. */
async function streamSession(wsUrl: string, pcm: Uint8Array, label: string): Promise<SessionOutcome> {
  const ws = new WebSocket(`${wsUrl}?model=${LOCAL_MODEL}&session_id=${label}`, { perMessageDeflate: false });
  const opened = await new Promise<boolean>((resolve) => {
    ws.once("open", () => resolve(true));
    ws.once("unexpected-response", () => resolve(false));
    ws.once("error", () => resolve(false));
  });
  if (!opened) return { partialMs: [], finalMs: [], text: "", refused: true };
  const sentAt: number[] = [];
  const out: SessionOutcome = { partialMs: [], finalMs: [], text: "", refused: false };
  const finals: string[] = [];
  const latency = (end: number): number => performance.now() - sentAt[Math.min(sentAt.length - 1, Math.floor((end * 1000) / FRAME_MS))]!;
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { type: string; text?: string; end?: number };
    if (m.type === "transcript.partial") out.partialMs.push(latency(m.end!));
    if (m.type === "transcript.final") {
      out.finalMs.push(latency(m.end!));
      finals.push(m.text!);
    }
  });
  const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
  const t0 = performance.now();
  for (let k = 0; k * FRAME_BYTES < pcm.length; k++) {
    const due = t0 + k * FRAME_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    sentAt.push(performance.now());
    ws.send(pcm.subarray(k * FRAME_BYTES, (k + 1) * FRAME_BYTES));
  }
  ws.send(JSON.stringify({ type: "end" }));
  await closed;
  out.text = finals.join(" ");
  return out;
}

export async function localEngineBench(log: (line: string) => void): Promise<LocalEngineResult> {
  const limit = DEFAULT_MAX_SESSIONS;
  const engine = await launchLocalEngine({ maxSessions: limit, log });
  try {
    await sleep(2000);
    const rssIdleKb = rssKb(engine.pid);
    const batch: BatchRun[] = [];
    for (const name of FIXTURE_NAMES) {
      await batchRun(engine.url, name); // warm-up: first decode pages the model in
      const run = await batchRun(engine.url, name);
      batch.push(run);
      log(`local engine batch ${name}: ${fmt(run.wallMs, 0)} ms for ${fmt(run.audioS, 1)} s (RTF ${fmt(run.wallMs / 1000 / run.audioS, 3)}), WER ${fmt(run.wer * 100, 1)} %, ${run.speakers} speakers`);
    }

    const fixtures = FIXTURE_NAMES.map(fixture);
    const reference = fixtures.map((f) => f.meta.text).join(" ");
    const pcm = Buffer.concat(fixtures.map((f) => f.wav.subarray(44)));
    const audioS = pcm.length / 32000;
    const stream: StreamRun[] = [];
    // The engine runs in its own process group (its pid).
    const mine = new Set([ownPgid(), engine.pid]);
    for (const sessions of [1, limit]) {
      const mark = contentionMark(mine);
      const ticks0 = cpuTicks(engine.pid);
      let rssMaxKb = rssKb(engine.pid);
      const sampler = setInterval(() => (rssMaxKb = Math.max(rssMaxKb, rssKb(engine.pid))), 500);
      const outcomes = await Promise.all(Array.from({ length: sessions }, (_, i) => streamSession(engine.wsUrl, pcm, `bench-${sessions}-${i}`)));
      clearInterval(sampler);
      const cpuS = (cpuTicks(engine.pid) - ticks0) / CLK_TCK;
      const ok = outcomes.filter((o) => !o.refused);
      const run: StreamRun = {
        sessions,
        audioS,
        partial: summarize(ok.flatMap((o) => o.partialMs)),
        final: summarize(ok.flatMap((o) => o.finalMs)),
        cpuPerAudioS: cpuS / (audioS * Math.max(1, ok.length)),
        rssMaxKb,
        werMean: ok.reduce((s, o) => s + wordErrorRate(reference, o.text), 0) / Math.max(1, ok.length),
        refused: outcomes.length - ok.length,
        otherLoad: contentionBetween(mark, contentionMark(mine)).otherShare,
      };
      stream.push(run);
      log(
        `local engine stream ×${sessions}: partial p50/p99 ${fmt(run.partial.p50, 0)}/${fmt(run.partial.p99, 0)} ms, final p50/p99 ${fmt(run.final.p50, 0)}/${fmt(run.final.p99, 0)} ms, ` +
          `CPU ${fmt(run.cpuPerAudioS, 3)} s per audio-s per session, RSS max ${fmt(run.rssMaxKb / 1024, 0)} MiB, WER ${fmt(run.werMean * 100, 1)} %, other load ${fmt(run.otherLoad * 100, 0)} %`,
      );
      await sleep(1000);
    }
    return { limit, rssIdleKb, batch, stream };
  } finally {
    await engine.stop();
  }
}

export function renderLocalEngine(r: LocalEngineResult | null): string {
  const head = `## 8. Local speech engine (PocketSphinx)

**How measured.** \`tools/local-engine\` started as its own process (as \`npm run dev\` starts it), with its
default limit of ${r?.limit ?? DEFAULT_MAX_SESSIONS} concurrent sessions, driven directly (no worker in between) with the committed flite
fixtures (test/fixtures/speech: a two-voice conversation and a monologue). **Batch**: each file posted to
\`/v1/speech-to-text\` with diarization, after one warm-up post; RTF = wall time / audio duration. **Streaming**:
both files back to back as one session, sent at real-time pace in ${FRAME_MS} ms frames; latency = arrival of a
partial/final − send time of the frame that holds the result's \`end\`. A final waits for the endpointer's
300 ms of silence, so audio-to-final includes that on purpose: it is what a client sees. CPU is the engine
process's (all threads) per second of audio per session; WER compares the joined finals with the reference
text (normalised: lower case, no punctuation). "Other load": share of the machine's CPU used meanwhile by
processes outside the benchmark. A recognizer that gets less CPU than real time needs falls behind, and
every later result waits for it: latency then grows with the length of the session, not by a constant.
`;
  if (!r) return `${head}\nNot measured (see Errors).\n`;
  const per = r.stream.length === 2 && r.limit > 1 ? (r.stream[1]!.rssMaxKb - r.stream[0]!.rssMaxKb) / (r.limit - 1) : NaN;
  return [
    head,
    table(
      ["Batch file", "Audio (s)", "Wall (ms)", "RTF", "WER", "Speakers found / voices"],
      r.batch.map((b) => [b.fixture, fmt(b.audioS, 1), fmt(b.wallMs, 0), fmt(b.wallMs / 1000 / b.audioS, 3), `${fmt(b.wer * 100, 1)} %`, `${b.speakers} / ${b.expectedSpeakers}`]),
    ),
    "",
    table(
      ["Sessions", "Audio per session (s)", "Partial p50 / p99 (ms)", "Final p50 / p99 (ms)", "CPU-s per audio-s per session", "Engine RSS max (MiB)", "Live WER (mean)", "Refused", "Other load"],
      r.stream.map((s) => [
        String(s.sessions),
        fmt(s.audioS, 1),
        `${fmt(s.partial.p50, 0)} / ${fmt(s.partial.p99, 0)}`,
        `${fmt(s.final.p50, 0)} / ${fmt(s.final.p99, 0)}`,
        fmt(s.cpuPerAudioS, 3),
        fmt(s.rssMaxKb / 1024, 0),
        `${fmt(s.werMean * 100, 1)} %`,
        String(s.refused),
        `${fmt(s.otherLoad * 100, 0)} %`,
      ]),
    ),
    "",
    `Engine RSS idle (one recognizer loaded and waiting): ${fmt(r.rssIdleKb / 1024, 0)} MiB. Memory per additional session ` +
      `(RSS at ${r.limit} sessions − RSS at 1, over ${r.limit - 1}): ${fmt(per / 1024, 0)} MiB.`,
    "",
  ].join("\n");
}
