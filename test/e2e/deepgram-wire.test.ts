/**
 * `/v1/listen` on the wire, without Deepgram's SDK: one raw WebSocket per
 * message type, every message compared with the documented Deepgram message
 * of the same type. The reference messages are the recorded-shape Deepgram
 * sequences the Workers AI engine is tested with
 * (test/pool/fixtures/realtime/nova3-live.ts; their sources, Deepgram's
 * documentation pages and SDK types, are listed in
 * test/pool/fixtures/realtime/sources.ts). Field names and types were also
 * checked against the pinned SDK's message types (@deepgram/sdk 5.13.0,
 * dist/cjs/api/resources/listen/resources/v1/types/ListenV1Results.d.ts,
 * ListenV1Metadata.d.ts, ListenV1SpeechStarted.d.ts, ListenV1UtteranceEnd.d.ts)
 * and Deepgram's "Close Stream", "Finalize" and "STT Troubleshooting
 * WebSocket, NET, and DATA Errors" pages (close 1008 DATA-0000, 1011 NET-0001).
 */
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { concatPcm, conversation, pcmBytes, silence, synthVoice, toWav } from "../../tools/fixtures/synth";
import { FINALIZE_ANSWER, metadata, QUIET_UTTERANCE, speechStarted, utteranceEnd } from "../pool/fixtures/realtime/nova3-live";
import { service } from "../helpers/e2e";
import { eventually, getJson } from "../helpers/http";
import { connect } from "../helpers/ws-client";
import { openDeepgram, sameShape } from "../helpers/deepgram-wire";

const listenUrl = (query: string) => `${service().replace(/^http/, "ws")}/v1/listen?${query}`;
const LIVE = "encoding=linear16&sample_rate=16000";

/** Deepgram's documented messages, one per type (the interim and final are from the quiet-room sequence). */
const REFERENCE = {
  interim: QUIET_UTTERANCE[2]!,
  final: QUIET_UTTERANCE[7]!,
  fromFinalize: FINALIZE_ANSWER[0]!,
  speechStarted: speechStarted(0.52),
  utteranceEnd: utteranceEnd(2.72),
  metadata: metadata(6.28),
};

/** Two utterances with a pause that ends each one (the emulator's VAD closes a region after 300 ms). */
const twoUtterances = () => pcmBytes(concatPcm(synthVoice({ f0: 120, seconds: 1.2 }), silence(0.8), synthVoice({ f0: 200, seconds: 1.2 }), silence(0.8)));

