/**
 * The Deepgram front door's pure parts: parameter mapping, the live renderer
 * (what `from_finalize` and `speech_final` mean when events race the
 * Finalize), the prerecorded mapping and the callback URL rules.
 */
import { describe, expect, it } from "vitest";
import { checkCallbackUrl } from "../../src/pipeline/callback-url";
import type { EnhancedTranscript } from "../../src/pipeline/result";
import type { SessionEvent } from "../../src/protocol/client-protocol";
import { createDeepgramProtocol, DEEPGRAM_CLOSES } from "../../src/protocol/deepgram/live";
import { deepgramLiveSchema, resolveDeepgramModel, toLiveSession, type DeepgramLiveOptions } from "../../src/protocol/deepgram/params";
import { toPrerecordedResponse } from "../../src/protocol/deepgram/prerecorded";
import type { SessionConfig } from "../../src/protocol/params";
import { sessionConfig } from "../helpers/session-config";

const config: SessionConfig = sessionConfig({ language: "auto", word_timestamps: true });
const options: DeepgramLiveOptions = { vad_events: true, utterance_end_ms: 1000, endpointing: true, punctuate: true, warnings: [] };
const protocol = () => createDeepgramProtocol({ sessionId: "sess_x", createdAt: 0, config, deepgram: options });
const final = (start: number, end: number, text = "Hello there."): SessionEvent => ({
  type: "transcript.final",
  text,
  start,
  end,
  confidence: 0.9,
  words: [{ word: text, start, end, confidence: 0.9 }],
});
const render = (p: ReturnType<typeof protocol>, event: SessionEvent) => JSON.parse(p.render(event) as string) as Record<string, unknown>;

describe("Deepgram live parameters", () => {
  const parse = (query: string) => deepgramLiveSchema.safeParse(Object.fromEntries(new URLSearchParams(query)));

  it("maps Deepgram's names and defaults onto a session", () => {
    const query = new URLSearchParams("encoding=mulaw&sample_rate=8000&language=multi&keyterm=edge&smart_format=true&endpointing=false");
    const parsed = deepgramLiveSchema.parse(Object.fromEntries(query));
    const { config: session, options: opts } = toLiveSession(parsed, "m", query);
    expect(session).toMatchObject({ encoding: "mulaw", sample_rate: 8000, language: "auto", interim_results: false, word_timestamps: true, enable_vad: true });
    expect(opts).toMatchObject({ punctuate: true, endpointing: false, vad_events: false, utterance_end_ms: null });
    expect(opts.warnings.map((w) => w.parameter)).toEqual(["keyterm"]);
  });

  it("refuses what cannot be honoured, naming the parameter", () => {
    for (const [query, param] of [["encoding=opus", "encoding"], ["channels=2", "channels"], ["endpointing=soon", "endpointing"], ["num_speakers=2", "num_speakers"]]) {
      const result = parse(query!);
      expect(result.success, query).toBe(false);
      expect(result.error!.issues[0]!.path[0]).toBe(param);
    }
  });

  it("Deepgram model names run the default model; configured models by full or short name", () => {
    const models = ["@cf/deepgram/nova-3", "@cf/deepgram/flux"];
    expect(resolveDeepgramModel(undefined, models)).toBe("@cf/deepgram/nova-3");
    expect(resolveDeepgramModel("flux", models)).toBe("@cf/deepgram/flux");
    expect(resolveDeepgramModel("nova-2-phonecall", models)).toBe("@cf/deepgram/nova-3");
    expect(resolveDeepgramModel("gpt-4", models)).toBeNull();
  });
});

