/**
 * Linear PCM sample conversions.
 *
 * Float samples use the ±1.0 = ±32768 convention (the one Web Audio and most
 * codecs use), so s16 → f32 → s16 is exact and only +1.0 itself clips (to 32767).
 *
 * Byte readers never assume alignment: a WebSocket frame's Uint8Array may start
 * at any byteOffset, and an Int16Array/Float32Array view on an odd offset throws.
 */

const S16_SCALE = 32768;

/** True on little-endian hosts (all that Workers and Node run on), where typed arrays already hold LE bytes. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Rounds a value on the 16-bit scale to the nearest s16, ties away from zero
 * (so negating the input negates the output), clipping to [-32768, 32767].
 * NaN becomes 0.
 */
export function roundToS16(value: number): number {
  if (value >= 32767) return 32767;
  if (value <= -32768) return -32768;
  // `| 0` turns NaN into 0 and -0 into 0.
  return (value < 0 ? -Math.floor(0.5 - value) : Math.floor(value + 0.5)) | 0;
}

/** One float sample (±1.0 full scale) to s16, rounded and clipped. */
export function f32ToS16(sample: number): number {
  return roundToS16(sample * S16_SCALE);
}

/** One s16 sample to float (±1.0 full scale); exact. */
export function s16ToF32(sample: number): number {
  return sample / S16_SCALE;
}

/**
 * Float samples to s16, rounded and clipped.
 * @param out where to write; must hold `input.length` samples. @default a new Int16Array
 */
export function f32ArrayToS16(input: Float32Array, out: Int16Array = new Int16Array(input.length)): Int16Array {
  const n = input.length;
  if (out.length < n) throw new RangeError(`output holds ${out.length} samples, need ${n}`);
  for (let i = 0; i < n; i++) out[i] = roundToS16(input[i]! * S16_SCALE);
  return out;
}

/**
 * s16 samples to float (±1.0 full scale).
 * @param out where to write; must hold `input.length` samples. @default a new Float32Array
 */
export function s16ArrayToF32(input: Int16Array, out: Float32Array = new Float32Array(input.length)): Float32Array {
  const n = input.length;
  if (out.length < n) throw new RangeError(`output holds ${out.length} samples, need ${n}`);
  for (let i = 0; i < n; i++) out[i] = input[i]! / S16_SCALE;
  return out;
}

/**
 * Little-endian s16 bytes to samples, at any byteOffset. Always a copy.
 * @throws RangeError if the length is not a whole number of samples.
 */
export function readS16LE(bytes: Uint8Array): Int16Array {
  const n = wholeSamples(bytes, 2);
  if (HOST_IS_LITTLE_ENDIAN) return new Int16Array(bytes.slice().buffer, 0, n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/**
 * Little-endian f32 bytes to samples, at any byteOffset. Always a copy.
 * @throws RangeError if the length is not a whole number of samples.
 */
export function readF32LE(bytes: Uint8Array): Float32Array {
  const n = wholeSamples(bytes, 4);
  if (HOST_IS_LITTLE_ENDIAN) return new Float32Array(bytes.slice().buffer, 0, n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Samples to fresh little-endian s16 bytes. */
export function writeS16LE(samples: Int16Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(samples.slice().buffer);
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i]!, true);
  return out;
}

/** Samples to fresh little-endian f32 bytes. */
export function writeF32LE(samples: Float32Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(samples.slice().buffer);
  const out = new Uint8Array(samples.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setFloat32(i * 4, samples[i]!, true);
  return out;
}

/**
 * Little-endian bytes of samples the caller owns and will not touch again:
 * the same memory on little-endian hosts, so a freshly computed frame is not
 * copied a second time.
 * @internal
 */
export function s16BytesLE(samples: Int16Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  return writeS16LE(samples);
}

function wholeSamples(bytes: Uint8Array, size: number): number {
  if (bytes.length % size !== 0) {
    throw new RangeError(`${bytes.length} bytes is not a whole number of ${size}-byte samples`);
  }
  return bytes.length / size;
}
