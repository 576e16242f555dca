/**
 * Real speech through the whole local stack, with the local PocketSphinx
 * engine as realtime and batch engine (the shared e2e stack keeps the
 * emulator for exact assertions). Fixtures: flite voices, committed WAVs with
 * their reference text (tools/fixtures/make-speech.ts).
 *
 * The engine's session limit is set to 1 here, so the refusal beyond the
 * limit is reached with two sessions.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpeechFixture } from "../../tools/fixtures/make-speech";
import { wordErrorRate } from "../../tools/local-engine/wer";
import { findFreePort } from "../../tools/stack/redis";
import { startStack, type Stack } from "../../tools/stack/stack";
import { streamUrl } from "../helpers/e2e";
import { eventually, getJson } from "../helpers/http";
import { connect, sendInFrames, type Client } from "../helpers/ws-client";

/** The bar for both the live finals and the enhanced transcript. */
const MAX_WER = 0.3;
/** Word times may stretch this far beyond a turn's synthesized audio (decoder frames, flite's own silence). */
const SLACK_S = 0.25;
const FRAME_BYTES = 3200; // 100 ms

let stack: Stack;
const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/speech");
const load = (name: string) => ({
  meta: JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as SpeechFixture,
  pcm: new Uint8Array(readFileSync(path.join(FIXTURES, `${name}.wav`)).subarray(44)),
});

interface EnhancedTranscript {
  segments: Array<{ start: number; end: number; speaker: string; text: string; raw_text?: string; words: Array<{ word: string; start: number; end: number; speaker: string }> }>;
  speakers: Array<{ id: string; name: string | null }>;
}

