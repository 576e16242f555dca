/**
 * Reading a job's recording from R2 without holding it in memory: the header
 * from a small range read, then the PCM one chunk at a time with range reads
 * (an hour of 16 kHz s16 is 115 MB; a Worker has 128 MB).
 */
import { parseWavHeader, WAV_HEADER_BYTES, wavHeader } from "../audio/wav";
import { PermanentJobError } from "./errors";

import { STREAM_BYTES_PER_SECOND, STREAM_SAMPLE_RATE } from "../audio/format";

/** Recordings are the canonical stream (src/audio/format.ts). */
export const PIPELINE_SAMPLE_RATE = STREAM_SAMPLE_RATE;
export const BYTES_PER_SECOND = STREAM_BYTES_PER_SECOND;
/** Header bytes read to find the data chunk (LIST and other chunks may precede it). */
const HEADER_PROBE_BYTES = 64 * 1024;

export interface StoredRecording {
  key: string;
  /** Offset of the first PCM byte in the object. */
  dataOffset: number;
  /** PCM bytes available (whole samples). */
  dataBytes: number;
  durationSeconds: number;
}

/**
 * Finds and checks the recording: a 16 kHz s16le mono WAV.
 * @throws PermanentJobError when it is missing, unreadable or in another format
 */
export async function openRecording(bucket: R2Bucket, key: string): Promise<StoredRecording> {
  const head = await bucket.head(key);
  if (!head) throw new PermanentJobError("audio_not_found", `the recording ${key} does not exist`);
  const probe = await bucket.get(key, { range: { offset: 0, length: Math.min(HEADER_PROBE_BYTES, head.size) } });
  if (!probe) throw new PermanentJobError("audio_not_found", `the recording ${key} does not exist`);
  const prefix = new Uint8Array(await probe.arrayBuffer());
  let header;
  try {
    header = parseWavHeader(prefix);
  } catch (err) {
    throw new PermanentJobError("audio_unreadable", `the recording is not a readable WAV: ${(err as Error).message}`, { cause: err });
  }
  if (header === null) {
    throw new PermanentJobError("audio_unreadable", "the recording is not a readable WAV: no data chunk in its first 64 KiB");
  }
  if (header.format !== "pcm_s16le" || header.sampleRate !== PIPELINE_SAMPLE_RATE || header.channels !== 1) {
    throw new PermanentJobError(
      "audio_unsupported",
      `the recording is ${header.format} ${header.sampleRate} Hz ${header.channels}-channel; the pipeline reads 16 kHz s16le mono`,
    );
  }
  const available = Math.max(0, head.size - header.dataOffset);
  let dataBytes = Math.min(header.dataBytes ?? available, available);
  dataBytes -= dataBytes % 2;
  return { key, dataOffset: header.dataOffset, dataBytes, durationSeconds: dataBytes / BYTES_PER_SECOND };
}

/**
 * Reads `length` PCM bytes starting `from` bytes into the data, into a new
 * buffer that has {@link WAV_HEADER_BYTES} free at the front (so the caller can
 * make it a WAV without copying the audio again).
 */
export async function readPcmRange(bucket: R2Bucket, recording: StoredRecording, from: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(WAV_HEADER_BYTES + length);
  if (length === 0) return out;
  const object = await bucket.get(recording.key, { range: { offset: recording.dataOffset + from, length } });
  if (!object) throw new PermanentJobError("audio_not_found", `the recording ${recording.key} disappeared while being read`);
  const reader = object.body.getReader();
  let at = WAV_HEADER_BYTES;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.byteLength, out.length - at);
    out.set(value.subarray(0, take), at);
    at += take;
  }
  if (at !== out.length) {
    throw new Error(`short read of ${recording.key}: wanted ${length} bytes at ${from}, got ${at - WAV_HEADER_BYTES}`);
  }
  return out;
}

/** Writes the canonical header into the first 44 bytes of a buffer from {@link readPcmRange}, for `pcmBytes` of audio. */
export function toWav(buffer: Uint8Array, pcmBytes: number): Uint8Array {
  buffer.set(wavHeader({ dataBytes: pcmBytes }), 0);
  return buffer.subarray(0, WAV_HEADER_BYTES + pcmBytes);
}

/** Window over which loudness is measured when choosing where to cut. */
export const CUT_WINDOW_SECONDS = 0.05;
/** How far back from a chunk's nominal end the quietest cut point is searched. */
export const CUT_SEARCH_SECONDS = 10;

/**
 * Where to end a chunk: the middle of the quietest 50 ms window within the
 * last {@link CUT_SEARCH_SECONDS} (at most half the chunk), so a cut rarely
 * falls inside a word. Returns a byte offset into the PCM (even, > 0).
 * `pcm` is the chunk's audio starting at `offset` bytes of `buffer`.
 */
export function quietestCut(buffer: Uint8Array, offset: number, pcmBytes: number): number {
  const view = new DataView(buffer.buffer, buffer.byteOffset + offset, pcmBytes);
  const windowBytes = Math.round(CUT_WINDOW_SECONDS * BYTES_PER_SECOND) & ~1;
  const searchBytes = Math.min(Math.round(CUT_SEARCH_SECONDS * BYTES_PER_SECOND), Math.floor(pcmBytes / 2)) & ~1;
  let best = pcmBytes;
  let bestEnergy = Infinity;
  for (let start = pcmBytes - searchBytes; start + windowBytes <= pcmBytes; start += windowBytes) {
    let energy = 0;
    for (let i = start; i < start + windowBytes; i += 2) {
      const s = view.getInt16(i, true);
      energy += s * s;
    }
    // Ties go to the later window: chunks stay as long as allowed.
    if (energy <= bestEnergy) {
      bestEnergy = energy;
      best = start;
    }
  }
  if (best >= pcmBytes) return pcmBytes;
  return Math.max(2, (best + windowBytes / 2) & ~1);
}
