/**
 * Lossless recording to R2 through the real stack: what the client sent is
 * what the WAV holds, byte for byte, whatever happens to the engine or client.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encodeAlaw, encodeMulaw } from "../../src/audio/g711";
import { eventually, getJson, sha256, wavData } from "../helpers/http";
import { connect, sendInFrames } from "../helpers/ws-client";
import { service, wsUrl, emulator, resetEmulatorAfterEach } from "../helpers/e2e";

resetEmulatorAfterEach();

/** Random s16 audio: any reordering, loss or duplication changes the hash. */
const noise = (seconds: number) => new Uint8Array(randomBytes(Math.round(seconds * 16000) * 2));

async function download(sessionId: string): Promise<Uint8Array> {
  const res = await fetch(`${service()}/v1/audio/transcriptions/stream/${sessionId}/audio`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("audio/wav");
  return new Uint8Array(await res.arrayBuffer());
}

async function streamAndEnd(pcm: Uint8Array, frameBytes: number, query = "") {
  const client = await connect(wsUrl(query));
  const begin = await client.next("session.begin");
  await sendInFrames(client, pcm, frameBytes);
  const t0 = performance.now();
  await client.sendJson({ type: "end" });
  const end = await client.next("session.end", 60_000);
  return { client, begin, end, endLatencyMs: performance.now() - t0 };
}

describe("recording (e2e)", () => {
  it.each([2, 20, 320, 3200, 32_000, 262_144])("records %i-byte frames byte for byte", async (frameBytes) => {
    const seconds = frameBytes <= 20 ? 0.5 : 6;
    const pcm = noise(seconds);
    const { begin, end } = await streamAndEnd(pcm, frameBytes);
    expect(end.total_duration).toBeCloseTo(seconds, 3);
    const { data, sampleRate } = wavData(await download(begin.session_id));
    expect(sampleRate).toBe(16000);
    expect(data.byteLength).toBe(pcm.byteLength);
    expect(sha256(data)).toBe(sha256(pcm));
  });

  it("records a recording longer than one part (multipart, part 1 last) byte for byte, with HTTP Range", async () => {
    const pcm = noise(400); // 12.8 MB: parts 2 and 3 are uploaded during the session
    const { begin, end, endLatencyMs } = await streamAndEnd(pcm, 64_000);
    expect(end.total_duration).toBe(400);
    const wav = await download(begin.session_id);
    expect(sha256(wavData(wav).data)).toBe(sha256(pcm));
    expect(endLatencyMs).toBeLessThan(5000);

    const ranged = await fetch(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}/audio`, {
      headers: { Range: "bytes=44-1043" },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes 44-1043/${wav.byteLength}`);
    expect(sha256(new Uint8Array(await ranged.arrayBuffer()))).toBe(sha256(pcm.subarray(0, 1000)));

    const record = await getJson<Record<string, unknown>>(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}`);
    expect(record.body).toMatchObject({ status: "completed", bytes_recorded: pcm.byteLength, duration_seconds: 400, recording_available: true });
  });

  it("records everything while the engine is unreachable for the whole session", async () => {
    await emulator("/__emulator/control", { refuseConnections: true });
    const pcm = noise(5);
    const { begin, client } = await streamAndEnd(pcm, 3200);
    expect(client.messages.some((m) => m.type === "error" && m.code === "engine_unavailable")).toBe(true);
    expect(sha256(wavData(await download(begin.session_id)).data)).toBe(sha256(pcm));
  });

  it("records audio sent before the engine link opened (slow engine)", async () => {
    await emulator("/__emulator/control", { resultDelayMs: 300 });
    const pcm = noise(2);
    const { begin } = await streamAndEnd(pcm, 640);
    expect(sha256(wavData(await download(begin.session_id)).data)).toBe(sha256(pcm));
  });

  it("finishes the recording of a client that vanished without end, and marks the session interrupted", async () => {
    const pcm = noise(3);
    const client = await connect(wsUrl());
    const begin = await client.next("session.begin");
    await sendInFrames(client, pcm, 3200);
    await new Promise((r) => setTimeout(r, 200));
    client.ws.terminate();
    const record = await eventually(async () => {
      const r = await getJson<{ status: string }>(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}`);
      return r.body.status === "interrupted" ? r.body : null;
    }, 30_000);
    expect(record).toMatchObject({ end_reason: "client_gone", bytes_recorded: pcm.byteLength });
    expect(sha256(wavData(await download(begin.session_id)).data)).toBe(sha256(pcm));
  });

  it("404s the recording of an active session, with the error JSON", async () => {
    const client = await connect(wsUrl());
    const begin = await client.next("session.begin");
    const res = await getJson(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}/audio`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: "not_found" } });
    const record = await eventually(async () => {
      const r = await getJson<{ status: string }>(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}`);
      return r.status === 200 ? r.body : null;
    });
    expect(record.status).toBe("active");
    await client.sendJson({ type: "end" });
    await client.next("session.end");
  });

  describe("conversions to 16 kHz s16 (known signals)", () => {
    const tone = (rate: number, seconds: number, freq: number, amp = 0.5) => {
      const n = Math.round(rate * seconds);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
      return out;
    };
    const toS16 = (x: Float64Array) => Int16Array.from(x, (v) => Math.round(v * 32767));
    const bytes = (a: Int16Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    /** Amplitude of `freq` in 16 kHz s16 samples (single-bin DFT over the middle). */
    const amplitudeAt = (pcm: Uint8Array, freq: number) => {
      const s = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
      const from = Math.floor(s.length * 0.25);
      const to = Math.floor(s.length * 0.75);
      let re = 0;
      let im = 0;
      for (let i = from; i < to; i++) {
        re += (s[i]! / 32768) * Math.cos((2 * Math.PI * freq * i) / 16000);
        im += (s[i]! / 32768) * Math.sin((2 * Math.PI * freq * i) / 16000);
      }
      return (2 * Math.hypot(re, im)) / (to - from);
    };

    const cases: [string, number, (x: Float64Array) => Uint8Array][] = [
      ["pcm_s16le", 8000, (x) => bytes(toS16(x))],
      ["pcm_s16le", 44100, (x) => bytes(toS16(x))],
      ["pcm_s16le", 48000, (x) => bytes(toS16(x))],
      ["pcm_f32le", 48000, (x) => bytes(Float32Array.from(x))],
      ["pcm_f32le", 16000, (x) => bytes(Float32Array.from(x))],
      ["mulaw", 8000, (x) => encodeMulaw(toS16(x))],
      ["alaw", 8000, (x) => encodeAlaw(toS16(x))],
    ];
    it.each(cases)("%s at %i Hz: a 1 kHz tone keeps its level and the duration is exact", async (encoding, rate, encode) => {
      const seconds = 4;
      const input = encode(tone(rate, seconds, 1000));
      const bytesPerSample = encoding === "pcm_f32le" ? 4 : encoding === "pcm_s16le" ? 2 : 1;
      const { begin, end } = await streamAndEnd(input, bytesPerSample * Math.round(rate / 50), `encoding=${encoding}&sample_rate=${rate}`);
      const { data } = wavData(await download(begin.session_id));
      // Duration within 1 ms per minute of input.
      expect(Math.abs(data.byteLength / 32000 - seconds)).toBeLessThanOrEqual((seconds / 60) * 0.001 + 1 / 16000);
      expect(end.total_duration).toBeCloseTo(seconds, 2);
      const level = amplitudeAt(data, 1000);
      expect(level).toBeGreaterThan(0.5 * 0.97);
      expect(level).toBeLessThan(0.5 * 1.03);
    });

    it("48 kHz input: a 12 kHz tone (above the 8 kHz output Nyquist) is filtered out, not aliased to 4 kHz", async () => {
      const input = bytes(toS16(tone(48000, 3, 12_000)));
      const { begin } = await streamAndEnd(input, 9600, "encoding=pcm_s16le&sample_rate=48000");
      const { data } = wavData(await download(begin.session_id));
      expect(amplitudeAt(data, 4000)).toBeLessThan(0.5 * 10 ** (-60 / 20));
    });
  });
});

