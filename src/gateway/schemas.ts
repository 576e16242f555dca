/**
 * The response bodies of the gateway's routes, as zod schemas: the one source
 * of their shapes. The routes build their answers as the types inferred here
 * (`JobView`, `EnhancementView`, `SessionView`, `HealthBody`, `HistoryPage`, …),
 * and the OpenAPI document (./openapi/) registers the same schemas as its
 * components. Shapes owned elsewhere as TypeScript types (store records, the
 * pipeline's result, the error body) are tied to them with `same<Same<…>>()`:
 * a change on either side stops compiling until the other follows.
 */
import { z } from "zod";
import type { LiveTranscript } from "../exports/export";
import type { EnhancedTranscript, ResultSegment, ResultSpeaker, StageReport } from "../pipeline/result";
import type { Word } from "../protocol/messages";
import type { SessionConfig } from "../protocol/params";
import { sessionConfigSchema as handoffSessionConfig } from "../session/handoff";
import type { FinalSegment } from "../session/state";
import type { EndReason, EnhancementStatus, JobError, JobParameters, JobStatus, SessionStatus, WebhookState } from "../store/records";
import { ERROR_STATUS, type ApiErrorBody, type ApiErrorCode } from "./errors";

/** True when A and B are assignable both ways. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <T extends true>(): void => void (0 as unknown as T);

/** Every schema below with its OpenAPI component name. */
export const components = z.registry<{ id: string }>();
const component = <T extends z.ZodType>(id: string, schema: T): T => {
  components.add(schema, { id });
  return schema;
};

const isoTime = z.string().describe("ISO 8601 time (UTC)");
const seconds = (what: string) => z.number().describe(`${what}, in seconds`);

const errorCodes = Object.keys(ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]];
export const errorBodySchema = component(
  "Error",
  z
    .object({
      error: z.object({
        code: z.enum(errorCodes),
        message: z.string(),
        param: z.string().optional().describe("the parameter at fault (validation errors)"),
      }),
    })
    .describe(`Every error: ${errorCodes.map((c) => `${ERROR_STATUS[c]} ${c}`).join(", ")}.`),
);
same<Same<z.infer<typeof errorBodySchema>, ApiErrorBody>>();

export const healthSchema = component(
  "Health",
  z
    .object({
      status: z.literal("ok"),
      engines: z.object({
        realtime: z.object({
          engine: z.enum(["native", "workers-ai"]),
          models: z.array(z.string()).describe("models clients may pick with ?model=; the first is the default"),
          fallback: z
            .object({ engine: z.enum(["native", "workers-ai"]), model: z.string() })
            .nullable()
            .describe("the engine tried when the first cannot be reached at session start"),
        }),
        batch: z.object({ engine: z.enum(["elevenlabs", "workers-ai", "none"]), model: z.string().nullable().describe("null when engine is none") }),
        llm: z.object({ engine: z.enum(["openai", "workers-ai", "none"]), model: z.string().nullable().describe("null when engine is none") }),
      }),
      limits: z.object({
        max_session_seconds: z.number().int(),
        idle_timeout_seconds: z.number().int(),
        client_gone_grace_seconds: z.number().int(),
        max_frame_bytes: z.number().int(),
        max_messages_per_second: z.number().int(),
        max_request_body_bytes: z.number().int(),
        max_upload_bytes: z.number().int(),
        max_concurrent_sessions_per_key: z.number().int(),
      }),
      store: z.object({ configured: z.boolean().describe("Upstash Redis credentials are set") }),
    })
    .describe("The resolved configuration (defaults applied, never credentials or URLs)."),
);

const sessionStatus = z.enum(["active", "completed", "interrupted", "failed"]);
same<Same<z.infer<typeof sessionStatus>, SessionStatus>>();
const endReason = z.enum(["client_end", "client_gone", "idle_timeout", "max_duration", "internal_error"]);
same<Same<z.infer<typeof endReason>, EndReason>>();
const jobStatus = z.enum(["pending", "processing", "completed", "failed"]);
same<Same<z.infer<typeof jobStatus>, JobStatus>>();
const enhancementStatus = z.enum(["not_requested", "pending", "processing", "completed", "failed"]);
same<Same<z.infer<typeof enhancementStatus>, EnhancementStatus>>();

