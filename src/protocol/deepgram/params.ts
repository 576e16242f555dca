/**
 * Deepgram's query parameters (`/v1/listen`, live and prerecorded) onto this
 * service's session and job options. README "Using a Deepgram client" has the
 * table of every parameter: supported, mapped, or ignored; this file is its
 * source. Values this service cannot honour are refused with a Deepgram-style
 * 400 (./errors.ts) before any audio is accepted; parameters Deepgram has and
 * this service does not act on are accepted and reported back as ignored, as
 * Deepgram itself does with its `warnings`.
 */
import { z } from "zod";
import type { AudioEncoding } from "../messages";
import {
  MAX_CREDENTIAL_LENGTH,
  MAX_SAMPLE_RATE,
  MIN_SAMPLE_RATE,
  queryBool,
  queryInt,
  requireEnhanceOnEnd,
  streamParamsSchema,
  type SessionConfig,
} from "../params";

/** Deepgram's names of the raw encodings this service decodes; everything else (containers, codecs) is refused. */
export const DEEPGRAM_ENCODINGS: Record<string, AudioEncoding> = { linear16: "pcm_s16le", mulaw: "mulaw", alaw: "alaw" };

/** Multichannel audio is not transcribed per channel (yet): one channel only. */
export const MAX_DEEPGRAM_CHANNELS = 1;

/**
 * Deepgram parameters accepted and not acted on. Named back to the client in
 * `warnings` (closing Metadata, prerecorded metadata) so nobody believes they
 * took effect; Deepgram's own unknown-parameter handling is the same: accept.
 */
export const IGNORED_LIVE_PARAMS = [
  "callback",
  "callback_method",
  "detect_entities",
  "diarize",
  "diarize_model",
  "dictation",
  "extra",
  "filler_words",
  "keyterm",
  "keywords",
  "mip_opt_out",
  "no_delay",
  "numerals",
  "profanity_filter",
  "redact",
  "replace",
  "search",
  "tag",
  "version",
] as const;

export const IGNORED_PRERECORDED_PARAMS = [
  "callback_method",
  "custom_intent",
  "custom_intent_mode",
  "custom_topic",
  "custom_topic_mode",
  "detect_entities",
  "diarize_model",
  "dictation",
  "extra",
  "filler_words",
  "intents",
  "keyterm",
  "keywords",
  "measurements",
  "mip_opt_out",
  "multichannel",
  "numerals",
  "paragraphs",
  "profanity_filter",
  "redact",
  "replace",
  "search",
  "sentiment",
  "summarize",
  "tag",
  "topics",
  "utt_split",
  "version",
] as const;

/** Deepgram's prerecorded `warnings` entry. */
export interface DeepgramWarning {
  parameter: string;
  type: "unsupported_parameter";
  message: string;
}

export const ignoredWarnings = (query: URLSearchParams, names: readonly string[]): DeepgramWarning[] =>
  names
    .filter((name) => query.has(name))
    .map((parameter) => ({ parameter, type: "unsupported_parameter", message: `${parameter} is accepted and ignored by this service` }));

/** What the Deepgram live renderer needs beyond the session config (carried in the hand-off). */
export interface DeepgramLiveOptions {
  /** `vad_events=true`: send `SpeechStarted`. */
  vad_events: boolean;
  /** Set: send `UtteranceEnd` at the engine's end of each utterance. */
  utterance_end_ms: number | null;
  /** `endpointing=false` turns `speech_final` off. */
  endpointing: boolean;
  /** `punctuate` or `smart_format`: transcripts keep the engine's punctuation and case. */
  punctuate: boolean;
  /** Parameters accepted and ignored, reported in the closing Metadata. */
  warnings: DeepgramWarning[];
}

/** Deepgram writes `multi` for "detect among languages"; this service says `auto`. */
const deepgramLanguage = z
  .string()
  .optional()
  .transform((v) => (v === "multi" ? "auto" : v))
  .pipe(streamParamsSchema.shape.language);

const credentials = {
  api_key: z.string().max(MAX_CREDENTIAL_LENGTH).optional(),
  token: z.string().max(MAX_CREDENTIAL_LENGTH).optional(),
};

const enhancement = {
  enhance_on_end: queryBool(false),
  enhance_llm_cleanup: queryBool(false),
  enhance_emotions: queryBool(false),
  num_speakers: streamParamsSchema.shape.num_speakers,
};

