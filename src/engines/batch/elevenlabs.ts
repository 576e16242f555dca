/**
 * ElevenLabs-style batch speech-to-text: `POST {url}/v1/speech-to-text`
 * (ElevenLabs itself, a self-hosted server offering the same API, or the local
 * emulator). Multipart form: `file`, `model_id`, `diarize`,
 * `timestamps_granularity=word`, `num_speakers?`, `language_code?`; auth in the
 * `xi-api-key` header. The answer's `words` mix `word`, `spacing` and
 * `audio_event` entries; only `word` entries are kept.
 */
import { EngineError, engineErrorFromResponse, engineErrorFromThrown } from "../errors";
import type { BatchAudio, BatchTranscribeOptions, BatchTranscriber, BatchTranscription, BatchWord } from "./types";

export interface ElevenLabsOptions {
  /** Base URL without `/v1`, e.g. `https://api.elevenlabs.io`. */
  url: string;
  /** Sent as `xi-api-key`. */
  apiKey?: string;
  /** @default "scribe_v1" */
  model?: string;
  /**
   * Audio per request. ElevenLabs accepts files up to 3 GB / 10 hours; the limit
   * here is the Worker's memory (a 10-minute chunk is 19.2 MB of PCM, held
   * once as bytes and once in the form body).
   * @default 600
   */
  chunkSeconds?: number;
  /**
   * Abort one request after this long.
   * @default 300000
   */
  timeoutMs?: number;
  /** For tests. @default globalThis.fetch */
  fetch?: typeof fetch;
}

const DEFAULTS = { model: "scribe_v1", chunkSeconds: 600, timeoutMs: 300_000 };

/** Engine name reported in results. */
export const ELEVENLABS_ENGINE = "elevenlabs";

interface ElevenLabsWord {
  text?: unknown;
  start?: unknown;
  end?: unknown;
  type?: unknown;
  speaker_id?: unknown;
  logprob?: unknown;
}

export class ElevenLabsTranscriber implements BatchTranscriber {
  readonly name = ELEVENLABS_ENGINE;
  readonly model: string;
  readonly chunkSeconds: number;
  #url: string;
  #apiKey: string | undefined;
  #timeoutMs: number;
  #fetch: typeof fetch;

  constructor(options: ElevenLabsOptions) {
    this.model = options.model || DEFAULTS.model;
    this.chunkSeconds = options.chunkSeconds ?? DEFAULTS.chunkSeconds;
    this.#url = options.url.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async transcribe(audio: BatchAudio, options: BatchTranscribeOptions): Promise<BatchTranscription> {
    const form = new FormData();
    form.append("file", new Blob([audio.bytes], { type: "audio/wav" }), "audio.wav");
    form.append("model_id", this.model);
    form.append("diarize", "true");
    form.append("timestamps_granularity", "word");
    form.append("tag_audio_events", "false");
    if (options.numSpeakers !== null) form.append("num_speakers", String(options.numSpeakers));
    if (options.language && options.language !== "auto") form.append("language_code", options.language);

    let res: Response;
    try {
      res = await this.#fetch(`${this.#url}/v1/speech-to-text`, {
        method: "POST",
        headers: this.#apiKey ? { "xi-api-key": this.#apiKey } : {},
        body: form,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw engineErrorFromThrown(this.name, err);
    }
    if (!res.ok) throw await engineErrorFromResponse(this.name, res);

    let body: { language_code?: unknown; words?: unknown; model_id?: unknown };
    try {
      body = (await res.json()) as typeof body;
    } catch (err) {
      // A 200 that is not JSON is a broken engine or proxy, not a verdict on the audio.
      throw new EngineError(this.name, `${this.name} answered 200 with a body that is not JSON`, { retryable: true, cause: err });
    }
    return {
      language_code: typeof body.language_code === "string" && body.language_code ? body.language_code : fallbackLanguage(options),
      words: Array.isArray(body.words) ? mapWords(body.words as ElevenLabsWord[]) : [],
      ...(typeof body.model_id === "string" && body.model_id ? { model: body.model_id } : {}),
    };
  }
}

function fallbackLanguage(options: BatchTranscribeOptions): string {
  return options.language && options.language !== "auto" ? options.language : "und";
}

/** `word` entries only; `speaker_id` → speaker; confidence = exp(logprob) clamped to [0, 1]. */
export function mapWords(words: readonly ElevenLabsWord[]): BatchWord[] {
  const out: BatchWord[] = [];
  for (const w of words) {
    if ((w.type !== undefined && w.type !== "word") || typeof w.text !== "string") continue;
    const text = w.text.trim();
    const start = Number(w.start);
    const end = Number(w.end);
    if (text === "" || !Number.isFinite(start) || !Number.isFinite(end)) continue;
    const logprob = Number(w.logprob);
    out.push({
      word: text,
      start,
      end: Math.max(start, end),
      confidence: Number.isFinite(logprob) ? clamp01(Math.exp(logprob)) : 1,
      speaker: typeof w.speaker_id === "string" && w.speaker_id ? w.speaker_id : "speaker_0",
    });
  }
  return out;
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
