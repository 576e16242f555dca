/**
 * Deepgram's own client, `@deepgram/sdk` (pinned in package.json), unchanged
 * except for its base URL and key, against the local stack: what a Deepgram
 * user gets by pointing their code here.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { DeepgramClient } from "@deepgram/sdk";
import { describe, expect, it } from "vitest";
import { concatPcm, conversation, pcmBytes, silence, synthVoice, toWav } from "../../tools/fixtures/synth";
import { service } from "../helpers/e2e";
import { eventually, getJson } from "../helpers/http";

// Deepgram's messages as the SDK hands them over, read loosely: their shape is pinned in deepgram-wire.test.ts.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Message = Record<string, any>;

const client = () => new DeepgramClient({ apiKey: "local-dev-key", baseUrl: service() });

/** Messages of a connection, awaited by a predicate (waits follow what arrived, never the clock). */
function inbox() {
  const messages: Message[] = [];
  let wake = () => undefined as void;
  const next = async (match: (m: Message) => boolean, after = 0): Promise<Message> => {
    for (;;) {
      const found = messages.slice(after).find(match);
      if (found) return found;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  };
  return {
    messages,
    next,
    push: (m: Message) => {
      messages.push(m);
      wake();
    },
  };
}

describe("@deepgram/sdk against /v1/listen", () => {
  it("live: interim and final results, KeepAlive in a pause, Finalize, CloseStream, Metadata, then the enhanced transcript", async () => {
    const connection = await client().listen.v1.connect({
      model: "nova-3",
      encoding: "linear16",
      sample_rate: 16000,
      interim_results: "true",
      punctuate: "true",
      // This service's own parameters travel as the SDK's extra query parameters.
      queryParams: { enhance_on_end: "true" },
    });
    const received = inbox();
    const closed = new Promise<{ code: number }>((resolve) => connection.on("close", (event) => resolve(event as { code: number })));
    connection.on("message", (m) => received.push(m as Message));
    connection.connect();
    await connection.waitForOpen();

    // First utterance, ended by a pause: interims, then a final at the endpoint.
    connection.sendMedia(pcmBytes(concatPcm(synthVoice({ f0: 120, seconds: 1.2 }), silence(0.8))));
    const first = await received.next((m) => m.type === "Results" && m.is_final);
    expect(received.messages.some((m) => m.type === "Results" && m.is_final === false)).toBe(true);
    expect(first).toMatchObject({ speech_final: true, from_finalize: false });
    expect(first.channel.alternatives[0].transcript).toBe("Hello, my name is Alice.");

    // A pause with only KeepAlive, then the second utterance, flushed by Finalize.
    connection.sendKeepAlive({ type: "KeepAlive" });
    connection.sendKeepAlive({ type: "KeepAlive" });
    connection.sendMedia(pcmBytes(synthVoice({ f0: 220, seconds: 1.2 })));
    connection.sendFinalize({ type: "Finalize" });
    const second = await received.next((m) => m.type === "Results" && m.is_final && m !== first);
    expect(second).toMatchObject({ from_finalize: true });
    expect(second.channel.alternatives[0].transcript).toBe("Hi Alice, I am Bob.");
    expect(second.start).toBeGreaterThan(first.start + first.duration);

    connection.sendCloseStream({ type: "CloseStream" });
    const metadata = await received.next((m) => m.type === "Metadata");
    expect((await closed).code).toBe(1000);
    expect(metadata.request_id).toBe(metadata.session_id);
    expect(metadata.enhancement_job_id).toMatch(/^job_/);

    // The enhancement, read through this service's own API.
    const enhanced = await eventually(async () => {
      const { body } = await getJson<{ status: string; transcript?: { segments: { speaker: string; text: string }[] } }>(
        `${service()}/v1/audio/transcriptions/stream/${metadata.session_id}/enhancement`,
      );
      return body.status === "completed" && body.transcript;
    }, 60_000);
    expect(enhanced.segments.map((s) => s.text)).toEqual(["Hello, my name is Alice.", "Hi Alice, I am Bob."]);
    expect(new Set(enhanced.segments.map((s) => s.speaker)).size).toBe(2);
  });

  it("live: a bad parameter surfaces through the SDK as an error", async () => {
    const abort = new AbortController();
    const connection = await client().listen.v1.connect({ model: "nova-3", encoding: "opus", abortSignal: abort.signal });
    const error = new Promise<Error>((resolve) => connection.on("error", (err) => resolve(err as Error)));
    connection.connect();
    const err = await error;
    abort.abort();
    expect(err.message).toContain("400");
  });

  it("prerecorded: transcribeFile returns words with speakers, and utterances", async () => {
    const wav = toWav(conversation({ turns: [{ f0: 110, seconds: 1.2 }, { f0: 220, seconds: 1.2 }], gapSeconds: 0.6 }));
    const response = (await client().listen.v1.media.transcribeFile(Buffer.from(wav), {
      model: "nova-3",
      diarize: true,
      utterances: true,
      punctuate: true,
    })) as Message;
    const alternative = response.results.channels[0].alternatives[0];
    expect(alternative.transcript).toBe("Hello, my name is Alice. Hi Alice, I am Bob.");
    expect(new Set(alternative.words.map((w: Message) => w.speaker))).toEqual(new Set([0, 1]));
    expect(alternative.words[0]).toMatchObject({ word: "hello", punctuated_word: "Hello,", speaker: 0 });
    expect(response.results.utterances.map((u: Message) => u.speaker)).toEqual([0, 1]);
    expect(response.metadata).toMatchObject({ request_id: expect.stringMatching(/^job_/), channels: 1 });
    expect(response.results.speakers).toEqual([
      { speaker: 0, name: "Alice", name_source: expect.any(String) },
      { speaker: 1, name: "Bob", name_source: expect.any(String) },
    ]);
  });

  it("prerecorded with callback: request_id at once, the same JSON POSTed to the callback when done", async () => {
    const delivered = new Promise<{ body: Message; request: IncomingMessage }>((resolve) => {
      const receiver = createServer((request, res) => {
        let body = "";
        request.on("data", (chunk: Buffer) => (body += chunk.toString()));
        request.on("end", () => {
          res.writeHead(200).end();
          receiver.close();
          resolve({ body: JSON.parse(body) as Message, request });
        });
      });
      receiver.listen(0, "127.0.0.1", () => start((receiver.address() as AddressInfo).port));
    });
    let accepted: Message = {};
    const start = async (port: number) => {
      const wav = toWav(conversation({ turns: [{ f0: 110, seconds: 1.0 }, { f0: 220, seconds: 1.0 }], gapSeconds: 0.6 }));
      accepted = (await client().listen.v1.media.transcribeFile(Buffer.from(wav), {
        model: "nova-3",
        diarize: true,
        callback: `http://127.0.0.1:${port}/deepgram`,
      })) as Message;
    };
    const { body, request } = await delivered;
    expect(request.method).toBe("POST");
    expect(request.headers["content-type"]).toContain("application/json");
    await eventually(async () => accepted.request_id);
    expect(body.metadata.request_id).toBe(accepted.request_id);
    expect(body.results.channels[0].alternatives[0].words.every((w: Message) => typeof w.speaker === "number")).toBe(true);
  });
});