export const sessionConfigSchema = component(
  "SessionConfig",
  handoffSessionConfig.describe("The effective session parameters (credentials stripped, model resolved)."),
);
same<Same<z.infer<typeof sessionConfigSchema>, SessionConfig>>();

const wordSchema = component("Word", z.object({ word: z.string(), start: seconds("start"), end: seconds("end"), confidence: z.number() }));
same<Same<z.infer<typeof wordSchema>, Word>>();
const liveSegmentSchema = component(
  "LiveSegment",
  z
    .object({ start: seconds("start"), end: seconds("end"), text: z.string(), confidence: z.number(), words: z.array(wordSchema).optional() })
    .describe("A live `transcript.final` (`words` with word_timestamps=true)."),
);
same<Same<z.infer<typeof liveSegmentSchema>, FinalSegment>>();

export const sessionRecordSchema = component(
  "SessionRecord",
  z.object({
    session_id: z.string(),
    status: sessionStatus,
    params: sessionConfigSchema,
    created_at: isoTime,
    ended_at: isoTime.nullable(),
    end_reason: endReason.nullable(),
    duration_seconds: seconds("audio recorded"),
    bytes_recorded: z.number().int().describe("bytes of 16 kHz s16 PCM recorded"),
    bytes_dropped: z
      .number()
      .int()
      .describe("bytes of the client's audio (its own encoding) received but not recorded: over the message rate, invalid or oversized frames, audio after `end`; 0 normally"),
    recording_available: z.boolean(),
    enhancement_job_id: z.string().nullable(),
    error: z.string().nullable(),
    transcript: z.string().optional().describe("all finals joined (once the session ended)"),
    segments: z.array(liveSegmentSchema).optional().describe("the live finals (once the session ended)"),
  }),
);

const emotionSchema = component("Emotion", z.object({ label: z.string(), confidence: z.number() }));
const enhancedSegmentSchema = component(
  "EnhancedSegment",
  z.object({
    id: z.number().int(),
    start: seconds("start"),
    end: seconds("end"),
    speaker: z.string().describe("a Speaker id"),
    text: z.string(),
    raw_text: z.string().optional().describe("the transcript's own text, when LLM cleanup changed `text`"),
    words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number(), confidence: z.number(), speaker: z.string() })),
    emotion: emotionSchema.optional(),
  }),
);
same<Same<z.infer<typeof enhancedSegmentSchema>, ResultSegment>>();
const speakerSchema = component(
  "Speaker",
  z.object({
    id: z.string().describe('"speaker_0", "speaker_1", … in order of first appearance'),
    name: z.string().nullable().describe("a real name found in the conversation, or null"),
    name_source: z.enum(["self_introduction", "addressed", "llm"]).nullable(),
  }),
);
same<Same<z.infer<typeof speakerSchema>, ResultSpeaker>>();
const stageReportSchema = component(
  "StageReport",
  z
    .object({
      status: z.enum(["completed", "skipped", "failed", "degraded", "not_requested"]),
      engine: z.string().optional(),
      model: z.string().optional(),
      reason: z.string().optional(),
    })
    .catchall(z.unknown()),
);
same<Same<z.infer<typeof stageReportSchema>, StageReport>>();
export const enhancedTranscriptSchema = component(
  "EnhancedTranscript",
  z.object({
    text: z.string(),
    language_code: z.string(),
    duration: seconds("audio"),
    segments: z.array(enhancedSegmentSchema),
    speakers: z.array(speakerSchema),
    enhancements: z.object({ transcribe: stageReportSchema, speakers: stageReportSchema, cleanup: stageReportSchema, emotions: stageReportSchema }),
  }),
);
same<Same<z.infer<typeof enhancedTranscriptSchema>, EnhancedTranscript>>();

