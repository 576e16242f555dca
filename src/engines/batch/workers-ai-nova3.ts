/**
 * Deepgram Nova-3 on Workers AI (`@cf/deepgram/nova-3`) through the AI binding.
 *
 * Input (Workers AI model page and the `Ai_Cf_Deepgram_Nova_3_Input` type in
 * worker-configuration.d.ts): `audio: { body, contentType }` plus Deepgram's
 * pre-recorded options (`diarize`, `punctuate`, `smart_format`, `language`,
 * `detect_language`, …).
 *
 * Output: the Workers AI schema (`Ai_Cf_Deepgram_Nova_3_Output`) lists words
 * as `{word, start, end, confidence}` only; the `diarize` input promises
 * "a speaker number starting at 0" on each word. Deepgram's own pre-recorded
 * response adds `punctuated_word` and `speaker`, and `detected_language` on
 * the channel with detect_language. So: `punctuated_word` is used when
 * present, else `word`; a word without a speaker is attributed to speaker_0
 * and a language not detected becomes "und" — and either is reported in
 * `degraded` (the job's enhancements say so, and the pipeline logs a warning)
 * instead of passing silently.
 * Sources: https://developers.cloudflare.com/workers-ai/models/nova-3/,
 * https://developers.deepgram.com/docs/diarization and
 * https://developers.deepgram.com/docs/language-detection (see test/pool/fixtures/nova3.ts).
 */
import { EngineError, engineErrorFromWorkersAi } from "../errors";
import type { BatchAudio, BatchTranscribeOptions, BatchTranscriber, BatchTranscription, BatchWord } from "./types";

/** The part of the AI binding this adapter uses (tests pass a stand-in). */
export interface AiRunner {
  run(model: string, inputs: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
}

export const NOVA3_MODEL = "@cf/deepgram/nova-3";
export const WORKERS_AI_BATCH_ENGINE = "workers-ai";

export interface Nova3Options {
  /** The AI binding (`env.AI`). */
  ai: AiRunner;
  /**
   * Audio per request. Workers AI documents no duration limit for nova-3 but
   * refuses over-large requests (error 3006); 5 minutes is 9.6 MB of WAV,
   * far below the Worker's request and memory limits.
   * @default 300
   */
  chunkSeconds?: number;
}

const DEFAULTS = { chunkSeconds: 300 };

interface DeepgramWord {
  word?: unknown;
  punctuated_word?: unknown;
  start?: unknown;
  end?: unknown;
  confidence?: unknown;
  speaker?: unknown;
}

interface DeepgramChannel {
  detected_language?: unknown;
  alternatives?: Array<{ words?: DeepgramWord[]; languages?: unknown }>;
}

export class WorkersAiNova3Transcriber implements BatchTranscriber {
  readonly name = WORKERS_AI_BATCH_ENGINE;
  readonly model = NOVA3_MODEL;
  readonly chunkSeconds: number;
  #ai: AiRunner;

  constructor(options: Nova3Options) {
    this.#ai = options.ai;
    this.chunkSeconds = options.chunkSeconds ?? DEFAULTS.chunkSeconds;
  }

  async transcribe(audio: BatchAudio, options: BatchTranscribeOptions): Promise<BatchTranscription> {
    const auto = !options.language || options.language === "auto";
    const inputs: Record<string, unknown> = {
      audio: { body: new Blob([audio.bytes]).stream(), contentType: "audio/wav" },
      diarize: true,
      punctuate: true,
      smart_format: true,
      ...(auto ? { detect_language: true } : { language: options.language }),
    };
    let output: unknown;
    try {
      output = await this.#ai.run(this.model, inputs);
    } catch (err) {
      throw engineErrorFromWorkersAi(this.name, err);
    }
    const channel = firstChannel(output);
    if (channel === null) {
      throw new EngineError(this.name, `${this.name}: nova-3 answered without results.channels`, { retryable: true });
    }
    const alternative = channel.alternatives?.[0];
    const detected = detectedLanguage(channel);
    const { words, unlabelled } = mapDeepgramWords(alternative?.words ?? []);
    const degraded: NonNullable<BatchTranscription["degraded"]> = {};
    if (unlabelled > 0) {
      degraded.speakers =
        `nova-3 returned no speaker label for ${unlabelled} of ${words.length} words although diarize was requested ` +
        "(its Workers AI output schema lists only word, start, end, confidence); those words are attributed to speaker_0";
    }
    if (auto && detected === null) {
      degraded.language = 'nova-3 returned no detected_language although detect_language was requested; the language is reported as "und"';
    }
    return {
      language_code: auto ? (detected ?? "und") : options.language,
      words,
      ...(degraded.speakers || degraded.language ? { degraded } : {}),
    };
  }
}

/** `results.channels[0]`, also when the binding wraps the response in `result`. */
function firstChannel(output: unknown): DeepgramChannel | null {
  const root = output as { results?: { channels?: DeepgramChannel[] }; result?: { results?: { channels?: DeepgramChannel[] } } } | null;
  const channels = root?.results?.channels ?? root?.result?.results?.channels;
  return Array.isArray(channels) && channels[0] ? channels[0] : null;
}

/** Deepgram's `detected_language` on the channel, else the first of the alternative's `languages` (multi). */
function detectedLanguage(channel: DeepgramChannel): string | null {
  if (typeof channel.detected_language === "string" && channel.detected_language !== "") return channel.detected_language;
  const languages = channel.alternatives?.[0]?.languages;
  return Array.isArray(languages) && typeof languages[0] === "string" && languages[0] !== "" ? languages[0] : null;
}

/**
 * `punctuated_word` (else `word`); speaker n → "speaker_n"; confidence clamped
 * to [0, 1]. `unlabelled`: words that carried no speaker (given "speaker_0").
 */
export function mapDeepgramWords(words: readonly DeepgramWord[]): { words: BatchWord[]; unlabelled: number } {
  const out: BatchWord[] = [];
  let unlabelled = 0;
  for (const w of words) {
    const text = typeof w.punctuated_word === "string" ? w.punctuated_word : typeof w.word === "string" ? w.word : "";
    const start = Number(w.start);
    const end = Number(w.end);
    if (text.trim() === "" || !Number.isFinite(start) || !Number.isFinite(end)) continue;
    const confidence = Number(w.confidence);
    const n = typeof w.speaker === "number" || (typeof w.speaker === "string" && w.speaker.trim() !== "") ? Number(w.speaker) : NaN;
    const speaker = Number.isInteger(n) && n >= 0 ? n : null;
    if (speaker === null) unlabelled++;
    out.push({
      word: text.trim(),
      start,
      end: Math.max(start, end),
      confidence: Number.isFinite(confidence) ? Math.min(1, Math.max(0, confidence)) : 1,
      speaker: `speaker_${speaker ?? 0}`,
    });
  }
  return { words: out, unlabelled };
}