beforeAll(async () => {
  stack = await startStack({
    port: await findFreePort(),
    engine: "local",
    localEngineMaxSessions: 1,
    vars: { CLIENT_GONE_GRACE_SECONDS: "2", MAX_MESSAGES_PER_SECOND: "1000000" },
    log: (line) => {
      if (/error|fail/i.test(line) && !line.startsWith("[redis]")) process.stderr.write(`${line}\n`);
    },
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const open = (query: string) => connect(streamUrl(stack.wsUrl, `word_timestamps=true&${query}`));

async function finish(client: Client) {
  await client.sendJson({ type: "end" });
  return client.next("session.end", 120_000);
}

const finals = (client: Client) => client.messages.flatMap((m) => (m.type === "transcript.final" ? [m] : []));

async function enhanced(sessionId: string): Promise<EnhancedTranscript> {
  const url = `${stack.url}/v1/audio/transcriptions/stream/${sessionId}/enhancement`;
  const done = await eventually(async () => {
    const r = await getJson<{ status: string; transcript?: EnhancedTranscript; error?: unknown }>(url);
    if (r.body.status === "failed") throw new Error(`enhancement failed: ${JSON.stringify(r.body.error)}`);
    return r.body.status === "completed" ? r.body : undefined;
  }, 150_000, 500);
  return done.transcript!;
}

/** True when [start, end] lies inside one of the fixture's turns (with SLACK_S). */
function insideSpeech(meta: SpeechFixture, start: number, end: number): boolean {
  return meta.turns.some((t) => start >= t.start - SLACK_S && end <= t.end + SLACK_S);
}

describe("real speech through the local stack (PocketSphinx)", () => {
  it("conversation: live finals and the enhanced transcript within WER 30 %, two speakers with their names", async () => {
    const { meta, pcm } = load("conversation");
    const client = await open("enhance_on_end=true&enhance_llm_cleanup=true");
    const begin = await client.next("session.begin");
    await sendInFrames(client, pcm, FRAME_BYTES);
    const end = await finish(client);

    const live = finals(client);
    expect(wordErrorRate(meta.text, live.map((f) => f.text).join(" "))).toBeLessThanOrEqual(MAX_WER);
    for (const f of live) {
      expect(insideSpeech(meta, f.start, f.end), `final "${f.text}" at ${f.start}–${f.end}`).toBe(true);
      for (const w of f.words ?? []) expect(insideSpeech(meta, w.start, w.end), `word ${w.word} at ${w.start}`).toBe(true);
    }
    expect(end.enhancement_job_id).toMatch(/^job_/);

    const result = await enhanced(begin.session_id);
    const rawText = result.segments.map((s) => s.raw_text ?? s.text).join(" ");
    expect(wordErrorRate(meta.text, rawText)).toBeLessThanOrEqual(MAX_WER);
    for (const s of result.segments) for (const w of s.words) expect(insideSpeech(meta, w.start, w.end), `word ${w.word} at ${w.start}`).toBe(true);

    // Two voices, two speakers, each turn's words labelled with its voice's speaker.
    expect(result.speakers).toHaveLength(2);
    const speakerOfTurn = meta.turns.map((t) => {
      const words = result.segments.flatMap((s) => s.words).filter((w) => w.start >= t.start - SLACK_S && w.end <= t.end + SLACK_S);
      expect(words.length).toBeGreaterThan(0);
      expect(new Set(words.map((w) => w.speaker)).size).toBe(1);
      return words[0]!.speaker;
    });
    meta.turns.forEach((t, i) => meta.turns.forEach((u, j) => expect(speakerOfTurn[i] === speakerOfTurn[j]).toBe(t.speaker === u.speaker)));
    // Names from what was said ("my name is john", "my name is mary").
    for (const [key, speaker] of Object.entries(meta.speakers)) {
      const id = speakerOfTurn[meta.turns.findIndex((t) => t.speaker === key)];
      expect(result.speakers.find((s) => s.id === id)?.name).toBe(speaker.name);
    }
  });

  it("monologue: one speaker, live and enhanced within WER 30 %", async () => {
    const { meta, pcm } = load("monologue");
    const client = await open("enhance_on_end=true");
    const begin = await client.next("session.begin");
    await sendInFrames(client, pcm, FRAME_BYTES);
    await finish(client);
    expect(wordErrorRate(meta.text, finals(client).map((f) => f.text).join(" "))).toBeLessThanOrEqual(MAX_WER);
    const result = await enhanced(begin.session_id);
    expect(wordErrorRate(meta.text, result.segments.map((s) => s.text).join(" "))).toBeLessThanOrEqual(MAX_WER);
    expect(result.speakers).toHaveLength(1);
  });

  it("flush and end mid-utterance still return the words spoken so far", async () => {
    const { meta, pcm } = load("conversation");
    const bytesAt = (seconds: number) => Math.round(seconds * 16000) * 2;
    const [first, , , last] = meta.turns;
    const client = await open("");
    await client.next("session.begin");

    // Flush in the middle of the first turn ("hello my name is john"), with no silence after it.
    await sendInFrames(client, pcm.subarray(0, bytesAt(first!.start + (first!.end - first!.start) * 0.8)), FRAME_BYTES);
    await client.sendJson({ type: "flush" });
    const flushed = await client.next("transcript.final", 60_000);
    expect(flushed.text).toMatch(/hello|my|name/);

    // End in the middle of the last turn ("i am fine thank you the weather is very nice").
    await sendInFrames(client, pcm.subarray(bytesAt(first!.start + (first!.end - first!.start) * 0.8), bytesAt(last!.start + (last!.end - last!.start) * 0.6)), FRAME_BYTES);
    const end = await finish(client);
    const lastFinal = finals(client).at(-1)!;
    expect(lastFinal.start).toBeGreaterThanOrEqual(last!.start - SLACK_S);
    expect(lastFinal.text).toMatch(/fine|thank/);
    expect(end.transcript).toContain(lastFinal.text);
  });

  it("beyond the engine's session limit: engine_unavailable, and the session still records", async () => {
    const { pcm } = load("monologue");
    const holder = await open("");
    await holder.next("session.begin");
    await sendInFrames(holder, pcm.subarray(0, 32000), FRAME_BYTES);
    // The holder's recognizer is working on its audio (so it holds the only slot) once speech is detected.
    await holder.next("vad.speech_start", 60_000);

    const refused = await open("");
    const begin = await refused.next("session.begin");
    const error = await refused.next("error", 60_000);
    expect(error).toMatchObject({ code: "engine_unavailable", recoverable: true });
    await sendInFrames(refused, pcm.subarray(0, 64000), FRAME_BYTES);
    const end = await finish(refused);
    expect(end.total_duration).toBeCloseTo(2, 1);
    await eventually(async () => (await fetch(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}/audio`)).status === 200, 60_000);
    await finish(holder);
  });
});
