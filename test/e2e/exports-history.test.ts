/**
 * Caption/text exports and session history against the real stack (README
 * "Exports", "Session history"). Every format is parsed with well-kept
 * subtitle parsers (`subtitle` for SRT and WebVTT, the W3C-validator-based
 * `webvtt-parser` for strict WebVTT with voice spans) and round-trips; the
 * history is walked page by page across more sessions than one page holds.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseSync, stringifySync, type NodeCue } from "subtitle";
import { WebVTTParser } from "webvtt-parser";
import HTML_ENTITIES from "webvtt-parser/html-entities.json";
import { CAPTION_RULES } from "../../src/exports/captions";
import type { EnhancedTranscript } from "../../src/pipeline/result";
import { conversation, pcmBytes } from "../../tools/fixtures/synth";
import { service, wsUrl, STREAM_PATH } from "../helpers/e2e";
import { eventually, getJson } from "../helpers/http";
import { connect, sendInFrames } from "../helpers/ws-client";

const speech = () =>
  pcmBytes(conversation({ turns: [{ f0: 110, seconds: 1.5 }, { f0: 220, seconds: 1.5 }, { f0: 110, seconds: 1.2 }], gapSeconds: 0.6 }));

async function session(query: string): Promise<{ sessionId: string; jobId: string | null }> {
  const client = await connect(wsUrl(query));
  const begin = await client.next("session.begin");
  await sendInFrames(client, speech(), 3200);
  await client.sendJson({ type: "end", await_enhancement: query.includes("enhance_on_end=true") });
  const end = await client.next("session.end", 30_000);
  if (end.enhancement_job_id) await client.next("enhancement.completed", 60_000);
  await client.closed;
  return { sessionId: begin.session_id, jobId: end.enhancement_job_id };
}

interface Download {
  status: number;
  type: string | null;
  disposition: string | null;
  text: string;
}
const download = async (url: string): Promise<Download> => {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type"), disposition: res.headers.get("content-disposition"), text: await res.text() };
};

const cuesOf = (text: string) => parseSync(text).filter((n): n is NodeCue => n.type === "cue").map((n) => n.data);

/** What every caption must satisfy (README "Exports"). */
function expectReadable(cues: { start: number; end: number; text: string }[], stripName: (line: string) => string) {
  expect(cues.length).toBeGreaterThan(0);
  for (const cue of cues) {
    const lines = cue.text.split("\n");
    expect(lines.length).toBeLessThanOrEqual(CAPTION_RULES.maxLines);
    for (const line of lines) expect(stripName(line).length, line).toBeLessThanOrEqual(CAPTION_RULES.maxLineChars);
    expect(cue.end).toBeGreaterThanOrEqual(cue.start);
    expect(cue.end - cue.start).toBeLessThanOrEqual(CAPTION_RULES.maxSeconds * 1000);
  }
  for (let i = 1; i < cues.length; i++) expect(cues[i]!.start).toBeGreaterThanOrEqual(cues[i - 1]!.start);
}

let enhanced: { sessionId: string; jobId: string };
let result: EnhancedTranscript;
const names = () => new Set(result.speakers.map((s, i) => s.name ?? `Speaker ${Number(/\d+$/.exec(s.id)?.[0] ?? i) + 1}`));

beforeAll(async () => {
  const s = await session("enhance_on_end=true&word_timestamps=true");
  enhanced = { sessionId: s.sessionId, jobId: s.jobId! };
  result = (await getJson<EnhancedTranscript>(`${service()}/v1/audio/transcriptions/${enhanced.jobId}`)).body;
});

