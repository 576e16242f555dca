/**
 * Query parameters of `GET /v1/audio/transcriptions/stream` (DESIGN §4.1).
 * The same schema validates the gateway request, types the session config,
 * and (later) documents the API.
 */
import { z } from "zod";
import { MAX_STREAM_SAMPLE_RATE, MIN_INPUT_SAMPLE_RATE } from "../audio/limits";
import { MAX_WEBHOOK_URL_CHARS } from "../delivery/webhook-url";
import { AUDIO_ENCODINGS } from "./messages";

/** `true/false/1/0` → boolean; anything else is a validation error. */
export const queryBool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"], {
      error: "must be one of true, false, 1, 0",
    })
    .optional()
    .transform((v) => (v === undefined ? fallback : v === "true" || v === "1"));

export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: `must be an integer from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }));

/** Shape only; which URLs are allowed depends on the deployment (src/delivery/webhook-url.ts). */
const webhookUrlParam = z.string().min(1).max(MAX_WEBHOOK_URL_CHARS, { error: `must be at most ${MAX_WEBHOOK_URL_CHARS} characters` }).optional();

/** The stream's `sample_rate` range (uploads share the minimum; see ../audio/limits). */
export const MIN_SAMPLE_RATE = MIN_INPUT_SAMPLE_RATE;
export const MAX_SAMPLE_RATE = MAX_STREAM_SAMPLE_RATE;
export const MAX_SPEAKERS = 32;

/*
 * Length caps of the free-form string parameters (README "Limits"). Every one
 * ends up somewhere with a size limit of its own (the engine link's URL, the
 * session record, the job's queue message), so each is refused at the door,
 * with a 400 naming it, rather than failing later where the client cannot fix it.
 */
/** RFC 5646 tags that matter in practice fit in 35 characters (its §4.4.1 buffer size). */
export const MAX_LANGUAGE_LENGTH = 35;
/** Model names are short identifiers (`@cf/deepgram/nova-3`); unknown names are refused anyway. */
export const MAX_MODEL_LENGTH = 100;
/** API keys and browser tokens are well under this; longer cannot be ours. */
export const MAX_CREDENTIAL_LENGTH = 512;

const maxLength = (max: number, what: string) =>
  z.string().max(max, { error: `must be at most ${max} characters (${what})` });

export const streamParamsSchema = z
  .object({
    model: maxLength(MAX_MODEL_LENGTH, "a model name").min(1).optional(),
    language: maxLength(MAX_LANGUAGE_LENGTH, "a BCP-47 language tag")
      .regex(/^(auto|[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*)$/, {
        error: "must be 'auto' or a language code such as 'en' or 'en-US'",
      })
      .optional()
      .transform((v) => v ?? "auto"),
    encoding: z
      .enum(AUDIO_ENCODINGS, { error: `must be one of ${AUDIO_ENCODINGS.join(", ")}` })
      .optional()
      .transform((v) => v ?? "pcm_s16le"),
    sample_rate: queryInt(MIN_SAMPLE_RATE, MAX_SAMPLE_RATE)
      .optional()
      .transform((v) => v ?? 16000),
    interim_results: queryBool(true),
    word_timestamps: queryBool(false),
    enable_vad: queryBool(true),
    enhance_on_end: queryBool(false),
    enhance_llm_cleanup: queryBool(false),
    enhance_emotions: queryBool(false),
    num_speakers: queryInt(1, MAX_SPEAKERS).optional(),
    /** Webhook for this session's enhancement (README "Webhooks"; the URL rules are checked by the route). */
    enhance_webhook_url: webhookUrlParam,
    /** Keep the socket open after session.end until the enhanced result is pushed. */
    await_enhancement: queryBool(false),
    api_key: maxLength(MAX_CREDENTIAL_LENGTH, "an API key").optional(),
    token: maxLength(MAX_CREDENTIAL_LENGTH, "a browser token").optional(),
  })
  .superRefine(requireEnhanceOnEnd);

/** The enhancement options mean nothing without enhance_on_end=true: refused, on every wire that takes them. */
export function requireEnhanceOnEnd(
  p: {
    enhance_on_end: boolean;
    enhance_llm_cleanup: boolean;
    enhance_emotions: boolean;
    num_speakers?: number | undefined;
    enhance_webhook_url?: string | undefined;
    await_enhancement?: boolean;
  },
  ctx: z.RefinementCtx,
): void {
  for (const option of ["enhance_llm_cleanup", "enhance_emotions", "num_speakers", "enhance_webhook_url", "await_enhancement"] as const) {
    const set = option === "num_speakers" || option === "enhance_webhook_url" ? p[option] !== undefined : p[option] === true;
    if (set && !p.enhance_on_end) {
      ctx.addIssue({
        code: "custom",
        path: [option],
        message: `${option} requires enhance_on_end=true`,
      });
    }
  }
}

/**
 * Form fields of `POST /v1/audio/transcriptions` besides `file`: the stream's
 * enhancement options, named the same way.
 */
export const uploadOptionsSchema = z.object({
  language: streamParamsSchema.shape.language,
  enhance_llm_cleanup: queryBool(false),
  enhance_emotions: queryBool(false),
  num_speakers: queryInt(1, MAX_SPEAKERS).optional(),
  webhook_url: webhookUrlParam,
});

export type StreamParamsInput = z.input<typeof streamParamsSchema>;

/** The effective session configuration (credentials stripped, model resolved). */
export interface SessionConfig {
  model: string;
  language: string;
  encoding: (typeof AUDIO_ENCODINGS)[number];
  sample_rate: number;
  interim_results: boolean;
  word_timestamps: boolean;
  enable_vad: boolean;
  enhance_on_end: boolean;
  enhance_llm_cleanup: boolean;
  enhance_emotions: boolean;
  num_speakers: number | null;
  /** Where the enhancement's webhook goes (null: the key's default, if any). */
  enhance_webhook_url: string | null;
  /** session.end is followed by the enhanced result on the same socket. */
  await_enhancement: boolean;
}

export function toSessionConfig(
  parsed: z.output<typeof streamParamsSchema>,
  model: string,
): SessionConfig {
  return {
    model,
    language: parsed.language,
    encoding: parsed.encoding,
    sample_rate: parsed.sample_rate,
    interim_results: parsed.interim_results,
    word_timestamps: parsed.word_timestamps,
    enable_vad: parsed.enable_vad,
    enhance_on_end: parsed.enhance_on_end,
    enhance_llm_cleanup: parsed.enhance_llm_cleanup,
    enhance_emotions: parsed.enhance_emotions,
    num_speakers: parsed.num_speakers ?? null,
    enhance_webhook_url: parsed.enhance_webhook_url ?? null,
    await_enhancement: parsed.await_enhancement,
  };
}
