/**
 * The canonical stream (DESIGN §8): 16 kHz, 16-bit little-endian, mono. What
 * every session records, every realtime engine receives and the pipeline
 * reads. The one place that knows its rate and turns its bytes into seconds.
 */

/** Samples per second of the canonical stream. */
export const STREAM_SAMPLE_RATE = 16000;
/** Bytes per sample (s16le mono). */
export const STREAM_BYTES_PER_SAMPLE = 2;
/** 16 kHz × 2 bytes. */
export const STREAM_BYTES_PER_SECOND = STREAM_SAMPLE_RATE * STREAM_BYTES_PER_SAMPLE;
export const STREAM_BYTES_PER_MS = STREAM_BYTES_PER_SECOND / 1000;

/** Seconds of canonical audio in `bytes`. */
export const streamSeconds = (bytes: number): number => bytes / STREAM_BYTES_PER_SECOND;

/** The byte offset of stream time `seconds`, on a whole sample. */
export const streamByteAt = (seconds: number): number => Math.floor(seconds * STREAM_SAMPLE_RATE) * STREAM_BYTES_PER_SAMPLE;

/** Timestamps go out in seconds with millisecond precision. */
export const roundMs = (seconds: number): number => Math.round(seconds * 1000) / 1000;