describe("exports (e2e)", () => {
  it("SRT: parses, round-trips, names speakers, keeps the splitting rules; headers for a download", async () => {
    const srt = await download(`${service()}${STREAM_PATH}/${enhanced.sessionId}/transcript?version=enhanced&format=srt`);
    expect(srt.status).toBe(200);
    expect(srt.type).toBe("application/x-subrip; charset=utf-8");
    expect(srt.disposition).toBe(`attachment; filename="${enhanced.sessionId}.enhanced.srt"`);
    expect(srt.text).toMatch(/^1\n\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}\n/);
    const cues = cuesOf(srt.text);
    const named = [...names()];
    expectReadable(cues, (line) => line.replace(new RegExp(`^(${named.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")}): `), ""));
    for (const cue of cues) expect(named.some((n) => cue.text.startsWith(`${n}: `)), cue.text).toBe(true);
    // Round trip: the parser's own serialization of what it read is the file we served.
    expect(stringifySync(parseSync(srt.text), { format: "SRT" }).trim()).toBe(srt.text.trim());
    // Every word of the transcript is in the captions, in order.
    const words = cues.map((c) => c.text.replace(/^[^:\n]+: /, "")).join(" ").split(/\s+/);
    expect(words).toEqual(result.segments.flatMap((s) => s.text.split(/\s+/)).filter(Boolean));
    // The same captions from the job endpoint.
    const fromJob = await download(`${service()}/v1/audio/transcriptions/${enhanced.jobId}?format=srt`);
    expect(fromJob.text).toBe(srt.text);
    expect(fromJob.disposition).toBe(`attachment; filename="${enhanced.jobId}.srt"`);
  });

  it("WebVTT: valid for the W3C-based parser, voice spans name the speakers, round-trips", async () => {
    const vtt = await download(`${service()}/v1/audio/transcriptions/${enhanced.jobId}?format=vtt`);
    expect(vtt.status).toBe(200);
    expect(vtt.type).toBe("text/vtt; charset=utf-8");
    expect(vtt.text.startsWith("WEBVTT\n\n")).toBe(true);
    const strict = new WebVTTParser(HTML_ENTITIES).parse(vtt.text, "metadata") as {
      cues: { startTime: number; endTime: number; tree: { children: { name?: string; value?: string; children?: { value: string }[] }[] } }[];
      errors: unknown[];
    };
    expect(strict.errors).toEqual([]);
    const voices = strict.cues.map((c) => c.tree.children.find((n) => n.name === "v")?.value);
    expect(voices.every((v) => v !== undefined && names().has(v))).toBe(true);
    const cues = cuesOf(vtt.text);
    expect(cues.map((c) => [c.start, c.end])).toEqual(strict.cues.map((c) => [Math.round(c.startTime * 1000), Math.round(c.endTime * 1000)]));
    expectReadable(cues.map((c) => ({ ...c, text: c.text.replace(/<\/?v[^>]*>/g, "") })), (l) => l);
    expect(stringifySync(parseSync(vtt.text), { format: "WebVTT" }).trim()).toBe(vtt.text.trim());
    // SRT and WebVTT carry the same cues.
    const srt = cuesOf((await download(`${service()}/v1/audio/transcriptions/${enhanced.jobId}?format=srt`)).text);
    expect(cues.map((c) => [c.start, c.end])).toEqual(srt.map((c) => [c.start, c.end]));
  });

  it("TXT and JSON, live and enhanced; 409 before a version exists, 400 for an unknown format", async () => {
    const txt = await download(`${service()}${STREAM_PATH}/${enhanced.sessionId}/transcript?format=txt`);
    expect(txt.type).toBe("text/plain; charset=utf-8");
    // Default version: enhanced. One line per segment, named.
    const nameOf = new Map(result.speakers.map((s) => [s.id, s.name ?? `Speaker ${Number(/\d+$/.exec(s.id)![0]) + 1}`]));
    expect(txt.text).toBe(result.segments.map((s) => `${nameOf.get(s.speaker)}: ${s.text}`).join("\n") + "\n");

    const json = await download(`${service()}${STREAM_PATH}/${enhanced.sessionId}/transcript?version=enhanced&format=json`);
    expect(json.type).toBe("application/json; charset=utf-8");
    expect(json.disposition).toBe(`attachment; filename="${enhanced.sessionId}.enhanced.json"`);
    expect(JSON.parse(json.text)).toMatchObject({ session_id: enhanced.sessionId, enhancement_job_id: enhanced.jobId, segments: result.segments });

    const live = await getJson<{ transcript: string; segments: { text: string }[] }>(`${service()}${STREAM_PATH}/${enhanced.sessionId}`);
    const liveJson = JSON.parse((await download(`${service()}${STREAM_PATH}/${enhanced.sessionId}/transcript?version=live`)).text) as { segments: unknown[] };
    expect(liveJson.segments).toEqual(live.body.segments);
    const liveSrt = await download(`${service()}${STREAM_PATH}/${enhanced.sessionId}/transcript?version=live&format=srt`);
    const liveCues = cuesOf(liveSrt.text);
    expectReadable(liveCues, (l) => l);
    expect(liveCues.map((c) => c.text.replace(/\n/g, " ")).join(" ")).toBe(live.body.transcript);
    const liveVtt = await download(`${service()}${STREAM_PATH}/${enhanced.sessionId}/transcript?version=live&format=vtt`);
    expect((new WebVTTParser(HTML_ENTITIES).parse(liveVtt.text, "metadata") as { errors: unknown[] }).errors).toEqual([]);
    expect((await download(`${service()}${STREAM_PATH}/${enhanced.sessionId}/transcript?version=live&format=txt`)).text.trim()).toBe(
      live.body.segments.map((s) => s.text.trim()).join("\n"),
    );

    const bad = await getJson<{ error: { param: string } }>(`${service()}/v1/audio/transcriptions/${enhanced.jobId}?format=docx`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("format");
    // A session still running has no live transcript file yet: 409, not 404.
    const running = await connect(wsUrl());
    const begin = await running.next("session.begin");
    await eventually(async () => (await fetch(`${service()}${STREAM_PATH}/${begin.session_id}`)).status === 200);
    const early = await getJson<{ error: { code: string } }>(`${service()}${STREAM_PATH}/${begin.session_id}/transcript?version=live&format=srt`);
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe("conflict");
    await running.sendJson({ type: "end" });
    await running.closed;

    const plain = await session("");
    const never = await getJson<{ error: { code: string } }>(`${service()}${STREAM_PATH}/${plain.sessionId}/transcript?version=enhanced&format=srt`);
    expect(never.status).toBe(404);
  });
});