component(
  "EnhancedTranscriptDownload",
  enhancedTranscriptSchema.extend({ session_id: z.string(), enhancement_job_id: z.string() }).describe("`version=enhanced&format=json`"),
);
const liveTranscriptSchema = component(
  "LiveTranscript",
  z
    .object({ session_id: z.string(), duration: seconds("audio"), transcript: z.string(), segments: z.array(liveSegmentSchema) })
    .describe("`version=live&format=json`: the live finals as saved beside the recording."),
);
same<Same<z.infer<typeof liveTranscriptSchema>, LiveTranscript>>();

const jobErrorSchema = component("JobError", z.object({ code: z.string(), message: z.string() }));
same<Same<z.infer<typeof jobErrorSchema>, JobError>>();

export const enhancementViewSchema = component(
  "Enhancement",
  z.object({
    session_id: z.string(),
    enhancement_job_id: z.string().nullable(),
    status: enhancementStatus,
    stage: z.string().nullable().optional().describe("pipeline stage running now (or last run)"),
    error: jobErrorSchema.optional(),
    transcript: enhancedTranscriptSchema.optional().describe("once completed"),
  }),
);

const jobParametersSchema = component(
  "JobParameters",
  z.object({
    speaker_detection: z.literal("diarize"),
    word_timestamps: z.literal(true),
    llm_cleanup: z.boolean(),
    emotions: z.boolean(),
    num_speakers: z.number().int().nullable(),
    language: z.string(),
  }),
);
same<Same<z.infer<typeof jobParametersSchema>, JobParameters>>();

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

export const jobSchema = component(
  "Job",
  z
    .object({
      id: z.string(),
      status: jobStatus,
      created_at: isoTime,
      started_at: isoTime.nullable(),
      completed_at: isoTime.nullable(),
      source_session_id: z.string().nullable().describe("the session it enhances; null for uploads"),
      parameters: jobParametersSchema,
      stage: z.string().nullable(),
      error: jobErrorSchema.nullable(),
      webhook: component("WebhookDelivery", webhookDeliverySchema).nullable(),
    })
    .extend(enhancedTranscriptSchema.partial().shape)
    .describe("The job; once completed it also carries the EnhancedTranscript fields."),
);

const historyItemSchema = z.object({
  session_id: z.string(),
  status: sessionStatus,
  created_at: z.string(),
  ended_at: z.string().nullable(),
  end_reason: endReason.nullable(),
  duration_seconds: z.number(),
  recording_available: z.boolean(),
  enhancement: z.object({ job_id: z.string().nullable(), status: enhancementStatus }),
});

export const historyPageSchema = component(
  "SessionList",
  z.object({
    sessions: z.array(historyItemSchema),
    next_cursor: z.string().nullable().describe("pass as `cursor` for the next page; null on the last"),
  }),
);

export const uploadAcceptedSchema = component("UploadAccepted", z.object({ id: z.string(), status: z.literal("pending") }));

export const authTokenSchema = component(
  "AuthToken",
  z.object({
    token: z.string().nullable().describe("one-use token for ?token= (null when authentication is off)"),
    expires_at: isoTime.nullable(),
    auth: z.literal("off").optional().describe('present as "off" when the service runs without authentication'),
  }),
);

/* The routes' answers, as the types of the schemas above. */
export type HealthBody = z.infer<typeof healthSchema>;
export type SessionView = z.infer<typeof sessionRecordSchema>;
export type JobView = z.infer<typeof jobSchema>;
export type WebhookDeliveryView = z.infer<typeof webhookDeliverySchema>;
export type EnhancementView = z.infer<typeof enhancementViewSchema>;
export type HistoryItem = z.infer<typeof historyItemSchema>;
export type HistoryPage = z.infer<typeof historyPageSchema>;
export type UploadAccepted = z.infer<typeof uploadAcceptedSchema>;
export type AuthTokenBody = z.infer<typeof authTokenSchema>;
