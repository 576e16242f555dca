/**
 * The document's parameters. The stream's query parameters and the upload's
 * form fields are GENERATED from the validators the routes use
 * (`streamParamsSchema`, `uploadOptionsSchema`: names, types, patterns, enums,
 * lengths, and defaults from parsing an empty input); only their descriptions
 * are declared, keyed by the schema's own keys so a new parameter does not
 * compile without one.
 */
import { z } from "zod";
import { EXPORT_FORMATS } from "../../exports/export";
import {
  MAX_LANGUAGE_LENGTH,
  MAX_SAMPLE_RATE,
  MAX_SPEAKERS,
  MIN_SAMPLE_RATE,
  streamParamsSchema,
  uploadOptionsSchema,
  type StreamParamsInput,
} from "../../protocol/params";
import { JOB_ID_PATTERN, SESSION_ID_PATTERN } from "../../store/ids";
import { HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT } from "../routes/history";

export type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[] };

/** Declared descriptions, keyed by the schema's own keys (a new parameter will not compile without one). */
const PARAM_DESCRIPTIONS: Record<keyof StreamParamsInput, string> = {
  model: "Realtime model; one of /health engines.realtime.models (the first is the default). Unknown → 400.",
  language: `\`auto\` or a language code such as \`en\` or \`en-US\` (at most ${MAX_LANGUAGE_LENGTH} characters).`,
  encoding: "Format of the binary audio frames (mono, little-endian).",
  sample_rate: `Rate of the audio sent: an integer from ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE}.`,
  interim_results: "Send `transcript.partial` messages.",
  word_timestamps: "Include `words` in `transcript.final`.",
  enable_vad: "Send `vad.speech_start` / `vad.speech_end`.",
  enhance_on_end: "Create a batch enhancement job when the session ends.",
  enhance_llm_cleanup: "LLM cleanup in the enhancement. Requires enhance_on_end=true.",
  enhance_emotions: "Emotion labels in the enhancement. Requires enhance_on_end=true.",
  num_speakers: `Diarization hint: an integer from 1 to ${MAX_SPEAKERS}. Requires enhance_on_end=true.`,
  enhance_webhook_url:
    "Signed webhook (Standard Webhooks) for the enhancement's `enhancement.completed` / `enhancement.failed`: https, no credentials, public hosts. Requires enhance_on_end=true; default: the key's webhook URL.",
  await_enhancement:
    "After `session.end`, keep the socket open and push `enhancement.status`, then `enhancement.completed` / `enhancement.failed` (or `enhancement.timeout`), then close 1000. Requires enhance_on_end=true.",
  api_key: "API key, where an Authorization header cannot be set (browsers). Prefer `token`.",
  token: "One-use token from POST /v1/auth/tokens (browsers).",
};

/** Upload fields whose name differs from the stream's. */
const UPLOAD_DESCRIPTIONS: Record<string, string> = {
  webhook_url: "Signed webhook (Standard Webhooks) for this job's `enhancement.completed` / `enhancement.failed`: https, no credentials, public hosts. Default: the key's webhook URL.",
};

export function stripMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/**
 * A route's query parameters as OpenAPI parameter objects: names, types and
 * rules from `z.toJSONSchema(schema)`, defaults from parsing an empty query
 * with the same schema, descriptions declared by the caller.
 */
export function queryParameters(schema: z.ZodType, describe: (name: string) => string): Record<string, unknown>[] {
  const input = stripMeta(z.toJSONSchema(schema, { io: "input" }) as JsonSchema);
  const defaults = schema.parse({}) as Record<string, unknown>;
  return Object.entries(input.properties ?? {}).map(([name, property]) => {
    const fallback = defaults[name];
    return {
      name,
      in: "query",
      required: input.required?.includes(name) ?? false,
      description: describe(name),
      schema: fallback === undefined ? property : { ...property, default: String(fallback) },
    };
  });
}

/** The stream's query parameters, generated from `streamParamsSchema`. */
export const streamQueryParameters = () => queryParameters(streamParamsSchema, (name) => PARAM_DESCRIPTIONS[name as keyof StreamParamsInput] ?? "");

/** The upload's form fields besides `file`, generated from `uploadOptionsSchema` (the route's validator). */
export function uploadFormFields(): Record<string, JsonSchema> {
  const input = stripMeta(z.toJSONSchema(uploadOptionsSchema, { io: "input" }) as JsonSchema);
  const defaults = uploadOptionsSchema.parse({}) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(input.properties ?? {}).map(([name, schema]) => {
      const fallback = defaults[name];
      return [
        name,
        { ...schema, ...(fallback === undefined ? {} : { default: String(fallback) }), description: UPLOAD_DESCRIPTIONS[name] ?? PARAM_DESCRIPTIONS[name as keyof StreamParamsInput] ?? "" },
      ];
    }),
  );
}

export const HISTORY_PARAMETERS = [
  {
    name: "limit",
    in: "query",
    required: false,
    description: `Plain GET (no Upgrade): sessions per page, 1–${HISTORY_MAX_LIMIT}.`,
    schema: { type: "string", pattern: "^\\d+$", default: String(HISTORY_DEFAULT_LIMIT) },
  },
  { name: "cursor", in: "query", required: false, description: "Plain GET: `next_cursor` of the previous page.", schema: { type: "string", maxLength: 200 } },
  {
    name: "owner",
    in: "query",
    required: false,
    description: "Plain GET, admin keys only: list this key's sessions (`key_…`). Others get 403.",
    schema: { type: "string" },
  },
];

export const formatParam = (description: string, fallback?: string) => ({
  name: "format",
  in: "query",
  required: false,
  description,
  schema: { type: "string", enum: [...EXPORT_FORMATS], ...(fallback ? { default: fallback } : {}) },
});

export const JOB_FORMAT_PARAM = formatParam("Download the result: `srt`, `vtt`, `txt` (completed jobs only, else 409) or `json` (the job).");

const idParam = (name: string, pattern: RegExp, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string", pattern: pattern.source },
});
export const sessionIdParam = idParam("session_id", SESSION_ID_PATTERN, "From `session.begin`. Ids that cannot exist are answered 404 like unknown ones.");
export const jobIdParam = idParam("job_id", JOB_ID_PATTERN, "From `session.end` (`enhancement_job_id`) or the upload's 201 answer.");