describe("session history (e2e)", () => {
  it("lists the caller's sessions newest first, across pages, with status and enhancement", async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push((await session(i === 0 ? "enhance_on_end=true" : "")).sessionId);
    type Page = { sessions: { session_id: string; created_at: string; status: string; duration_seconds: number; enhancement: { status: string; job_id: string | null } }[]; next_cursor: string | null };
    const seen: Page["sessions"] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: Page } = await getJson<Page>(`${service()}${STREAM_PATH}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      expect(res.body.sessions.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.sessions);
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 500);
    expect(pages).toBeGreaterThanOrEqual(3);
    const ids = seen.map((s) => s.session_id);
    expect(new Set(ids).size).toBe(ids.length);
    // Newest first: mine in reverse creation order, the newest at the top.
    expect(ids.filter((id) => mine.includes(id))).toEqual([...mine].reverse());
    expect(ids[0]).toBe(mine[4]);
    const times = seen.map((s) => Date.parse(s.created_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const first = seen.find((s) => s.session_id === mine[0])!;
    expect(first.status).toBe("completed");
    expect(first.duration_seconds).toBeGreaterThan(0);
    expect(first.enhancement.status).toBe("completed");
    expect(seen.find((s) => s.session_id === mine[1])!.enhancement).toEqual({ job_id: null, status: "not_requested" });

    const badCursor = await getJson<{ error: { param: string } }>(`${service()}${STREAM_PATH}?cursor=bm9wZQ`);
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.param).toBe("cursor");
    const badLimit = await getJson<{ error: { param: string } }>(`${service()}${STREAM_PATH}?limit=1000`);
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.param).toBe("limit");
  });
});
