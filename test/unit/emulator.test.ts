import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { EngineEvent, TranscriptFinalMessage, TranscriptPartialMessage } from "../../src/protocol/messages";
import { startEmulator, type EmulatorHandle } from "../../tools/emulator/server";
import { EMULATOR_SCRIPT, scriptLine } from "../../tools/emulator/script";
import { parseWav } from "../../tools/emulator/wav";
import { cleanText } from "../../tools/emulator/llm";
import {
  concatPcm,
  conversation,
  conversationTimeline,
  pcmBytes,
  silence,
  synthVoice,
  toWav,
} from "../../tools/fixtures/synth";

let emu: EmulatorHandle;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emu.close();
});
afterEach(() => {
  emu.reset();
});

/* --------------------------------- helpers --------------------------------- */

const THREE_TURNS = {
  turns: [
    { f0: 110, seconds: 1.3 },
    { f0: 220, seconds: 1.13 }, // ends off the 20 ms grid on purpose
    { f0: 110, seconds: 0.9 },
  ],
  gapSeconds: 0.6,
};

/** Assorted frame sizes, several odd so samples are split across frames. */
const FRAME_SIZES = [1, 319, 640, 3, 1001, 4096, 7, 2000, 333, 6400, 5];

interface Client {
  ws: WebSocket;
  events: EngineEvent[];
  closed: Promise<{ code: number; at: number }>;
  waitFor(pred: (e: EngineEvent) => boolean, timeoutMs?: number): Promise<EngineEvent>;
}

