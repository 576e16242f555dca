// Uploads whose header or fields are out of range are refused at the door with the reason,
// and an upload that cannot be queued leaves nothing behind (README "Limits").
import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseWav } from "../../src/audio/wav";
import { readConfig, type AppEnv } from "../../src/config";
import { createUploadJob, UploadError, UPLOAD_AUDIO_NAME } from "../../src/ingest/upload";
import { MAX_LANGUAGE_LENGTH } from "../../src/protocol/params";
import { r2Keys } from "../../src/store/keys";
import type { JobMessage } from "../../src/store/records";
import { createRedis } from "../../src/store/redis";
import { Store } from "../../src/store/store";
import { BASE, eventually } from "./client";
import { s16Bytes, tonePcm, wavFile } from "./fixtures/audio";

const appEnv = env as AppEnv;
const store = new Store(createRedis(appEnv), readConfig(appEnv).store);
const UPLOAD_PATH = "/v1/audio/transcriptions";

const asFile = (bytes: Uint8Array) => new File([bytes], "upload.wav", { type: "audio/wav" });

/** Half a second of s16 audio (zeros) with whatever header the case claims. */
const claiming = (sampleRate: number, channels = 1) => wavFile(new Uint8Array(channels * 2 * 8000), { sampleRate, channels });

/** Accepted jobs run on the worker's own queue consumer: wait for them, so none is cut off when the file ends. */
const finished = (id: string) =>
  eventually(async () => {
    const job = await store.getJob(id);
    return job?.status === "completed" || job?.status === "failed" ? job : null;
  }, 25_000);

async function post(bytes: Uint8Array, fields: Record<string, string> = {}): Promise<{ status: number; body: { error?: { code: string; message: string; param?: string } } }> {
  const form = new FormData();
  form.set("file", new Blob([bytes]), "upload.wav");
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  const res = await SELF.fetch(`${BASE}${UPLOAD_PATH}`, { method: "POST", body: form });
  return { status: res.status, body: (await res.json()) as never };
}

describe("upload header limits", () => {
  it.each([
    ["7,999 Hz", claiming(7999), /sample rate is 7999 Hz; uploads must be 8000–96000 Hz/],
    ["96,001 Hz", claiming(96001), /sample rate is 96001 Hz/],
    ["1 MHz", claiming(1_000_000), /sample rate is 1000000 Hz/],
    // Once took 23 s and 1.29 GB in the resampler; now refused from the header alone.
    ["100 MHz", claiming(100_000_000), /sample rate is 100000000 Hz/],
    ["3 channels", claiming(16000, 3), /3 channels; uploads must be mono or stereo/],
    ["64 channels", claiming(16000, 64), /64 channels/],
  ])("refuses a WAV claiming %s with 415 naming the reason", async (_name, bytes, reason) => {
    const err = await createUploadJob(appEnv, store, { file: asFile(bytes), options: {}, owner: "anonymous" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect(err).toMatchObject({ status: 415, code: "unsupported_media_type", message: expect.stringMatching(reason) });
  });

  it("the route answers those with the error JSON naming the file", async () => {
    const { status, body } = await post(claiming(1_000_000));
    expect(status).toBe(415);
    expect(body.error).toEqual({ code: "unsupported_media_type", message: expect.stringContaining("1000000 Hz"), param: "file" });
  });

  it("accepts 96 kHz 24-bit stereo (field recorders) and stores it as 16 kHz mono", async () => {
    const mono = tonePcm([{ gap: 0.2, seconds: 1, freq: 440 }], 0.3, 96000);
    const frames = new Uint8Array(mono.length * 6);
    mono.forEach((s, i) => {
      for (const c of [0, 3]) {
        frames[6 * i + c + 1] = s & 0xff; // 24-bit: the s16 sample shifted up one byte
        frames[6 * i + c + 2] = (s >> 8) & 0xff;
      }
    });
    const { id } = await createUploadJob(appEnv, store, {
      file: asFile(wavFile(frames, { sampleRate: 96000, channels: 2, bitsPerSample: 24 })),
      options: {},
      owner: "anonymous",
    });
    const stored = await env.RECORDINGS.get(r2Keys.upload(id, UPLOAD_AUDIO_NAME));
    const wav = parseWav(new Uint8Array(await stored!.arrayBuffer()));
    expect(wav).toMatchObject({ format: "pcm_s16le", sampleRate: 16000, channels: 1, dataBytes: Math.ceil(mono.length / 6) * 2 });
    expect((await finished(id)).status).toBe("completed");
  });
});

describe("upload field limits and the queue", () => {
  it("a 200 KB language field is refused with 400 naming it (it once made the queue send fail: 503, never succeeding)", async () => {
    const { status, body } = await post(wavFile(s16Bytes(tonePcm([{ gap: 0, seconds: 0.5, freq: 200 }]))), { language: "en-abcdefgh".repeat(20_000) });
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: "invalid_request", param: "language", message: expect.stringContaining(`at most ${MAX_LANGUAGE_LENGTH} characters`) });
  });

  it(`a language of exactly ${MAX_LANGUAGE_LENGTH} characters is accepted`, async () => {
    const language = "en-abcdefgh-abcdefgh-abcdefgh-abcde";
    expect(language).toHaveLength(MAX_LANGUAGE_LENGTH);
    const { status, body } = await post(wavFile(s16Bytes(tonePcm([{ gap: 0, seconds: 0.5, freq: 200 }]))), { language });
    expect(status).toBe(201);
    const job = await finished((body as unknown as { id: string }).id);
    expect(job).toMatchObject({ status: "completed", parameters: { language } });
  });

  it("when the queue refuses the message, the stored audio is deleted and the job is failed, not left pending", async () => {
    let sent: JobMessage | undefined;
    const refusingQueue = {
      send: async (message: JobMessage) => {
        sent = message;
        throw new Error("Queue send failed: the queue is unavailable");
      },
    };
    const failingEnv = { ...appEnv, ENHANCEMENT_QUEUE: refusingQueue as unknown as AppEnv["ENHANCEMENT_QUEUE"] };
    const upload = wavFile(s16Bytes(tonePcm([{ gap: 0, seconds: 0.5, freq: 200 }])));
    await expect(createUploadJob(failingEnv, store, { file: asFile(upload), options: {}, owner: "anonymous" })).rejects.toThrow(/unavailable/);
    expect(sent).toBeDefined();
    expect(await env.RECORDINGS.head(sent!.audio_key)).toBeNull();
    expect(await store.getJob(sent!.job_id)).toMatchObject({ status: "failed", error: { code: "queue_unavailable" } });
  });
});
