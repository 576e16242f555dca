/**
 * The Workers AI realtime adapter (nova-3 and flux) inside workerd, against a
 * stand-in AI binding that answers `run(..., { websocket: true })` with one end
 * of a WebSocketPair and replays Deepgram-shaped messages on the other
 * (fixtures/realtime/, sources in fixtures/realtime/sources.ts).
 */
import { describe, expect, it } from "vitest";
import { WORKERS_AI_REALTIME_DEFAULTS, type ServiceConfig } from "../../src/config";
import { createRealtimeEngine } from "../../src/engines/realtime";
import * as flux from "./fixtures/realtime/flux-live";
import { FLUX, NOVA3, bytes, link, opened, playAndCollect } from "./fixtures/realtime/link";
import * as nova from "./fixtures/realtime/nova3-live";
import { StandInRealtimeAi, settle, waitFor } from "./fixtures/realtime/stand-in-ai";

describe("Workers AI realtime: connecting", () => {
  // Input types as `Ai_Cf_Deepgram_Nova_3_Input` declares them (worker-configuration.d.ts):
  // booleans, `channels` a number, `endpointing` a string; `sample_rate` (not in that schema)
  // and `utterance_end_ms` (declared boolean there) as the integers Deepgram documents.
  // The binding JSON-encodes them (workerd src/cloudflare/internal/ai-api.ts), so types survive.
  it("opens nova-3 through run(..., { websocket: true }) with linear16 16 kHz, interim results and the language, in the schema's types", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai, { language: "de" });
    await opened(ai, l);
    expect(ai.calls).toHaveLength(1);
    const call = ai.calls[0]!;
    expect(call.model).toBe(NOVA3);
    expect(call.options.websocket).toBe(true);
    expect(call.params).toEqual({
      encoding: "linear16",
      sample_rate: 16000,
      channels: 1,
      interim_results: true,
      punctuate: true,
      smart_format: true,
      vad_events: true,
      endpointing: "300",
      utterance_end_ms: 1000,
      language: "de",
    });
    expect(l.link.state).toBe("open");
    l.link.close();
  });

  it("omits the language when the session asks for auto (or sends the configured auto language)", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai, { language: "auto", interimResults: false });
    await opened(ai, l);
    expect(ai.calls[0]!.params).not.toHaveProperty("language");
    // Deepgram still sends interims: UtteranceEnd is computed from them.
    expect(ai.calls[0]!.params.interim_results).toBe(true);
    l.link.close();

    const multi = new StandInRealtimeAi();
    const m = link(multi, { language: "auto" }, { autoLanguage: "multi", endpointingMs: 500, smartFormat: false });
    await opened(multi, m);
    expect(multi.calls[0]!.params).toMatchObject({ language: "multi", endpointing: "500", smart_format: false });
    m.link.close();
  });

  it("opens flux with linear16 16 kHz and no language; end-of-turn settings only when set", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai, { model: FLUX, language: "en" });
    await opened(ai, l);
    expect(ai.calls[0]!.model).toBe(FLUX);
    expect(ai.calls[0]!.options.websocket).toBe(true);
    expect(ai.calls[0]!.params).toEqual({ encoding: "linear16", sample_rate: "16000" });
    l.link.close();

    const tuned = new StandInRealtimeAi();
    const t = link(tuned, { model: FLUX }, { eotThreshold: 0.8, eotTimeoutMs: 3000 });
    await opened(tuned, t);
    expect(tuned.calls[0]!.params).toEqual({ encoding: "linear16", sample_rate: "16000", eot_threshold: "0.8", eot_timeout_ms: "3000" });
    t.link.close();
  });

  it("queues audio and controls until the stream opens, then sends them in order", async () => {
    const ai = new StandInRealtimeAi({ holdOpen: true });
    const l = link(ai);
    const reused = bytes(4, 1);
    l.link.feed(reused);
    reused.fill(9); // the caller reuses its buffer: the queue kept a copy
    l.link.feed(reused);
    l.link.feed(bytes(6, 2));
    l.link.flush();
    l.link.keepAlive?.(); // nothing to keep alive while connecting: not queued
    l.link.feed(bytes(2, 3));
    await waitFor(() => ai.calls.length === 1, "run()");
    await settle();
    expect(l.link.state).toBe("connecting");
    expect(ai.received).toEqual([]);

    ai.open();
    await waitFor(() => ai.received.length === 5, "the queued frames");
    l.link.feed(bytes(8, 4));
    await waitFor(() => ai.received.length === 6, "the frame fed after open");
    expect(ai.timeline()).toEqual(["audio:4", "audio:4", "audio:6", "Finalize", "audio:2", "audio:8"]);
    expect(ai.audio()).toEqual([bytes(4, 1), bytes(4, 9), bytes(6, 2), bytes(2, 3), bytes(8, 4)]);
    expect(l.opened()).toBe(1);
    expect(l.failures).toEqual([]);
    l.link.close();
  });

  it("fails with phase connect when the queue outgrows its bound, and closes a stream that opens later", async () => {
    const ai = new StandInRealtimeAi({ holdOpen: true });
    const l = link(ai, {}, { maxPendingBytes: 10 });
    l.link.feed(bytes(8, 1));
    await waitFor(() => ai.calls.length === 1, "run()");
    expect(l.failures).toEqual([]);
    l.link.feed(bytes(4, 1));
    expect(l.failures).toEqual([{ phase: "connect", message: `Workers AI did not open ${NOVA3} before its queue filled` }]);
    expect(l.link.state).toBe("closed");
    ai.open();
    await waitFor(() => ai.clientClose !== null, "the late stream to be closed");
    expect(ai.received).toEqual([]);
    expect(l.failures).toHaveLength(1);
  });

  it("a run() rejection fails the link with phase connect", async () => {
    const ai = new StandInRealtimeAi({ fail: new Error("3040: Capacity temporarily exceeded, please try again.") });
    const l = link(ai);
    l.link.feed(bytes(320, 1));
    await waitFor(() => l.failures.length === 1, "the failure");
    expect(l.failures[0]).toEqual({
      phase: "connect",
      message: `Workers AI did not open ${NOVA3}: 3040: Capacity temporarily exceeded, please try again.`,
    });
    expect(l.link.state).toBe("closed");
    expect(l.opened()).toBe(0);
    await l.link.finish(1000); // resolves at once on a failed link
  });

  it("an answer without a WebSocket fails with phase connect and the HTTP status", async () => {
    const ai = new StandInRealtimeAi({
      respond: () => new Response(JSON.stringify({ errors: [{ message: "Invalid input" }], success: false }), { status: 400 }),
    });
    const l = link(ai);
    await waitFor(() => l.failures.length === 1, "the failure");
    expect(l.failures[0]!.phase).toBe("connect");
    expect(l.failures[0]!.message).toContain("HTTP 400");
    expect(l.failures[0]!.message).toContain("Invalid input");
  });

  it("an unknown model fails with phase connect without calling run()", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai, { model: "@cf/openai/whisper" });
    // Failures are never reported before createSession returns.
    expect(l.failures).toEqual([]);
    await waitFor(() => l.failures.length === 1, "the failure");
    expect(l.failures[0]!.phase).toBe("connect");
    expect(l.failures[0]!.message).toContain("@cf/openai/whisper");
    expect(ai.calls).toEqual([]);
  });

  it("gives up after connectTimeoutMs and closes the stream if it opens afterwards", async () => {
    const ai = new StandInRealtimeAi({ holdOpen: true });
    const l = link(ai, {}, { connectTimeoutMs: 100 });
    await waitFor(() => l.failures.length === 1, "the failure");
    expect(l.failures[0]).toEqual({ phase: "connect", message: `Workers AI did not open ${NOVA3}: no answer within 100 ms` });
    ai.open();
    await waitFor(() => ai.clientClose !== null, "the late stream to be closed");
    expect(l.failures).toHaveLength(1);
  });
});