async function connect(query = ""): Promise<Client> {
  const ws = new WebSocket(`${emu.wsUrl}${query}`);
  const events: EngineEvent[] = [];
  const waiters: Array<{ pred: (e: EngineEvent) => boolean; resolve: (e: EngineEvent) => void }> = [];
  ws.on("message", (data) => {
    const e = JSON.parse(String(data)) as EngineEvent;
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  const closed = new Promise<{ code: number; at: number }>((resolve) => {
    ws.on("close", (code) => resolve({ code, at: Date.now() }));
  });
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    events,
    closed,
    waitFor: (pred, timeoutMs = 5000) =>
      new Promise<EngineEvent>((resolve, reject) => {
        const hit = events.find(pred);
        if (hit) return resolve(hit);
        const timer = setTimeout(() => reject(new Error("timed out waiting for event")), timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      }),
  };
}

function sendInFrames(ws: WebSocket, bytes: Uint8Array): void {
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = FRAME_SIZES[i++ % FRAME_SIZES.length]!;
    ws.send(bytes.subarray(at, at + size));
    at += size;
  }
}

/** Upgrade attempt that is expected to be refused; resolves with the HTTP status. */
function refusedStatus(query = ""): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${emu.wsUrl}${query}`);
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on("open", () => reject(new Error("upgrade was accepted")));
    ws.on("error", () => {});
  });
}

function regionsOf(events: EngineEvent[]): EngineEvent[][] {
  const regions: EngineEvent[][] = [];
  for (const e of events) {
    if (e.type === "vad.speech_start") regions.push([]);
    if (e.type !== "session.end") regions[regions.length - 1]?.push(e);
  }
  return regions;
}

function multipart(wav: Uint8Array<ArrayBuffer>, fields: Record<string, string>): FormData {
  const form = new FormData();
  form.append("file", new Blob([wav], { type: "audio/wav" }), "audio.wav");
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return form;
}

async function chat(task: unknown, auth = "Bearer test-key"): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emu.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify({
      model: "gpt-4o-mini",
      response_format: { type: "json_object" },
      messages: [
        { role: "system", content: "You are a careful assistant." },
        { role: "user", content: JSON.stringify(task) },
      ],
    }),
  });
  return { status: res.status, body: await res.json() };
}

/* -------------------------------- realtime --------------------------------- */

describe("emulator realtime socket", () => {
  it("streams one partial-final region per turn with real timestamps", async () => {
    const timeline = conversationTimeline(THREE_TURNS);
    const c = await connect("?model=emulator-realtime&session_id=s-three");
    sendInFrames(c.ws, pcmBytes(conversation(THREE_TURNS)));
    c.ws.send(JSON.stringify({ type: "end" }));
    const { code } = await c.closed;
    expect(code).toBe(1000);
    expect(c.events.at(-1)).toEqual({ type: "session.end" });

    const regions = regionsOf(c.events);
    expect(regions).toHaveLength(3);
    regions.forEach((events, k) => {
      const types = events.map((e) => e.type);
      expect(types[0]).toBe("vad.speech_start");
      expect(types.slice(-2)).toEqual(["transcript.final", "vad.speech_end"]);
      const partials = events.filter((e): e is TranscriptPartialMessage => e.type === "transcript.partial");
      expect(partials.length).toBeGreaterThanOrEqual(1);
      expect(types.slice(1, -2).every((t) => t === "transcript.partial")).toBe(true);

      const final = events.at(-2) as TranscriptFinalMessage;
      expect(final.text).toBe(scriptLine(k));
      expect(final.confidence).toBe(0.9);
      expect(final.words).toBeUndefined();
      let previous = "";
      for (const p of partials) {
        expect(final.text.startsWith(p.text)).toBe(true);
        expect(p.text.length).toBeGreaterThanOrEqual(previous.length);
        previous = p.text;
      }

      const start = (events[0] as { timestamp: number }).timestamp;
      const end = (events.at(-1) as { timestamp: number }).timestamp;
      expect(Math.abs(start - timeline[k]!.start)).toBeLessThanOrEqual(0.05);
      expect(Math.abs(end - timeline[k]!.end)).toBeLessThanOrEqual(0.05);
      expect(final.start).toBe(start);
      expect(final.end).toBe(end);
    });

    const s = emu.stats().sessions["s-three"]!;
    expect(s.bytesReceived).toBe(pcmBytes(conversation(THREE_TURNS)).length);
    expect(s.ends).toBe(1);
    expect(emu.stats().connectionsOpened).toBe(1);
  });

  it("adds words only with word_timestamps=true and skips partials without interim_results", async () => {
    const c = await connect("?word_timestamps=true&interim_results=false");
    sendInFrames(c.ws, pcmBytes(conversation(THREE_TURNS)));
    c.ws.send(JSON.stringify({ type: "end" }));
    await c.closed;
    expect(c.events.some((e) => e.type === "transcript.partial")).toBe(false);
    const finals = c.events.filter((e): e is TranscriptFinalMessage => e.type === "transcript.final");
    expect(finals.map((f) => f.text)).toEqual([0, 1, 2].map(scriptLine));
    for (const f of finals) {
      expect(f.words!.map((w) => w.word).join(" ")).toBe(f.text);
      expect(f.words![0]!.start).toBe(f.start);
      expect(f.words!.at(-1)!.end).toBe(f.end);
      for (const w of f.words!) {
        expect(w.confidence).toBe(0.9);
        expect(w.end).toBeGreaterThan(w.start);
      }
    }
  });

  it("flush finalizes an open region at the current position", async () => {
    const c = await connect("?session_id=s-flush");
    const voice = concatPcm(silence(0.4), synthVoice({ f0: 150, seconds: 0.8 }));
    c.ws.send(pcmBytes(voice));
    c.ws.send(JSON.stringify({ type: "flush" }));
    const final = (await c.waitFor((e) => e.type === "transcript.final")) as TranscriptFinalMessage;
    expect(final.text).toBe(scriptLine(0));
    expect(Math.abs(final.start - 0.4)).toBeLessThanOrEqual(0.05);
    expect(final.end).toBeCloseTo(1.2, 3);
    await c.waitFor((e) => e.type === "vad.speech_end");
    // After the flush the next region takes the next script line.
    c.ws.send(pcmBytes(concatPcm(synthVoice({ f0: 150, seconds: 0.5 }), silence(0.5))));
    c.ws.send(JSON.stringify({ type: "keepalive" }));
    c.ws.send("not json");
    c.ws.send(JSON.stringify({ type: "end" }));
    await c.closed;
    const finals = c.events.filter((e): e is TranscriptFinalMessage => e.type === "transcript.final");
    expect(finals.map((f) => f.text)).toEqual([scriptLine(0), scriptLine(1)]);
    expect(c.events.find((e) => e.type === "error")).toMatchObject({ code: "invalid_message", recoverable: true });
    expect(emu.stats().sessions["s-flush"]).toMatchObject({ flushes: 1, ends: 1, keepalives: 1, framesReceived: 2 });
  });

  it("script_offset continues the script on a new connection", async () => {
    const c = await connect("?script_offset=3&interim_results=0");
    c.ws.send(pcmBytes(concatPcm(synthVoice({ f0: 180, seconds: 0.5 }), silence(0.4))));
    c.ws.send(JSON.stringify({ type: "end" }));
    await c.closed;
    expect(c.events.map((e) => e.type)).toEqual(["vad.speech_start", "transcript.final", "vad.speech_end", "session.end"]);
    expect((c.events[1] as TranscriptFinalMessage).text).toBe(scriptLine(3));
    expect((c.events[0] as { timestamp: number }).timestamp).toBe(0);
  });

  it("refuses bad parameters with 400 and refuseConnections with 503", async () => {
    expect(await refusedStatus("?model=nova-3")).toBe(400);
    expect(await refusedStatus("?sample_rate=8000")).toBe(400);
    expect(await refusedStatus("?encoding=mulaw")).toBe(400);
    emu.control.refuseConnections = true;
    expect(await refusedStatus("?model=emulator-realtime")).toBe(503);
    expect(emu.stats().connectionsRefused).toBe(1);
    const plain = await fetch(`${emu.url}/v1/realtime`);
    expect(plain.status).toBe(426);
  });

  it("dropAfterBytes destroys new connections after that many bytes", async () => {
    const before = await connect("?session_id=s-old");
    emu.control.dropAfterBytes = 32000;
    const doomed = await connect("?session_id=s-drop");
    const chunk = new Uint8Array(3200);
    for (let i = 0; i < 20; i++) {
      doomed.ws.send(chunk);
      before.ws.send(chunk);
    }
    const { code } = await doomed.closed;
    expect(code).toBe(1006); // no close frame
    const s = emu.stats();
    expect(s.sessions["s-drop"]!.bytesReceived).toBeGreaterThanOrEqual(32000);
    expect(s.sessions["s-drop"]!.bytesReceived).toBeLessThan(32000 + 3200);
    expect(s.connectionsDropped).toBe(1);
    // A connection opened before the switch is unaffected.
    before.ws.send(JSON.stringify({ type: "end" }));
    expect((await before.closed).code).toBe(1000);
  });

  it("resultDelayMs delays every outbound message, in order", async () => {
    emu.control.resultDelayMs = 300;
    const c = await connect();
    const sentAt = Date.now();
    c.ws.send(pcmBytes(concatPcm(silence(0.2), synthVoice({ f0: 120, seconds: 0.6 }), silence(0.5))));
    c.ws.send(JSON.stringify({ type: "end" }));
    const first = await c.waitFor(() => true);
    const firstAt = Date.now();
    expect(first.type).toBe("vad.speech_start");
    expect(firstAt - sentAt).toBeGreaterThanOrEqual(280);
    const { code } = await c.closed;
    expect(code).toBe(1000);
    expect(c.events.map((e) => e.type)).toEqual([
      "vad.speech_start",
      "transcript.partial",
      "transcript.final",
      "vad.speech_end",
      "session.end",
    ]);
  });
});

/* ---------------------------------- batch ---------------------------------- */

describe("emulator batch speech-to-text", () => {
  const FOUR_TURNS = {
    turns: [
      { f0: 110, seconds: 1.2 },
      { f0: 220, seconds: 1.0 },
      { f0: 110, seconds: 0.8 },
      { f0: 220, seconds: 1.1 },
    ],
    gapSeconds: 0.5,
  };

  it("diarizes two voices and returns ElevenLabs-shaped words", async () => {
    const wav = toWav(conversation(FOUR_TURNS));
    const res = await fetch(`${emu.url}/v1/speech-to-text`, {
      method: "POST",
      headers: { "xi-api-key": "test" },
      body: multipart(wav, { model_id: "scribe_v1", diarize: "true", timestamps_granularity: "word" }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      language_code: string;
      text: string;
      model_id: string;
      words: Array<{ text: string; start: number; end: number; type: string; speaker_id: string; logprob: number }>;
    };
    expect(body.model_id).toContain("emulator");
    expect(body.language_code).toBe("en");
    expect(body.text).toBe([0, 1, 2, 3].map(scriptLine).join(" "));

    const words = body.words.filter((w) => w.type === "word");
    expect(body.words.some((w) => w.type === "spacing" && w.text === " ")).toBe(true);
    expect(new Set(words.map((w) => w.speaker_id))).toEqual(new Set(["speaker_0", "speaker_1"]));
    for (let i = 0; i < body.words.length; i++) {
      const w = body.words[i]!;
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      if (i > 0) expect(w.start).toBeGreaterThanOrEqual(body.words[i - 1]!.end);
    }
    // Turn k's words belong to the voice of turn k.
    const timeline = conversationTimeline(FOUR_TURNS);
    const speakerOfTurn = timeline.map((t) => words.find((w) => Math.abs(w.start - t.start) <= 0.05)!.speaker_id);
    expect(speakerOfTurn).toEqual(["speaker_0", "speaker_1", "speaker_0", "speaker_1"]);
  });

  it("answers 401 without xi-api-key and 422 for audio that is not 16-bit PCM WAV", async () => {
    const wav = toWav(conversation(FOUR_TURNS));
    const noKey = await fetch(`${emu.url}/v1/speech-to-text`, { method: "POST", body: multipart(wav, {}) });
    expect(noKey.status).toBe(401);
    const bad = await fetch(`${emu.url}/v1/speech-to-text`, {
      method: "POST",
      headers: { "xi-api-key": "test" },
      body: multipart(new TextEncoder().encode("ID3 this is an mp3, honest"), { model_id: "scribe_v1" }),
    });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: { status: string } }).detail.status).toBe("invalid_audio");
  });

  it("reads stereo WAV at other rates by downmixing", () => {
    const mono = synthVoice({ f0: 200, seconds: 0.1, sampleRate: 8000 });
    const wav = toWav(mono, 8000);
    // Rewrite as stereo: duplicate each sample and patch the header fields.
    const stereo = new Uint8Array(44 + mono.length * 4);
    stereo.set(wav.subarray(0, 44));
    const v = new DataView(stereo.buffer);
    v.setUint16(22, 2, true);
    v.setUint32(28, 8000 * 4, true);
    v.setUint16(32, 4, true);
    v.setUint32(40, mono.length * 4, true);
    for (let i = 0; i < mono.length; i++) {
      v.setInt16(44 + 4 * i, mono[i]!, true);
      v.setInt16(46 + 4 * i, mono[i]!, true);
    }
    const decoded = parseWav(stereo);
    expect(decoded.sampleRate).toBe(8000);
    expect(Array.from(decoded.samples)).toEqual(Array.from(mono));
  });
});

/* ----------------------------------- LLM ----------------------------------- */

describe("emulator chat completions", () => {
  const named = EMULATOR_SCRIPT.slice(0, 4).map((text, id) => ({ id, speaker: `speaker_${id % 2}`, text }));

  it("names speakers from introductions", async () => {
    const { status, body } = await chat({ task: "speaker_names", segments: named });
    expect(status).toBe(200);
    expect(body.object).toBe("chat.completion");
    expect(body.model).toContain("emulator");
    expect(body.choices[0].finish_reason).toBe("stop");
    expect(JSON.parse(body.choices[0].message.content)).toEqual({
      speakers: [
        { id: "speaker_0", name: "Alice", evidence: scriptLine(0) },
        { id: "speaker_1", name: "Bob", evidence: scriptLine(1) },
      ],
    });
    const addressed = await chat({
      task: "speaker_names",
      segments: [
        { id: 0, speaker: "speaker_0", text: "Good morning everyone." },
        { id: 1, speaker: "speaker_1", text: "Thanks Carol, glad to be here." },
        { id: 2, speaker: "speaker_2", text: "Nice weather." },
      ],
    });
    expect(JSON.parse(addressed.body.choices[0].message.content).speakers).toEqual([
      { id: "speaker_0", name: "Carol", evidence: "Thanks Carol, glad to be here." },
      { id: "speaker_1", name: null, evidence: null },
      { id: "speaker_2", name: null, evidence: null },
    ]);
  });

  it("cleans fillers, labels emotions, and has a malformed mode", async () => {
    const cleaned = await chat({
      task: "cleanup",
      segments: [
        { id: 2, text: scriptLine(2) },
        { id: 5, text: "well, um, we went  home" },
        { id: 6, text: "broken [[malformed]]" },
      ],
    });
    expect(JSON.parse(cleaned.body.choices[0].message.content)).toEqual({
      segments: [
        { id: 2, text: "So how was the weekend." },
        { id: 5, text: "Well we went home." },
        { id: 6, text: 42 },
      ],
    });
    expect(cleanText("Hmm, ERM yes UH.")).toBe("Yes.");

    const labels = ["joy", "sadness", "anger", "surprise", "neutral"];
    const emo = await chat({ task: "emotions", labels, segments: EMULATOR_SCRIPT.map((text, id) => ({ id, text })) });
    expect(JSON.parse(emo.body.choices[0].message.content).segments.map((s: { label: string }) => s.label)).toEqual([
      "neutral",
      "neutral",
      "neutral",
      "joy",
      "surprise",
      "sadness",
      "anger",
      "neutral",
    ]);
  });

  it("rejects unknown tasks and missing keys", async () => {
    const unknown = await chat({ task: "summarize" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ message: "emulator: unknown task", type: "invalid_request_error" });
    expect((await chat({ task: "cleanup", segments: [] }, "")).status).toBe(401);
  });

  it("failHttpNext fails the next batch/LLM requests, also via the HTTP control API", async () => {
    emu.control.failHttpNext = 2;
    expect((await chat({ task: "cleanup", segments: [] })).status).toBe(503);
    const stt = await fetch(`${emu.url}/v1/speech-to-text`, {
      method: "POST",
      headers: { "xi-api-key": "k" },
      body: multipart(toWav(silence(0.1)), {}),
    });
    expect(stt.status).toBe(503);
    expect((await chat({ task: "cleanup", segments: [] })).status).toBe(200);

    const set = await fetch(`${emu.url}/__emulator/control`, {
      method: "POST",
      body: JSON.stringify({ failHttpNext: 1, failHttpStatus: 429 }),
    });
    expect(set.status).toBe(200);
    expect((await chat({ task: "cleanup", segments: [] })).status).toBe(429);
    expect((await chat({ task: "cleanup", segments: [] })).status).toBe(200);

    const stats = (await (await fetch(`${emu.url}/__emulator/stats`)).json()) as { httpRequests: Record<string, number> };
    expect(stats.httpRequests).toEqual({ "/v1/chat/completions": 4, "/v1/speech-to-text": 1 });
    expect((await fetch(`${emu.url}/__emulator/reset`, { method: "POST" })).status).toBe(200);
    expect(emu.stats().httpRequests).toEqual({});
    expect(
      (await fetch(`${emu.url}/__emulator/control`, { method: "POST", body: JSON.stringify({ nope: 1 }) })).status,
    ).toBe(400);
  });
});
