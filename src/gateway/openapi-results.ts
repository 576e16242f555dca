/**
 * The OpenAPI parts of how results leave the service (README "Webhooks",
 * "Exports", "Session history"): their response schemas, tied to the routes'
 * types, and their operations. openapi.ts registers the schemas as components
 * and merges the operations into the document.
 */
import { z } from "zod";
import { CAPTION_RULES } from "../exports/captions";
import { CONTENT_TYPES, EXPORT_FORMATS, TRANSCRIPT_VERSIONS } from "../exports/export";
import type { WebhookState } from "../store/records";
import { HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT, type HistoryPage } from "./routes/history";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <T extends true>(): void => void (0 as unknown as T);

export const webhookDeliverySchema = z
  .object({
    status: z.enum(["pending", "retrying", "delivered", "failed"]),
    attempts: z.number().int(),
    last_status: z.number().int().nullable().describe("HTTP status of the last answer; null when none came"),
    last_error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    event_id: z.string().describe("the `webhook-id` of every attempt"),
    event_type: z.enum(["enhancement.completed", "enhancement.failed"]),
    url: z.string(),
    history: z.array(
      z.object({ attempt: z.number().int(), at: z.string(), status: z.number().int().nullable(), error: z.string().nullable(), duration_ms: z.number().int() }),
    ),
  })
  .describe("The job's webhook delivery (it never changes the job's own status); null when no webhook applies.");
same<Same<z.infer<typeof webhookDeliverySchema>, WebhookState>>();

export const historyPageSchema = z.object({
  sessions: z.array(
    z.object({
      session_id: z.string(),
      status: z.enum(["active", "completed", "interrupted", "failed"]),
      created_at: z.string(),
      ended_at: z.string().nullable(),
      end_reason: z.enum(["client_end", "client_gone", "idle_timeout", "max_duration", "internal_error"]).nullable(),
      duration_seconds: z.number(),
      recording_available: z.boolean(),
      enhancement: z.object({
        job_id: z.string().nullable(),
        status: z.enum(["not_requested", "pending", "processing", "completed", "failed"]),
      }),
    }),
  ),
  next_cursor: z.string().nullable().describe("pass as `cursor` for the next page; null on the last"),
});
same<Same<z.infer<typeof historyPageSchema>, HistoryPage>>();

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

const formatParam = (description: string, fallback?: string) => ({
  name: "format",
  in: "query",
  required: false,
  description,
  schema: { type: "string", enum: [...EXPORT_FORMATS], ...(fallback ? { default: fallback } : {}) },
});

/** 200 bodies of a download: the JSON document, or SRT / WebVTT / text. */
const download = (jsonSchema: Record<string, unknown>, description: string) => ({
  description: `${description} With \`format\`: \`Content-Disposition: attachment\`. Captions: at most ${CAPTION_RULES.maxLines} lines of ${CAPTION_RULES.maxLineChars} characters and ${CAPTION_RULES.maxSeconds} s per cue, never across speakers; names as WebVTT voice spans and SRT/text prefixes.`,
  content: {
    [CONTENT_TYPES.json.split(";")[0]!]: { schema: jsonSchema },
    [CONTENT_TYPES.srt.split(";")[0]!]: { schema: { type: "string" } },
    [CONTENT_TYPES.vtt.split(";")[0]!]: { schema: { type: "string" } },
    [CONTENT_TYPES.txt.split(";")[0]!]: { schema: { type: "string" } },
  },
});

export interface PathHelpers {
  ref: (id: string) => Record<string, unknown>;
  error: (description: string) => Record<string, unknown>;
  authErrors: (scope: string) => Record<string, unknown>;
  sessionIdParam: Record<string, unknown>;
  jobIdParam: Record<string, unknown>;
}

export const JOB_FORMAT_PARAM = formatParam("Download the result: `srt`, `vtt`, `txt` (completed jobs only, else 409) or `json` (the job).");
export const jobDownload = (h: PathHelpers) => download(h.ref("Job"), "The job.");

export function resultPaths(h: PathHelpers): Record<string, unknown> {
  return {
    "/v1/audio/transcriptions/stream/{session_id}/transcript": {
      get: {
        tags: ["realtime"],
        operationId: "getSessionTranscript",
        summary: "The live or enhanced transcript as JSON, SRT, WebVTT or text",
        parameters: [
          h.sessionIdParam,
          {
            name: "version",
            in: "query",
            required: false,
            description: "`live` (the realtime finals, no speakers) or `enhanced` (the enhancement's result, with speaker names).",
            schema: { type: "string", enum: [...TRANSCRIPT_VERSIONS], default: "enhanced" },
          },
          formatParam("The file format.", "json"),
        ],
        responses: {
          "200": download({ anyOf: [h.ref("EnhancedTranscriptDownload"), h.ref("LiveTranscript")] }, "The transcript."),
          "400": h.error("Invalid `version` or `format`."),
          ...h.authErrors("jobs:read"),
          "404": h.error("No such session (or not this key's), or `enhanced` for a session that requested no enhancement."),
          "409": h.error("Not there yet: the session has not ended (`live`) or its enhancement has not completed (`enhanced`)."),
          "503": h.error("The record store is unavailable."),
        },
      },
    },
  };
}