describe("Workers AI realtime: nova-3 events", () => {
  it("maps interims, finals and speech_final; the UtteranceEnd after speech_final is not a second end", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai);
    await opened(ai, l);
    await playAndCollect(ai, l, nova.QUIET_UTTERANCE, 7);
    expect(l.events).toEqual([
      { type: "vad.speech_start", timestamp: 0.52 },
      { type: "transcript.partial", text: "hello", start: 0, end: 1.02 },
      { type: "transcript.partial", text: "hello wor", start: 0, end: 1.52 },
      {
        type: "transcript.final",
        text: "Hello, world.",
        start: 0,
        end: 1.84,
        confidence: 0.98,
        words: [
          { word: "Hello,", start: 0.56, end: 0.96, confidence: 0.99 },
          { word: "world.", start: 1.04, end: 1.6, confidence: 0.97 },
        ],
      },
      { type: "transcript.partial", text: "how are", start: 1.84, end: 2.84 },
      {
        type: "transcript.final",
        text: "How are you?",
        start: 1.84,
        end: 3.36,
        confidence: 0.97,
        words: [
          { word: "How", start: 1.92, end: 2.08, confidence: 0.99 },
          { word: "are", start: 2.08, end: 2.3, confidence: 0.99 },
          { word: "you?", start: 2.3, end: 2.72, confidence: 0.95 },
        ],
      },
      { type: "vad.speech_end", timestamp: 2.72 },
    ]);
    l.link.close();
  });

  it("ends speech at UtteranceEnd's last_word_end when no speech_final came (noise)", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai);
    await opened(ai, l);
    await playAndCollect(ai, l, nova.NOISY_UTTERANCE, 4);
    expect(l.events).toEqual([
      { type: "vad.speech_start", timestamp: 3.1 },
      { type: "transcript.partial", text: "testing", start: 3, end: 4 },
      {
        type: "transcript.final",
        text: "Testing one two.",
        start: 3,
        end: 4.56,
        confidence: 0.91,
        words: [
          { word: "Testing", start: 3.16, end: 3.7, confidence: 0.98 },
          { word: "one", start: 3.78, end: 3.98, confidence: 0.98 },
          { word: "two.", start: 4.06, end: 4.36, confidence: 0.98 },
        ],
      },
      { type: "vad.speech_end", timestamp: 4.36 },
    ]);
    l.link.close();
  });

  it("skips empty interims, retracts a partial with an empty final, and opens speech at the first word without SpeechStarted", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai);
    await opened(ai, l);
    await playAndCollect(ai, l, nova.RETRACTED_PARTIAL, 4);
    expect(l.events).toEqual([
      { type: "vad.speech_start", timestamp: 0.3 },
      { type: "transcript.partial", text: "uh", start: 0, end: 0.8 },
      { type: "transcript.final", text: "", start: 0, end: 1.2, confidence: 0, words: [] },
      { type: "vad.speech_end", timestamp: 2.3 },
    ]);
    l.link.close();
  });

  it("passes no partials when the session asked for none, but keeps VAD and finals", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai, { interimResults: false });
    await opened(ai, l);
    await playAndCollect(ai, l, nova.QUIET_UTTERANCE, 4);
    expect(l.events.map((e) => e.type)).toEqual(["vad.speech_start", "transcript.final", "transcript.final", "vad.speech_end"]);
    l.link.close();
  });

  it("flush sends Finalize and the from_finalize answer arrives as a final", async () => {
    const ai = new StandInRealtimeAi({ onControl: (m, s) => m.type === "Finalize" && s.play(nova.FINALIZE_ANSWER) });
    const l = link(ai);
    l.link.feed(bytes(32000, 1));
    await opened(ai, l);
    l.link.flush();
    await waitFor(() => l.events.length === 2, "the finalized result");
    expect(ai.timeline()).toEqual(["audio:32000", "Finalize"]);
    expect(l.events).toEqual([
      { type: "vad.speech_start", timestamp: 0.12 },
      {
        type: "transcript.final",
        text: "Ok, so.",
        start: 0,
        end: 0.96,
        confidence: 0.93,
        words: [
          { word: "Ok,", start: 0.12, end: 0.4, confidence: 0.98 },
          { word: "so.", start: 0.48, end: 0.9, confidence: 0.98 },
        ],
      },
    ]);
    l.link.close();
  });

  it("finish sends CloseStream and resolves after the last final and the closing Metadata", async () => {
    const ai = new StandInRealtimeAi({ onControl: (m, s) => m.type === "CloseStream" && s.play(nova.CLOSE_STREAM_ANSWER) });
    const l = link(ai);
    await opened(ai, l);
    l.link.feed(bytes(640, 1));
    await l.link.finish(5000).then(() => l.log.push("finished"));
    expect(ai.timeline()).toEqual(["audio:640", "CloseStream"]);
    expect(l.log).toEqual(["vad.speech_start", "transcript.final", "vad.speech_end", "finished"]);
    expect(l.events[1]).toMatchObject({ type: "transcript.final", text: "Goodbye.", start: 5, end: 6.28 });
    expect(l.events[2]).toEqual({ type: "vad.speech_end", timestamp: 5.84 });
    expect(l.link.state).toBe("closed");
    expect(l.failures).toEqual([]);
    await waitFor(() => ai.clientClose !== null, "the adapter to close");
    expect(ai.clientClose!.code).toBe(1000);
  });

  it("finish also resolves when the engine closes after its last final without Metadata", async () => {
    const ai = new StandInRealtimeAi({
      onControl: (m, s) => {
        if (m.type !== "CloseStream") return;
        s.play(nova.CLOSE_STREAM_ANSWER.slice(0, 1));
        s.hangUp(1000, "");
      },
    });
    const l = link(ai);
    await opened(ai, l);
    await l.link.finish(5000).then(() => l.log.push("finished"));
    expect(l.log).toEqual(["vad.speech_start", "transcript.final", "vad.speech_end", "finished"]);
    expect(l.failures).toEqual([]);
  });

  it("finish resolves after its timeout when the engine never answers, closing open speech", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai);
    await opened(ai, l);
    await playAndCollect(ai, l, nova.MID_UTTERANCE, 2);
    const started = Date.now();
    await l.link.finish(150);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(ai.controls()).toEqual(["CloseStream"]);
    expect(l.events).toEqual([
      { type: "vad.speech_start", timestamp: 0.4 },
      { type: "transcript.partial", text: "so the plan", start: 0, end: 1 },
      { type: "vad.speech_end", timestamp: 0.98 },
    ]);
    expect(l.failures).toEqual([]);
    expect(l.link.state).toBe("closed");
  });

  it("a close mid-utterance fails the link with phase runtime", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai);
    await opened(ai, l);
    await playAndCollect(ai, l, nova.MID_UTTERANCE, 2);
    ai.hangUp(1011, "internal server error");
    await waitFor(() => l.failures.length === 1, "the failure");
    expect(l.failures[0]).toEqual({
      phase: "runtime",
      message: `Workers AI closed the ${NOVA3} stream (1011: internal server error)`,
    });
    expect(l.events.map((e) => e.type)).toEqual(["vad.speech_start", "transcript.partial"]);
    expect(l.link.state).toBe("closed");
    l.link.feed(bytes(10, 1)); // ignored: the link is closed, the session keeps recording
    await l.link.finish(1000);
    expect(l.failures).toHaveLength(1);
  });

  it("an error frame becomes a recoverable error event; the close after it fails the link", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai);
    await opened(ai, l);
    await playAndCollect(ai, l, [nova.dataError], 1);
    expect(l.events).toEqual([
      {
        type: "error",
        code: "engine_unavailable",
        message: "DATA-0000: Deepgram could not decode the provided audio.",
        recoverable: true,
      },
    ]);
    expect(l.failures).toEqual([]);
    ai.hangUp(1008, "DATA-0000");
    await waitFor(() => l.failures.length === 1, "the failure");
    expect(l.failures[0]).toEqual({ phase: "runtime", message: `Workers AI closed the ${NOVA3} stream (1008: DATA-0000)` });
  });

  it("keepAlive sends Deepgram's KeepAlive text frame", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai);
    await opened(ai, l);
    l.link.keepAlive?.();
    await waitFor(() => ai.received.length === 1, "the KeepAlive");
    expect(ai.received).toEqual([{ kind: "control", message: { type: "KeepAlive" } }]);
    l.link.close();
  });
});

