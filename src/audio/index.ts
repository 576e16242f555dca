/**
 * Audio (DESIGN §2): WAV headers, sample conversions (μ-law, A-law, f32 → s16)
 * and resampling to the 16 kHz s16le mono the service records and sends on.
 * Pure TypeScript: runs unchanged in workerd and Node.
 */
export { createAudioConverter, isWholeSamples, OUTPUT_SAMPLE_RATE, type AudioConverter } from "./convert";
export {
  MAX_STREAM_SAMPLE_RATE,
  MAX_UPLOAD_CHANNELS,
  MAX_UPLOAD_SAMPLE_RATE,
  MIN_INPUT_SAMPLE_RATE,
} from "./limits";
export {
  alawToS16,
  decodeAlaw,
  decodeMulaw,
  encodeAlaw,
  encodeMulaw,
  mulawToS16,
  s16ToAlaw,
  s16ToMulaw,
} from "./g711";
export {
  f32ArrayToS16,
  f32ToS16,
  readF32LE,
  readS16LE,
  roundToS16,
  s16ArrayToF32,
  s16ToF32,
  writeF32LE,
  writeS16LE,
} from "./pcm";
export { MAX_RATE_RATIO, MAX_RESAMPLER_BYTES, Resampler, resamplerBytes, type ResamplerDesign } from "./resampler";
export {
  parseWav,
  parseWavHeader,
  WAV_HEADER_BYTES,
  WavError,
  wavHeader,
  type WavErrorCode,
  type WavFormat,
  type WavHeaderInfo,
  type WavHeaderOptions,
  type WavInfo,
} from "./wav";
