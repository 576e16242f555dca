/**
 * Batch jobs from uploaded files (`POST /v1/audio/transcriptions`): check the
 * WAV header, convert the audio to the 16 kHz s16le mono WAV the pipeline
 * reads (streaming: one input slice and at most two 5 MiB output parts in
 * memory), store it at `uploads/<job_id>/audio.wav`, create the job and queue it.
 */
import { createAudioConverter } from "../audio/convert";
import { MAX_UPLOAD_CHANNELS, MAX_UPLOAD_SAMPLE_RATE, MIN_INPUT_SAMPLE_RATE } from "../audio/limits";
import { parseWavHeader, WavError, type WavHeaderInfo } from "../audio/wav";
import { readConfig, type AppEnv } from "../config";
import { errorMessage, log } from "../log";
import { newJobId } from "../store/ids";
import { r2Keys, UPLOAD_AUDIO_NAME } from "../store/keys";
import { jobMessage, jobParameters, pendingJob } from "../store/records";
import type { Store } from "../store/store";
import { monoDecoder } from "./decode";
import { WavWriter } from "./wav-writer";

export type UploadErrorCode = "invalid_request" | "too_large" | "unsupported_media_type";

/** An upload the route must refuse: `status` and `code` map straight to the error JSON (DESIGN §6). */
export class UploadError extends Error {
  override readonly name = "UploadError";
  readonly status: 400 | 413 | 415;
  readonly code: UploadErrorCode;