describe("Workers AI realtime: flux events", () => {
  it("maps a turn: StartOfTurn → speech_start, changed Updates → partials, EndOfTurn → final + speech_end", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai, { model: FLUX });
    await opened(ai, l);
    await playAndCollect(ai, l, flux.FULL_TURN, 6);
    expect(l.events).toEqual(flux.FULL_TURN_EVENTS);
    l.link.close();
  });

  it("flush sends ForceEndTurn with fluxFlush ForceEndTurn, and Flux's EndOfTurn becomes the final", async () => {
    const ai = new StandInRealtimeAi({ onControl: (m, s) => m.type === "ForceEndTurn" && s.play(flux.FORCED_END) });
    const l = link(ai, { model: FLUX }, { fluxFlush: "ForceEndTurn" });
    await opened(ai, l);
    await playAndCollect(ai, l, flux.OPEN_TURN, 2);
    l.link.flush();
    await waitFor(() => l.events.length === 4, "the forced end of turn");
    expect(ai.controls()).toEqual(["ForceEndTurn"]);
    expect(l.events).toEqual([
      { type: "vad.speech_start", timestamp: 3.04 },
      { type: "transcript.partial", text: "One more", start: 3.04, end: 3.44 },
      { type: "transcript.final", text: "One more", start: 3.04, end: 3.52, confidence: 0.85 },
      { type: "vad.speech_end", timestamp: 3.52 },
    ]);
    l.link.close();
  });

  it("flush sends nothing with fluxFlush none", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai, { model: FLUX }, { fluxFlush: "none" });
    await opened(ai, l);
    l.link.flush();
    l.link.keepAlive?.();
    await waitFor(() => ai.received.length === 1, "the KeepAlive");
    expect(ai.controls()).toEqual(["KeepAlive"]);
    l.link.close();
  });

  it("finish sends CloseStream; the open turn's last Update is emitted as its final before finish resolves", async () => {
    const ai = new StandInRealtimeAi({
      onControl: (m, s) => {
        if (m.type !== "CloseStream") return;
        s.play(flux.OPEN_TURN_CLOSE_ANSWER);
        s.hangUp(); // Flux closes without a status code and sends no EndOfTurn
      },
    });
    const l = link(ai, { model: FLUX });
    await opened(ai, l);
    await playAndCollect(ai, l, flux.OPEN_TURN, 2);
    await l.link.finish(5000).then(() => l.log.push("finished"));
    expect(ai.controls()).toEqual(["CloseStream"]);
    expect(l.events.slice(2)).toEqual([
      { type: "transcript.partial", text: "One more thing", start: 3.04, end: 3.68 },
      { type: "transcript.final", text: "One more thing", start: 3.04, end: 3.68, confidence: 0.8 },
      { type: "vad.speech_end", timestamp: 3.68 },
    ]);
    expect(l.log.at(-1)).toBe("finished");
    expect(l.failures).toEqual([]);
  });

  it("a fatal Error frame becomes an error event; the close after it fails the link with phase runtime", async () => {
    const ai = new StandInRealtimeAi();
    const l = link(ai, { model: FLUX });
    await opened(ai, l);
    await playAndCollect(ai, l, [flux.connected(), flux.fatalError], 1);
    ai.hangUp(1011, "INTERNAL_SERVER_ERROR");
    await waitFor(() => l.failures.length === 1, "the failure");
    expect(l.events).toEqual([
      {
        type: "error",
        code: "engine_unavailable",
        message: "INTERNAL_SERVER_ERROR: The server encountered an unexpected error.",
        recoverable: true,
      },
    ]);
    expect(l.failures[0]).toEqual({ phase: "runtime", message: `Workers AI closed the ${FLUX} stream (1011: INTERNAL_SERVER_ERROR)` });
  });
});

describe("createRealtimeEngine", () => {
  const config = (engine: "native" | "workers-ai"): ServiceConfig["realtime"] => ({
    engine,
    url: "ws://127.0.0.1:1/v1/realtime",
    apiKey: undefined,
    models: [NOVA3, FLUX],
    endTimeoutMs: 5000,
    fallback: null,
    connectTimeoutMs: 10_000,
    maxPendingBytes: 1_920_000,
    workersAi: WORKERS_AI_REALTIME_DEFAULTS,
  });

  it("builds the Workers AI engine from the AI binding, and says so when the binding is missing", () => {
    expect(createRealtimeEngine(config("workers-ai"), new StandInRealtimeAi().asAi()).name).toBe("workers-ai");
    expect(() => createRealtimeEngine(config("workers-ai"))).toThrow(/AI binding/);
    expect(createRealtimeEngine(config("native")).name).toBe("native");
  });
});
