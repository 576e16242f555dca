/**
 * The batch transcription interface: one small provider shape, one class per
 * engine behind it (modelled on ../realtime/types.ts).
 *
 * An adapter transcribes ONE request's worth of audio: a whole 16 kHz s16le
 * mono WAV no longer than its `chunkSeconds`. Splitting long recordings,
 * offsetting timestamps and keeping speaker ids consistent across chunks is
 * the pipeline's job (src/pipeline/transcribe.ts), so adapters stay simple.
 *
 * Adapters throw {@link EngineError} (./errors) for every failure, with
 * `retryable` set from the engine's answer.
 */

/** One word as every adapter reports it, on the audio's own timeline (seconds). */
export interface BatchWord {
  word: string;
  start: number;
  end: number;
  /** 0..1 */
  confidence: number;
  /** The engine's speaker label for this request, e.g. "speaker_0" (only meaningful within one request). */
  speaker: string;
}

export interface BatchAudio {
  /** A complete WAV file: 44-byte header, then 16 kHz s16le mono PCM. */
  bytes: Uint8Array;
  durationSeconds: number;
}

export interface BatchTranscribeOptions {
  /** BCP-47-ish code, or "auto" to let the engine detect it. */
  language: string;
  /** Diarization hint; null when unknown. Engines without such a hint ignore it. */
  numSpeakers: number | null;
}

export interface BatchTranscription {
  /** Language the engine used or detected. */
  language_code: string;
  /** Spoken words only (no spacing or audio-event entries), in time order. */
  words: BatchWord[];
  /** The model the engine says it ran, when its answer says (reported in the result instead of the configured name). */
  model?: string;
  /** What the engine was asked for but did not return, with the reason shown to users (job `enhancements`). */
  degraded?: { speakers?: string; language?: string };
}

export interface BatchTranscriber {
  /** Engine name for results and logs, e.g. "elevenlabs". */
  readonly name: string;
  /** Model the engine runs, e.g. "scribe_v1" or "@cf/deepgram/nova-3". */
  readonly model: string;
  /** Longest audio one `transcribe` call accepts; longer recordings are split by the caller. */
  readonly chunkSeconds: number;
  transcribe(audio: BatchAudio, options: BatchTranscribeOptions): Promise<BatchTranscription>;
}
