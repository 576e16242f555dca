/** How an uploaded WAV's frames reach the converter (src/ingest/decode.ts). */
import { describe, expect, it } from "vitest";
import { readF32LE, writeS16LE } from "../../src/audio/pcm";
import type { WavFormat, WavHeaderInfo } from "../../src/audio/wav";
import { monoDecoder } from "../../src/ingest/decode";

const info = (format: WavFormat, channels: number, bitsPerSample: number): WavHeaderInfo => ({
  format,
  channels,
  sampleRate: 16000,
  bitsPerSample,
  blockAlign: (channels * bitsPerSample) / 8,
  dataOffset: 44,
  dataBytes: undefined,
});

describe("upload decode", () => {
  it("passes mono s16, f32, μ-law and A-law through untouched", () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    for (const [format, bits] of [["pcm_s16le", 16], ["pcm_f32le", 32], ["mulaw", 8], ["alaw", 8]] as const) {
      const decode = monoDecoder(info(format, 1, bits));
      expect(decode.encoding).toBe(format);
      expect(decode.toMono(bytes)).toBe(bytes);
    }
  });

  it("averages stereo s16 to mono float", () => {
    const decode = monoDecoder(info("pcm_s16le", 2, 16));
    expect(decode.encoding).toBe("pcm_f32le");
    const out = readF32LE(decode.toMono(writeS16LE(new Int16Array([16384, 0, -32768, -32768]))));
    expect([...out]).toEqual([0.25, -1]);
  });

  it("reads 8-bit unsigned and 24-bit signed samples at full scale", () => {
    expect([...readF32LE(monoDecoder(info("pcm_u8", 1, 8)).toMono(new Uint8Array([128, 0, 192])))]).toEqual([0, -1, 0.5]);
    // 24-bit little-endian: 0x400000 (+0.5) and 0x800000 (-1).
    const s24 = new Uint8Array([0x00, 0x00, 0x40, 0x00, 0x00, 0x80]);
    expect([...readF32LE(monoDecoder(info("pcm_s24le", 1, 24)).toMono(s24))]).toEqual([0.5, -1]);
  });
});
