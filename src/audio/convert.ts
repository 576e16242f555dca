/**
 * Client audio (any encoding the protocol allows, 8–48 kHz streams, 8–96 kHz
 * uploads) to the canonical 16 kHz s16le mono the recorder stores and engines receive.
 */
import { BYTES_PER_SAMPLE, type AudioEncoding } from "../protocol/messages";
import { decodeAlaw, decodeMulaw } from "./g711";
import { MAX_UPLOAD_SAMPLE_RATE, MIN_INPUT_SAMPLE_RATE, OUTPUT_SAMPLE_RATE } from "./limits";
import { f32ArrayToS16, readF32LE, readS16LE, s16BytesLE } from "./pcm";
import { Resampler } from "./resampler";

export { OUTPUT_SAMPLE_RATE };

/** Turns one session's incoming frames into 16 kHz s16le mono bytes. */
export interface AudioConverter {
  /**
   * True when input is already 16 kHz s16le: `push` returns the very frame it
   * was given, so a recording is byte-for-byte what the client sent.
   */
  readonly passthrough: boolean;
  /**
   * Converts the next frame, which must be a whole number of samples (see
   * {@link isWholeSamples}). Returns the frame itself when `passthrough`,
   * otherwise fresh bytes (possibly empty while the resampler fills its window).
   * @throws RangeError if the frame is not a whole number of samples
   */
  push(frame: Uint8Array): Uint8Array;
  /** Ends the stream and returns the remaining output (empty unless resampling). */
  flush(): Uint8Array;
}

/** Whether `byteLength` bytes are a whole number of `encoding` samples (mono). */
export function isWholeSamples(encoding: AudioEncoding, byteLength: number): boolean {
  return Number.isInteger(byteLength) && byteLength >= 0 && byteLength % BYTES_PER_SAMPLE[encoding] === 0;
}

/**
 * A converter for a stream declared as `encoding` at `sampleRate` Hz.
 * @throws RangeError if `sampleRate` is not an integer from MIN_INPUT_SAMPLE_RATE to MAX_UPLOAD_SAMPLE_RATE
 */
export function createAudioConverter(encoding: AudioEncoding, sampleRate: number): AudioConverter {
  if (!Number.isSafeInteger(sampleRate) || sampleRate < MIN_INPUT_SAMPLE_RATE || sampleRate > MAX_UPLOAD_SAMPLE_RATE) {
    throw new RangeError(`sampleRate must be an integer from ${MIN_INPUT_SAMPLE_RATE} to ${MAX_UPLOAD_SAMPLE_RATE}, got ${sampleRate}`);
  }
  if (encoding === "pcm_s16le" && sampleRate === OUTPUT_SAMPLE_RATE) return new PassthroughConverter();
  return new DecodingConverter(encoding, sampleRate);
}

class PassthroughConverter implements AudioConverter {
  readonly passthrough = true;

  push(frame: Uint8Array): Uint8Array {
    checkWhole("pcm_s16le", frame);
    return frame;
  }

  flush(): Uint8Array {
    return new Uint8Array(0);
  }
}

class DecodingConverter implements AudioConverter {
  readonly passthrough = false;
  readonly #encoding: AudioEncoding;
  /** Absent at 16 kHz: decoding alone is enough. */
  readonly #resampler: Resampler | undefined;

  constructor(encoding: AudioEncoding, sampleRate: number) {
    this.#encoding = encoding;
    this.#resampler = sampleRate === OUTPUT_SAMPLE_RATE ? undefined : new Resampler(sampleRate, OUTPUT_SAMPLE_RATE);
  }

  push(frame: Uint8Array): Uint8Array {
    checkWhole(this.#encoding, frame);
    // Float input goes to the resampler as float, so it is rounded to s16 once, after filtering.
    const samples = this.#encoding === "pcm_f32le" ? readF32LE(frame) : decodeS16(this.#encoding, frame);
    let out: Int16Array;
    if (this.#resampler !== undefined) out = this.#resampler.process(samples);
    else out = samples instanceof Float32Array ? f32ArrayToS16(samples) : samples;
    // `out` is freshly allocated above and not kept, so its memory can back the returned bytes.
    return s16BytesLE(out);
  }

  flush(): Uint8Array {
    return this.#resampler === undefined ? new Uint8Array(0) : s16BytesLE(this.#resampler.flush());
  }
}

function decodeS16(encoding: Exclude<AudioEncoding, "pcm_f32le">, frame: Uint8Array): Int16Array {
  switch (encoding) {
    case "pcm_s16le":
      return readS16LE(frame);
    case "mulaw":
      return decodeMulaw(frame);
    case "alaw":
      return decodeAlaw(frame);
  }
}

function checkWhole(encoding: AudioEncoding, frame: Uint8Array): void {
  if (!isWholeSamples(encoding, frame.byteLength)) {
    throw new RangeError(
      `${frame.byteLength}-byte frame is not a whole number of ${BYTES_PER_SAMPLE[encoding]}-byte ${encoding} samples`,
    );
  }
}