  constructor(status: 400 | 413 | 415, code: UploadErrorCode, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The same enhancement options as the stream's `enhance_*` parameters (already validated by the route). */
export interface UploadOptions {
  /** @default false */
  llm_cleanup?: boolean;
  /** @default false */
  emotions?: boolean;
  /** Diarization hint, 1–32. @default null */
  num_speakers?: number | null;
  /** @default "auto" */
  language?: string;
  /** Webhook for this job (README "Webhooks"), already checked by the route. @default null: the key's default */
  webhook_url?: string | null;
}

export interface UploadRequest {
  /** The multipart `file` part. */
  file: Blob;
  options: UploadOptions;
  /** Id of the API key creating the job (the principal's `keyId`; "anonymous" with auth off). */
  owner: string;
}

/** File name of the converted audio under `uploads/<job_id>/` (defined with the other key names). */
export { UPLOAD_AUDIO_NAME };
/** Header bytes looked at before giving up on finding the data chunk. */
const HEADER_PROBE_BYTES = [64 * 1024, 1024 * 1024];
/** Input read per step (rounded down to whole frames). */
const INPUT_SLICE_BYTES = 1024 * 1024;

/**
 * Validates, converts and stores an uploaded WAV, then creates and queues its job.
 * Nothing outlives a failure: the job and its message are built (and so checked)
 * before any audio is stored, and when the job cannot be recorded or queued the
 * stored audio is deleted again (a job already recorded is marked failed, so
 * nothing waits for a message that was never sent).
 * @throws UploadError 413 (larger than MAX_UPLOAD_BYTES), 415 (not a WAV, an
 *   encoding the service cannot decode, or a rate or channel count out of range)
 *   or 400 (a WAV without audio); anything else is the storage or the queue failing
 */
export async function createUploadJob(env: AppEnv, store: Store, request: UploadRequest): Promise<{ id: string; status: "pending" }> {
  const config = readConfig(env);
  const { file, options } = request;
  if (file.size > config.uploads.maxUploadBytes) {
    throw new UploadError(413, "too_large", `the file is ${file.size} bytes; the limit is ${config.uploads.maxUploadBytes}`);
  }
  const header = await readHeader(file);
  checkSupported(header);
  const available = Math.max(0, file.size - header.dataOffset);
  let dataBytes = Math.min(header.dataBytes ?? available, available);
  dataBytes -= dataBytes % header.blockAlign;
  if (dataBytes === 0) throw new UploadError(400, "invalid_request", "the WAV file contains no audio");

  const id = newJobId();
  const job = pendingJob({
    id,
    owner: request.owner,
    created_at: new Date().toISOString(),
    source: "upload",
    source_session_id: null,
    parameters: jobParameters({
      llm_cleanup: options.llm_cleanup ?? false,
      emotions: options.emotions ?? false,
      num_speakers: options.num_speakers ?? null,
      language: options.language || "auto",
    }),
    audio_key: r2Keys.upload(id, UPLOAD_AUDIO_NAME),
    webhook_url: options.webhook_url ?? null,
  });
  const message = jobMessage(job);

  await storeAudio(env.RECORDINGS, job.audio_key, config.recorder.partBytes, file, header, dataBytes);
  const discardAudio = () => env.RECORDINGS.delete(job.audio_key).catch(() => undefined);
  try {
    await store.createJob(job);
  } catch (err) {
    await discardAudio();
    throw err;
  }
  try {
    await env.ENHANCEMENT_QUEUE.send(message);
  } catch (err) {
    // The client is told to upload again, which makes a new job: this one must not linger as pending.
    await Promise.all([
      discardAudio(),
      store
        .updateJob(id, {
          status: "failed",
          completed_at: new Date().toISOString(),
          error: { code: "queue_unavailable", message: "the job could not be queued; upload the file again" },
        })
        .catch(() => undefined),
    ]);
    log("error", "upload.queue_failed", { job_id: id, message: errorMessage(err) });
    throw err;
  }
  log("info", "upload.queued", { job_id: id, bytes: file.size, format: header.format, sample_rate: header.sampleRate, channels: header.channels });
  return { id, status: "pending" };
}

/**
 * Refuses what the header says that the service does not take (README "Limits"):
 * rates outside 8–96 kHz, more than two channels. The rate bounds the
 * resampler's memory and time; the rest of the header (format, bits, block
 * align) is already checked by the parser, and the data size is capped by the file's.
 */
function checkSupported(header: WavHeaderInfo): void {
  if (header.sampleRate < MIN_INPUT_SAMPLE_RATE || header.sampleRate > MAX_UPLOAD_SAMPLE_RATE) {
    throw new UploadError(
      415,
      "unsupported_media_type",
      `the WAV's sample rate is ${header.sampleRate} Hz; uploads must be ${MIN_INPUT_SAMPLE_RATE}–${MAX_UPLOAD_SAMPLE_RATE} Hz`,
    );
  }
  if (header.channels > MAX_UPLOAD_CHANNELS) {
    throw new UploadError(
      415,
      "unsupported_media_type",
      `the WAV has ${header.channels} channels; uploads must be mono or stereo (at most ${MAX_UPLOAD_CHANNELS})`,
    );
  }
}

/** Converts the WAV's audio to 16 kHz s16le mono and writes it to `key`, or leaves nothing there. */
async function storeAudio(bucket: R2Bucket, key: string, partBytes: number, file: Blob, header: WavHeaderInfo, dataBytes: number): Promise<void> {
  const writer = new WavWriter(bucket, key, partBytes);
  try {
    const decode = monoDecoder(header);
    const converter = createAudioConverter(decode.encoding, header.sampleRate);
    const slice = Math.max(header.blockAlign, INPUT_SLICE_BYTES - (INPUT_SLICE_BYTES % header.blockAlign));
    for (let at = 0; at < dataBytes; at += slice) {
      const from = header.dataOffset + at;
      const bytes = new Uint8Array(await file.slice(from, from + Math.min(slice, dataBytes - at)).arrayBuffer());
      await writer.write(converter.push(decode.toMono(bytes)));
    }
    await writer.write(converter.flush());
    await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

export async function readHeader(file: Blob): Promise<WavHeaderInfo> {
  for (const probe of HEADER_PROBE_BYTES) {
    const prefix = new Uint8Array(await file.slice(0, Math.min(probe, file.size)).arrayBuffer());
    let header: WavHeaderInfo | null;
    try {
      header = parseWavHeader(prefix);
    } catch (err) {
      const message = err instanceof WavError ? err.message : "not a WAV file";
      throw new UploadError(415, "unsupported_media_type", message);
    }
    if (header !== null) return header;
    if (prefix.length >= file.size) break;
  }
  throw new UploadError(415, "unsupported_media_type", "not a WAV file: no complete RIFF/WAVE header with a data chunk");
}