describe("Deepgram live wire (raw WebSocket)", () => {
  it("Results (interim and final), SpeechStarted, UtteranceEnd, then Metadata and 1000 after CloseStream", async () => {
    const dg = await openDeepgram(listenUrl(`${LIVE}&interim_results=true&vad_events=true&utterance_end_ms=1000&punctuate=true&enhance_on_end=true`));
    await dg.send(twoUtterances());
    const finals = [await dg.next((m) => m.type === "Results" && m.is_final === true), await dg.next((m) => m.type === "Results" && m.is_final === true)];
    await dg.sendJson({ type: "CloseStream" });
    const meta = await dg.next((m) => m.type === "Metadata");
    expect(await dg.closed).toMatchObject({ code: 1000 });

    const interim = dg.messages.find((m) => m.type === "Results" && m.is_final === false)!;
    const started = dg.messages.find((m) => m.type === "SpeechStarted")!;
    const ended = dg.messages.find((m) => m.type === "UtteranceEnd")!;
    expect(sameShape(interim, REFERENCE.interim)).toEqual([]);
    expect(sameShape(finals[0], REFERENCE.final)).toEqual([]);
    expect(sameShape(started, REFERENCE.speechStarted)).toEqual([]);
    expect(sameShape(ended, REFERENCE.utteranceEnd)).toEqual([]);
    // sha256 is left out on purpose: the stream is not hashed (README "Using a Deepgram client").
    expect(sameShape(meta, REFERENCE.metadata, ["sha256"])).toEqual([]);

    // Timestamps on the stream timeline; the second utterance starts after the first ends.
    expect(finals[0]).toMatchObject({ speech_final: true, from_finalize: false, channel_index: [0, 1] });
    const [first, second] = finals.map((f) => f.channel.alternatives[0]);
    expect(first.transcript).toBe("Hello, my name is Alice.");
    expect(first.words[0]).toMatchObject({ word: "hello", punctuated_word: "Hello," });
    expect(second.words[0].start).toBeGreaterThanOrEqual(first.words.at(-1).end);
    expect(ended.last_word_end).toBe(first.words.at(-1).end);
    expect(started.timestamp).toBeLessThan(first.words[0].end);

    // The session is an ordinary one: Metadata names it and its enhancement job; the native API reads it.
    expect(meta).toMatchObject({ request_id: meta.session_id, channels: 1, models: ["emulator-realtime"] });
    expect(meta.enhancement_job_id).toMatch(/^job_/);
    expect(meta.duration).toBeCloseTo(4, 1);
    const record = await getJson(`${service()}/v1/audio/transcriptions/stream/${meta.session_id}`);
    expect(record.body).toMatchObject({ status: "completed", enhancement_job_id: meta.enhancement_job_id });
  });

  it("Finalize flushes the open utterance as a from_finalize final, not a speech_final", async () => {
    const dg = await openDeepgram(listenUrl(LIVE));
    // Speech with no pause after it: only a Finalize can end the utterance.
    await dg.send(pcmBytes(synthVoice({ f0: 150, seconds: 1.0 })));
    await dg.sendJson({ type: "Finalize" });
    const final = await dg.next((m) => m.type === "Results" && m.is_final === true);
    expect(sameShape(final, REFERENCE.fromFinalize)).toEqual([]);
    expect(final).toMatchObject({ from_finalize: true, speech_final: false });
    // Deepgram's default is interim_results=false: no interim arrived.
    expect(dg.messages.filter((m) => m.is_final === false)).toEqual([]);
    await dg.sendJson({ type: "CloseStream" });
    await dg.next((m) => m.type === "Metadata");
  });

  it("KeepAlive gets no reply and keeps the stream going", async () => {
    const dg = await openDeepgram(listenUrl(LIVE));
    await dg.sendJson({ type: "KeepAlive" });
    await dg.sendJson({ type: "KeepAlive" });
    await dg.sendJson({ type: "CloseStream" });
    const meta = await dg.next((m) => m.type === "Metadata");
    // The only message of the whole connection is the closing Metadata.
    expect(dg.messages).toEqual([meta]);
    expect(meta.duration).toBe(0);
  });

  it("a text frame that is not a Deepgram control message: Error, then close 1008 DATA-0000", async () => {
    const dg = await openDeepgram(listenUrl(LIVE));
    await dg.sendJson({ type: "Configure" });
    const error = await dg.next((m) => m.type === "Error");
    expect(error).toMatchObject({ variant: "DATA-0000" });
    expect(await dg.closed).toMatchObject({ code: 1008, reason: expect.stringContaining("DATA-0000") });
  });

  it("audio that is not whole linear16 samples: Error, then close 1008 DATA-0000", async () => {
    const dg = await openDeepgram(listenUrl(LIVE));
    await dg.send(new Uint8Array(3));
    expect(await dg.next((m) => m.type === "Error")).toMatchObject({ variant: "DATA-0000" });
    expect(await dg.closed).toMatchObject({ code: 1008 });
    // A client gone without CloseStream: the session is finalized after the grace period.
    expect(dg.requestId).toMatch(/^sess_/);
    const record = await eventually(async () => {
      const { body } = await getJson<{ status: string; bytes_dropped: number }>(`${service()}/v1/audio/transcriptions/stream/${dg.requestId}`);
      return body.status !== "active" && body;
    });
    expect(record).toMatchObject({ status: "interrupted", bytes_dropped: 3 });
  });

  it("refuses bad parameters before the upgrade with Deepgram's error body", async () => {
    for (const query of ["encoding=opus", "channels=2", "sample_rate=abc", "model=gpt-4", "enhance_emotions=true"]) {
      const refused = await connect(listenUrl(query)).then(
        () => ({ status: 101, body: "" }),
        (err: { status: number; body: string }) => err,
      );
      expect(refused.status, query).toBe(400);
      const body = JSON.parse(refused.body) as Record<string, string>;
      expect(Object.keys(body).sort()).toEqual(["err_code", "err_msg", "request_id"]);
      expect(body.err_code).toBe("INVALID_QUERY_PARAMETER");
      expect(body.err_msg).toContain(query.split("=")[0]);
    }
  });

  it("answers the subprotocol a browser offered with its credential, never the credential", async () => {
    const ws = new WebSocket(listenUrl(LIVE), ["token", "browser-key"]);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    expect(ws.protocol).toBe("token");
    ws.send(JSON.stringify({ type: "CloseStream" }));
    await new Promise((resolve) => ws.once("close", resolve));
  });
});

describe("Deepgram prerecorded (raw HTTP)", () => {
  const post = (query: string, body: BodyInit, type = "audio/wav") => fetch(`${service()}/v1/listen?${query}`, { method: "POST", headers: { "content-type": type }, body });

  it("answers Deepgram's JSON; speakers only with diarize, ignored parameters named in warnings", async () => {
    const wav = toWav(conversation({ turns: [{ f0: 110, seconds: 1.0 }, { f0: 220, seconds: 1.0 }], gapSeconds: 0.6 }));
    const res = await post("summarize=v2&language=en", wav);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { metadata: Record<string, unknown>; results: { channels: { alternatives: { transcript: string; words: Record<string, unknown>[] }[] }[]; utterances?: unknown } };
    expect(body.metadata).toMatchObject({ request_id: expect.stringMatching(/^job_/), warnings: [expect.objectContaining({ parameter: "summarize" })] });
    const alternative = body.results.channels[0]!.alternatives[0]!;
    expect(alternative.transcript).toBe("hello my name is alice hi alice i am bob");
    expect(alternative.words.some((w) => "speaker" in w)).toBe(false);
    expect(body.results.utterances).toBeUndefined();
    // The job is an ordinary one.
    expect((await getJson(`${service()}/v1/audio/transcriptions/${String(body.metadata.request_id)}`)).body).toMatchObject({ status: "completed" });
  });

  it("refuses a URL source, a body that is not audio, and an unusable callback with Deepgram's error body", async () => {
    const cases: [Promise<Response>, number, string][] = [
      [post("", JSON.stringify({ url: "https://example.com/a.wav" }), "application/json"), 400, "Bad Request"],
      [post("", "hello, not audio", "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"],
      [post("", new Uint8Array(0)), 400, "Bad Request"],
      [post("callback=ftp://example.com/", toWav(silence(0.2))), 400, "INVALID_QUERY_PARAMETER"],
    ];
    for (const [request, status, code] of cases) {
      const res = await request;
      expect(res.status, code).toBe(status);
      expect(await res.json()).toEqual({ err_code: code, err_msg: expect.any(String), request_id: expect.any(String) });
    }
  });
});