describe("Deepgram live renderer", () => {
  it("a final ending where the audio stood at Finalize is from_finalize, even after a late speech start", () => {
    const p = protocol();
    expect(p.parseControl('{"type":"Finalize"}', { streamSeconds: 2 })).toEqual({ type: "flush" });
    // The engine's speech start for audio before the Finalize arrives after it: not a reason to give up.
    render(p, { type: "vad.speech_start", timestamp: 1.2 });
    expect(render(p, final(1.2, 2))).toMatchObject({ is_final: true, from_finalize: true, speech_final: false });
    // The next final, of later speech, is an ordinary endpoint.
    expect(render(p, final(3, 4))).toMatchObject({ from_finalize: false, speech_final: true });
  });

  it("a Finalize with nothing open marks nothing: speech after it starts afresh", () => {
    const p = protocol();
    expect(render(p, final(0.5, 1.5))).toMatchObject({ from_finalize: false, speech_final: true });
    p.parseControl('{"type":"Finalize"}', { streamSeconds: 2.5 });
    render(p, { type: "vad.speech_start", timestamp: 3 });
    expect(render(p, final(3, 4))).toMatchObject({ from_finalize: false });
  });

  it("UtteranceEnd follows a final with the end of its last word, once", () => {
    const p = protocol();
    render(p, final(1, 2));
    expect(render(p, { type: "vad.speech_end", timestamp: 2 })).toEqual({ type: "UtteranceEnd", channel: [0, 1], last_word_end: 2 });
    expect(p.render({ type: "vad.speech_end", timestamp: 3 })).toBeNull();
  });

  it("unpunctuated unless asked; interims carry no words", () => {
    const p = createDeepgramProtocol({ sessionId: "s", createdAt: 0, config, deepgram: { ...options, punctuate: false } });
    const results = render(p, final(0, 1, "Hi Alice, I am Bob."));
    expect(results.channel).toEqual({
      alternatives: [{ transcript: "hi alice i am bob", confidence: 0.9, words: [{ word: "hi alice i am bob", start: 0, end: 1, confidence: 0.9, punctuated_word: "Hi Alice, I am Bob." }] }],
    });
    expect(render(p, { type: "transcript.partial", text: "Hi", start: 0, end: 0.5 })).toMatchObject({ is_final: false, channel: { alternatives: [{ words: [] }] } });
  });

  it("malformed input closes as Deepgram documents; what Deepgram has no word for is dropped", () => {
    const p = protocol();
    expect(p.parseControl("nope", { streamSeconds: 0 })).toMatchObject({ type: "invalid" });
    expect(p.render({ type: "error", code: "invalid_message", message: "x", recoverable: true })).toMatchObject({ close: DEEPGRAM_CLOSES.badControl });
    expect(p.render({ type: "error", code: "invalid_frame", message: "x", recoverable: true })).toMatchObject({ close: DEEPGRAM_CLOSES.undecodable });
    expect(p.render({ type: "error", code: "rate_limited", message: "x", recoverable: true })).toBeNull();
    expect(p.render({ type: "warning", code: "engine_reconnecting", message: "x" })).toBeNull();
    expect(p.closeWith!({ code: 4000, reason: "idle timeout" })).toEqual(DEEPGRAM_CLOSES.idle);
    expect(p.closeWith!({ code: 1000, reason: "session ended" })).toEqual({ code: 1000, reason: "session ended" });
  });
});

describe("Deepgram prerecorded response", () => {
  const result = {
    text: "Hello. Hi.",
    language_code: "en",
    duration: 3,
    segments: [
      { id: 0, start: 0, end: 1, speaker: "speaker_0", text: "Hello.", words: [{ word: "Hello.", start: 0, end: 1, confidence: 0.8, speaker: "speaker_0" }] },
      { id: 1, start: 2, end: 3, speaker: "speaker_1", text: "Hi.", words: [{ word: "Hi.", start: 2, end: 3, confidence: 1, speaker: "speaker_1" }] },
    ],
    speakers: [
      { id: "speaker_0", name: "Alice", name_source: "self_introduction" },
      { id: "speaker_1", name: null, name_source: null },
    ],
    enhancements: { transcribe: { status: "completed", model: "scribe" }, speakers: { status: "completed" }, cleanup: { status: "not_requested" }, emotions: { status: "not_requested" } },
  } as EnhancedTranscript;

  it("words carry speaker numbers only with diarize; utterances only when asked", () => {
    const shape = { diarize: true, utterances: true, punctuate: true, detect_language: true, warnings: [] };
    const r = toPrerecordedResponse({ id: "job_1", created_at: "t", result }, shape);
    expect(r.results.channels[0]!.alternatives[0]!.words.map((w) => w.speaker)).toEqual([0, 1]);
    expect(r.results.channels[0]).toMatchObject({ detected_language: "en", alternatives: [{ transcript: "Hello. Hi.", confidence: 0.9 }] });
    expect(r.results.utterances!.map((u) => [u.speaker, u.transcript])).toEqual([[0, "Hello."], [1, "Hi."]]);
    expect(r.metadata).toMatchObject({ request_id: "job_1", models: ["scribe"], duration: 3, channels: 1 });
    const bare = toPrerecordedResponse({ id: "job_1", created_at: "t", result }, { ...shape, diarize: false, utterances: false, punctuate: false, detect_language: false });
    expect(bare.results.channels[0]!.alternatives[0]).toMatchObject({ transcript: "hello hi", words: [{ word: "hello", punctuated_word: "Hello." }, { word: "hi" }] });
    expect("speaker" in bare.results.channels[0]!.alternatives[0]!.words[0]!).toBe(false);
    expect(bare.results.utterances).toBeUndefined();
  });
});

describe("callback URLs", () => {
  it("https only, no credentials, no loopback or private literal hosts unless allowed", () => {
    expect(checkCallbackUrl("https://hooks.example.com/dg", false).href).toBe("https://hooks.example.com/dg");
    for (const bad of ["http://hooks.example.com/", "https://u:p@example.com/", "https://127.0.0.1/", "https://10.1.2.3/", "https://[::1]/", "https://localhost/", "https://192.168.0.9/", "nope"]) {
      expect(() => checkCallbackUrl(bad, false), bad).toThrow(/callback/);
    }
    expect(checkCallbackUrl("http://127.0.0.1:9999/cb", true).port).toBe("9999");
  });
});