describe("long sessions (e2e)", () => {
  it("records a 60-minute session streamed faster than real time, byte for byte, and ends fast", async () => {
    const seconds = 3600;
    // Deterministic pseudo-random audio, generated in 10 s blocks so the test never holds two copies.
    const block = (i: number) => {
      const out = new Uint8Array(320_000);
      let x = (i + 1) * 2654435761;
      for (let j = 0; j < out.length; j++) {
        x = (x * 1103515245 + 12345) >>> 0;
        out[j] = x >>> 24;
      }
      return out;
    };
    const client = await connect(wsUrl());
    const begin = await client.next("session.begin");
    const hash = (await import("node:crypto")).createHash("sha256");
    for (let i = 0; i < seconds / 10; i++) {
      const b = block(i);
      hash.update(b);
      await sendInFrames(client, b, 32_000);
    }
    const t0 = performance.now();
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end", 60_000);
    const endMs = performance.now() - t0;
    expect(end.total_duration).toBe(seconds);
    expect(endMs).toBeLessThan(10_000); // a generous bound; the benchmark reports the real figure

    const res = await fetch(`${service()}/v1/audio/transcriptions/stream/${begin.session_id}/audio`);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get("content-length"))).toBe(44 + seconds * 32000);
    // Stream the download through the hash: never hold the 115 MB file.
    const downloaded = (await import("node:crypto")).createHash("sha256");
    let header: Uint8Array | null = null;
    let skip = 44;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      let c = chunk;
      if (skip > 0) {
        header ??= c.subarray(0, Math.min(44, c.byteLength));
        const n = Math.min(skip, c.byteLength);
        c = c.subarray(n);
        skip -= n;
      }
      downloaded.update(c);
    }
    expect(downloaded.digest("hex")).toBe(hash.digest("hex"));
  });
});
