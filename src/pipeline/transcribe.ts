/**
 * The transcribe stage: the recording, in chunks no longer than the engine's
 * `chunkSeconds`, each read from R2 with a range request and sent as its own
 * WAV; chunk timestamps are offset by the chunk's start; chunk-local speaker
 * labels are mapped to global ids (README "Chunking and speakers").
 */
import { WAV_HEADER_BYTES } from "../audio/wav";
import { roundMs as round3 } from "../audio/format";
import { EngineError } from "../engines/errors";
import type { BatchTranscribeOptions, BatchTranscriber, BatchWord } from "../engines/batch/types";
import { BYTES_PER_SECOND, quietestCut, readPcmRange, toWav, type StoredRecording } from "./audio";
import { PermanentJobError } from "./errors";
import type { Degraded, ResultWord, StageReport, TranscribeOutput } from "./result";
import { buildSegments } from "./segments";
import { chunkStage, type StageStore } from "./stages";

/** One chunk's saved output: the engine's words on the chunk's own timeline, with its own speaker labels. */
export interface ChunkOutput {
  index: number;
  /** PCM byte range [start_byte, end_byte) of the recording's data. */
  start_byte: number;
  end_byte: number;
  /** start_byte in seconds: added to every word time. */
  offset_seconds: number;
  language_code: string;
  /** Model the engine reported, if it did. */
  model?: string;
  words: BatchWord[];
  /** What the engine left out of this chunk's answer. */
  degraded?: Degraded;
}

export interface TranscribeInput {
  bucket: R2Bucket;
  recording: StoredRecording;
  transcriber: BatchTranscriber;
  options: BatchTranscribeOptions;
  stages: StageStore;
}

export async function transcribeRecording(input: TranscribeInput): Promise<TranscribeOutput> {
  const { bucket, recording, transcriber, options, stages } = input;
  const chunkBytes = Math.max(2, Math.floor(transcriber.chunkSeconds * BYTES_PER_SECOND) & ~1);
  const chunks: ChunkOutput[] = [];
  let start = 0;
  for (let index = 0; start < recording.dataBytes; index++) {
    let chunk = await stages.load<ChunkOutput>(chunkStage(index));
    if (!chunk || chunk.start_byte !== start) {
      const want = Math.min(chunkBytes, recording.dataBytes - start);
      const buffer = await readPcmRange(bucket, recording, start, want);
      const last = start + want >= recording.dataBytes;
      const length = last ? want : quietestCut(buffer, WAV_HEADER_BYTES, want);
      const wav = toWav(buffer, length);
      const result = await callEngine(transcriber, wav, length, options);
      chunk = {
        index,
        start_byte: start,
        end_byte: start + length,
        offset_seconds: start / BYTES_PER_SECOND,
        language_code: result.language_code,
        ...(result.model ? { model: result.model } : {}),
        words: result.words,
        ...(result.degraded ? { degraded: result.degraded } : {}),
      };
      await stages.save(chunkStage(index), chunk);
    }
    chunks.push(chunk);
    start = chunk.end_byte;
  }
  const { words, language_code } = mergeChunks(chunks, options.language);
  const degraded = mergeDegraded(chunks);
  const engine = { engine: transcriber.name, model: chunks.find((c) => c.model)?.model ?? transcriber.model };
  const report: StageReport = degraded?.language
    ? { status: "degraded", ...engine, reason: degraded.language }
    : { status: "completed", ...engine };
  return {
    ...(degraded ? { degraded } : {}),
    language_code,
    duration: round3(recording.durationSeconds),
    segments: buildSegments(words),
    chunks: chunks.length,
    report,
  };
}

/** The first reason of each kind, saying in how many chunks it happened when there were several. */
function mergeDegraded(chunks: readonly ChunkOutput[]): Degraded | undefined {
  const out: Degraded = {};
  for (const kind of ["speakers", "language"] as const) {
    const hit = chunks.filter((c) => c.degraded?.[kind]);
    if (hit.length === 0) continue;
    out[kind] = hit[0]!.degraded![kind]! + (chunks.length > 1 ? ` (in ${hit.length} of ${chunks.length} chunks)` : "");
  }
  return out.speakers || out.language ? out : undefined;
}

async function callEngine(transcriber: BatchTranscriber, wav: Uint8Array, pcmBytes: number, options: BatchTranscribeOptions) {
  try {
    return await transcriber.transcribe({ bytes: wav, durationSeconds: pcmBytes / BYTES_PER_SECOND }, options);
  } catch (err) {
    if (err instanceof EngineError && !err.retryable) {
      throw new PermanentJobError("engine_rejected_audio", err.message, { cause: err });
    }
    throw err;
  }
}

/**
 * Joins chunk results onto the recording's timeline. Speakers: within each
 * chunk, the first label heard becomes "speaker_0", the second "speaker_1",
 * and so on. Engines diarize each request on its own, so this only keeps ids
 * consistent across chunks when speakers take their first turns in the same
 * order in every chunk — an approximation, documented in the README.
 * The language is the one most words were transcribed in.
 */
export function mergeChunks(chunks: readonly ChunkOutput[], requested: string): { words: ResultWord[]; language_code: string } {
  const words: ResultWord[] = [];
  const languageWords = new Map<string, number>();
  for (const chunk of chunks) {
    const local = new Map<string, string>();
    const sorted = [...chunk.words].sort((a, b) => a.start - b.start);
    for (const w of sorted) {
      let speaker = local.get(w.speaker);
      if (speaker === undefined) {
        speaker = `speaker_${local.size}`;
        local.set(w.speaker, speaker);
      }
      words.push({
        word: w.word,
        start: round3(w.start + chunk.offset_seconds),
        end: round3(w.end + chunk.offset_seconds),
        confidence: round3(w.confidence),
        speaker,
      });
    }
    languageWords.set(chunk.language_code, (languageWords.get(chunk.language_code) ?? 0) + Math.max(1, chunk.words.length));
  }
  let language = requested && requested !== "auto" ? requested : "und";
  let most = 0;
  for (const [code, count] of languageWords) {
    if (count > most) {
      most = count;
      language = code;
    }
  }
  return { words, language_code: language };
}