/** `GET /v1/listen`. Defaults are Deepgram's (interim results off, no VAD events). */
export const deepgramLiveSchema = z
  .object({
    model: streamParamsSchema.shape.model,
    language: deepgramLanguage,
    encoding: z
      .enum(Object.keys(DEEPGRAM_ENCODINGS) as [string, ...string[]], {
        error: `must be one of ${Object.keys(DEEPGRAM_ENCODINGS).join(", ")} (containerized and compressed audio is not decoded)`,
      })
      .optional()
      .transform((v) => DEEPGRAM_ENCODINGS[v ?? "linear16"]!),
    sample_rate: queryInt(MIN_SAMPLE_RATE, MAX_SAMPLE_RATE)
      .optional()
      .transform((v) => v ?? 16000),
    channels: queryInt(1, MAX_DEEPGRAM_CHANNELS).optional(),
    multichannel: queryBool(false),
    interim_results: queryBool(false),
    punctuate: queryBool(false),
    smart_format: queryBool(false),
    endpointing: z
      .string()
      .regex(/^(false|true|\d+)$/, { error: "must be false or a number of milliseconds" })
      .optional()
      .transform((v) => v !== "false"),
    utterance_end_ms: queryInt(1, 60_000).optional(),
    vad_events: queryBool(false),
    ...enhancement,
    ...credentials,
  })
  .superRefine(requireEnhanceOnEnd);

export type DeepgramLiveParams = z.output<typeof deepgramLiveSchema>;

/** The session a Deepgram live connection opens, and what its renderer needs. */
export function toLiveSession(
  params: DeepgramLiveParams,
  model: string,
  query: URLSearchParams,
): { config: SessionConfig; options: DeepgramLiveOptions } {
  return {
    config: {
      model,
      language: params.language,
      encoding: params.encoding,
      sample_rate: params.sample_rate,
      interim_results: params.interim_results,
      // Deepgram always sends words, and its renderer needs the engine's VAD
      // (UtteranceEnd, which finals a Finalize produced); it filters both itself.
      word_timestamps: true,
      enable_vad: true,
      enhance_on_end: params.enhance_on_end,
      enhance_llm_cleanup: params.enhance_llm_cleanup,
      enhance_emotions: params.enhance_emotions,
      num_speakers: params.num_speakers ?? null,
      // Deepgram clients get the enhancement through this service's HTTP API (or a webhook key default).
      enhance_webhook_url: null,
      await_enhancement: false,
    },
    options: {
      vad_events: params.vad_events,
      utterance_end_ms: params.utterance_end_ms ?? null,
      endpointing: params.endpointing,
      punctuate: params.punctuate || params.smart_format,
      warnings: ignoredWarnings(query, IGNORED_LIVE_PARAMS),
    },
  };
}

/** `POST /v1/listen`. */
export const deepgramPrerecordedSchema = z
  .object({
    model: streamParamsSchema.shape.model,
    language: deepgramLanguage,
    detect_language: queryBool(false),
    diarize: queryBool(false),
    utterances: queryBool(false),
    punctuate: queryBool(false),
    smart_format: queryBool(false),
    callback: z.string().max(2048, { error: "must be at most 2048 characters" }).optional(),
    // Every upload is enhanced: these choose what the enhancement does.
    enhance_llm_cleanup: enhancement.enhance_llm_cleanup,
    enhance_emotions: enhancement.enhance_emotions,
    num_speakers: enhancement.num_speakers,
    ...credentials,
  });

export type DeepgramPrerecordedParams = z.output<typeof deepgramPrerecordedSchema>;

/** How the Deepgram prerecorded JSON is shaped from a job's result (carried to the callback too). */
export interface PrerecordedShape {
  diarize: boolean;
  utterances: boolean;
  punctuate: boolean;
  detect_language: boolean;
  warnings: DeepgramWarning[];
}

/**
 * A Deepgram model name stands for this service's default engine model (the
 * names differ: `nova-3` here is `@cf/deepgram/nova-3` or the emulator); a
 * configured model is taken by its full or short name. Anything else is refused.
 */
export function resolveDeepgramModel(requested: string | undefined, available: string[]): string | null {
  const fallback = available[0]!;
  if (requested === undefined) return fallback;
  const exact = available.find((m) => m === requested || m.split("/").pop() === requested);
  if (exact) return exact;
  return /^(nova|enhanced|base|whisper)(-[a-z0-9.-]+)?$/.test(requested) ? fallback : null;
}
