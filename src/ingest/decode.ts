/**
 * An uploaded WAV's frames as the audio converter takes them: the formats it
 * reads directly pass through, the rest become mono float.
 */
import type { createAudioConverter } from "../audio/convert";
import { alawToS16, mulawToS16 } from "../audio/g711";
import { writeF32LE } from "../audio/pcm";
import type { WavHeaderInfo } from "../audio/wav";

/**
 * How WAV frames reach the converter: mono s16le, f32le, μ-law and A-law go
 * as they are; everything else (other sample formats, several channels) is
 * decoded to float and the channels averaged (a plain downmix).
 */
export function monoDecoder(info: WavHeaderInfo): { encoding: Parameters<typeof createAudioConverter>[0]; toMono(bytes: Uint8Array): Uint8Array } {
  if (info.channels === 1 && (info.format === "pcm_s16le" || info.format === "pcm_f32le" || info.format === "mulaw" || info.format === "alaw")) {
    const encoding = info.format;
    return { encoding, toMono: (bytes) => bytes };
  }
  const read = sampleReader(info);
  const size = info.bitsPerSample / 8;
  return {
    encoding: "pcm_f32le",
    toMono(bytes) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const frames = Math.floor(bytes.length / info.blockAlign);
      const out = new Float32Array(frames);
      for (let f = 0; f < frames; f++) {
        let sum = 0;
        const base = f * info.blockAlign;
        for (let c = 0; c < info.channels; c++) sum += read(view, base + c * size);
        out[f] = sum / info.channels;
      }
      return writeF32LE(out);
    },
  };
}

/** One sample as float, ±1.0 full scale. */
function sampleReader(info: WavHeaderInfo): (view: DataView, at: number) => number {
  switch (info.format) {
    case "pcm_u8":
      return (v, at) => (v.getUint8(at) - 128) / 128;
    case "pcm_s16le":
      return (v, at) => v.getInt16(at, true) / 32768;
    case "pcm_s24le":
      return (v, at) => ((v.getUint8(at) | (v.getUint8(at + 1) << 8) | (v.getInt8(at + 2) << 16)) / 8388608);
    case "pcm_s32le":
      return (v, at) => v.getInt32(at, true) / 2147483648;
    case "pcm_f32le":
      return (v, at) => v.getFloat32(at, true);
    case "pcm_f64le":
      return (v, at) => v.getFloat64(at, true);
    case "mulaw":
      return (v, at) => mulawToS16(v.getUint8(at)) / 32768;
    case "alaw":
      return (v, at) => alawToS16(v.getUint8(at)) / 32768;
  }
}
