/**
 * The OpenAPI 3.1 document served at `GET /openapi.json`.
 *
 * What is generated and what is declared:
 *  - GENERATED from the validators the routes use: the stream endpoint's query
 *    parameters (names, types, patterns, enums, lengths) come from
 *    `z.toJSONSchema(streamParamsSchema, { io: "input" })`, and their defaults
 *    from parsing an empty query with the same schema; the upload's form
 *    fields likewise from `uploadOptionsSchema`. Error codes and statuses come from
 *    `ERROR_STATUS`; id patterns from `SESSION_ID_PATTERN` / `JOB_ID_PATTERN`;
 *    WebSocket message types, in-band codes and close codes from
 *    `src/protocol/messages.ts`.
 *  - DECLARED here: the response bodies. The routes build them inline, without
 *    a schema, so they are written down below as zod schemas and tied to the
 *    TypeScript types the routes use (`Same<…>` checks: a changed record or
 *    result type stops compiling until this file follows), and the e2e test
 *    checks real responses against the served document. Parameter descriptions
 *    are declared too (exhaustively keyed by the schema's own keys).
 */
import { z } from "zod";
import type { EnhancedTranscript, ResultSegment, ResultSpeaker, StageReport } from "../pipeline/result";
import { AUDIO_ENCODINGS, CLIENT_MESSAGE_TYPES, CLOSE_CODES, ERROR_CODES, WARNING_CODES, type ServerMessageType, type Word } from "../protocol/messages";
import { MAX_UPLOAD_CHANNELS, MAX_UPLOAD_SAMPLE_RATE } from "../audio/limits";
import {
  MAX_LANGUAGE_LENGTH,
  MAX_SAMPLE_RATE,
  MAX_SPEAKERS,
  MIN_SAMPLE_RATE,
  streamParamsSchema,
  uploadOptionsSchema,
  type SessionConfig,
  type StreamParamsInput,
} from "../protocol/params";
import type { FinalSegment } from "../session/state";
import { JOB_ID_PATTERN, SESSION_ID_PATTERN } from "../store/ids";
import type { EndReason, EnhancementStatus, JobError, JobParameters, JobStatus, SessionStatus } from "../store/records";
import { ERROR_STATUS, type ApiErrorBody, type ApiErrorCode } from "./errors";
import type { LiveTranscript } from "../exports/export";
import { HISTORY_PARAMETERS, historyPageSchema, JOB_FORMAT_PARAM, jobDownload, resultPaths, webhookDeliverySchema, type PathHelpers } from "./openapi-results";
import { listenPaths } from "./openapi-listen";
import { queryParameters, stripMeta, type JsonSchema } from "./openapi-params";

/* ------------------------------------------------------------------ */
/* Compile-time ties between declared schemas and the routes' types    */
/* ------------------------------------------------------------------ */

/** True when A and B are assignable both ways. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <T extends true>(): void => void (0 as unknown as T);

/* ------------------------------------------------------------------ */
/* Declared response schemas                                           */
/* ------------------------------------------------------------------ */

const components = z.registry<{ id: string }>();
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
  z.object({
    status: z.literal("ok"),
    engines: z.object({
      realtime: z.object({ engine: z.string(), models: z.array(z.string()).describe("models clients may pick with ?model=; the first is the default") }),
      batch: z.object({ engine: z.string().nullable(), model: z.string().nullable() }),
      llm: z.object({ engine: z.string(), model: z.string().nullable() }),
    }),
    store: z.object({ configured: z.boolean().describe("Upstash Redis credentials are set") }),
  }),
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
  z
    .object({
      model: z.string(),
      language: z.string(),
      encoding: z.enum(AUDIO_ENCODINGS),
      sample_rate: z.number().int(),
      interim_results: z.boolean(),
      word_timestamps: z.boolean(),
      enable_vad: z.boolean(),
      enhance_on_end: z.boolean(),
      enhance_llm_cleanup: z.boolean(),
      enhance_emotions: z.boolean(),
      num_speakers: z.number().int().nullable(),
      enhance_webhook_url: z.string().nullable(),
      await_enhancement: z.boolean(),
    })
    .describe("The effective session parameters (credentials stripped, model resolved)."),
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

component("SessionList", historyPageSchema);

export const uploadAcceptedSchema = component("UploadAccepted", z.object({ id: z.string(), status: z.literal("pending") }));

export const authTokenSchema = component(
  "AuthToken",
  z.object({
    token: z.string().nullable().describe("one-use token for ?token= (null when authentication is off)"),
    expires_at: isoTime.nullable(),
    auth: z.literal("off").optional().describe('present as "off" when the service runs without authentication'),
  }),
);

/* ------------------------------------------------------------------ */
/* Generated: the stream's query parameters                            */
/* ------------------------------------------------------------------ */

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

/** The stream's query parameters as OpenAPI parameter objects, generated from `streamParamsSchema`. */
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

/* ------------------------------------------------------------------ */
/* The document                                                        */
/* ------------------------------------------------------------------ */

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string, description: string) => ({ description, content: { "application/json": { schema: ref(id) } } });
const error = (description: string) => json("Error", description);
/** 401/403 of a route behind `requireAuth(scope)` (AUTH_MODE=required). */
const authErrors = (scope: string) => ({
  "401": error("Missing, invalid, revoked or already used credentials."),
  "403": error(`The key lacks the \`${scope}\` scope.`),
});

const sessionIdParam = {
  name: "session_id",
  in: "path",
  required: true,
  description: "From `session.begin`. Ids that cannot exist are answered 404 like unknown ones.",
  schema: { type: "string", pattern: SESSION_ID_PATTERN.source },
};
const jobIdParam = {
  name: "job_id",
  in: "path",
  required: true,
  description: "From `session.end` (`enhancement_job_id`) or the upload's 201 answer.",
  schema: { type: "string", pattern: JOB_ID_PATTERN.source },
};

const SERVER_MESSAGE_TYPES: Record<ServerMessageType, true> = {
  "session.begin": true,
  "audio.ack": true,
  "session.resumed": true,
  "vad.speech_start": true,
  "vad.speech_end": true,
  "transcript.partial": true,
  "transcript.final": true,
  warning: true,
  error: true,
  "session.end": true,
  "enhancement.status": true,
  "enhancement.completed": true,
  "enhancement.failed": true,
  "enhancement.timeout": true,
};

let cached: Record<string, unknown> | null = null;

/** The whole document (built once per isolate). */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const generated = z.toJSONSchema(components, { io: "input", uri: (id) => `#/components/schemas/${id}` }).schemas;
  const schemas = Object.fromEntries(Object.entries(generated).map(([id, s]) => [id, stripMeta(s as JsonSchema)]));
  const streamParams = streamQueryParameters();
  const uploadFields = uploadFormFields();
  const helpers: PathHelpers = { ref, error, authErrors, sessionIdParam, jobIdParam };

  cached = {
    openapi: "3.1.0",
    info: {
      title: "edge-transcribe",
      version: "0.1.0",
      summary: "Real-time transcription over WebSocket, with batch enhancement after the session.",
      description: [
        "Stream audio to `GET /v1/audio/transcriptions/stream` (WebSocket) and get live text; every session is recorded;",
        "with `enhance_on_end=true` the recording is re-transcribed with speakers, names, optional LLM cleanup and emotions,",
        "which you poll over HTTP. The protocol is described in the project README (\"WebSocket protocol\").",
        "",
        "Generated from the gateway's validators: the stream's query parameters and the upload's form fields,",
        "error codes, id patterns, WebSocket message types and codes. Declared by hand (and checked against real responses",
        "in the e2e suite): response bodies.",
      ].join("\n"),
    },
    servers: [{ url: "/", description: "this service" }],
    tags: [
      { name: "realtime", description: "The WebSocket session and its results" },
      { name: "jobs", description: "Batch enhancement jobs" },
      { name: "deepgram", description: "Deepgram's /v1/listen API, for existing Deepgram clients (README \"Using a Deepgram client\")" },
      { name: "service", description: "Health, credentials, this document" },
    ],
    security: [{ bearer: [] }],
    paths: {
      "/health": {
        get: {
          tags: ["service"],
          operationId: "getHealth",
          summary: "Liveness and configured engines",
          security: [],
          responses: { "200": json("Health", "The service is up.") },
        },
      },
      "/openapi.json": {
        get: {
          tags: ["service"],
          operationId: "getOpenApi",
          summary: "This document",
          security: [],
          responses: { "200": { description: "OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } } },
        },
      },
      "/v1/auth/tokens": {
        post: {
          tags: ["service"],
          operationId: "createToken",
          summary: "Trade an API key for a one-use WebSocket token",
          description: "For browser pages: open the stream with `?token=` instead of putting the key in a URL. Each token opens one session.",
          responses: {
            "201": json("AuthToken", "A token."),
            "200": json("AuthToken", "Authentication is off on this service: `token` is null; connect without one."),
            ...authErrors("realtime"),
            "413": error("Request body over MAX_REQUEST_BODY_BYTES."),
          },
        },
      },
      "/v1/audio/transcriptions/stream": {
        get: {
          tags: ["realtime"],
          operationId: "openStream",
          summary: "Open a real-time transcription session (WebSocket), or list the caller's sessions (plain GET)",
          description: [
            "Send `Upgrade: websocket`. Parameters are validated **before** the upgrade; unknown parameters are ignored.",
            "Without an Upgrade header and without session parameters the same path lists the caller's sessions, newest first (`limit`, `cursor`, admin `owner`; scope jobs:read).",
            "enhance_llm_cleanup, enhance_emotions and num_speakers require enhance_on_end=true.",
            "",
            `Client → server: binary audio frames in the declared encoding (whole samples), and JSON ${CLIENT_MESSAGE_TYPES.map((t) => `{"type":"${t}"}`).join(", ")}.`,
            `Server → client: JSON ${Object.keys(SERVER_MESSAGE_TYPES).map((t) => `\`${t}\``).join(", ")}.`,
            `In-band error codes: ${Object.values(ERROR_CODES).join(", ")}; warning codes: ${Object.values(WARNING_CODES).join(", ")}.`,
            `Close codes: ${Object.entries(CLOSE_CODES).map(([k, v]) => `${v} ${k}`).join(", ")}.`,
          ].join("\n"),
          security: [{ bearer: [] }, { apiKeyQuery: [] }, { tokenQuery: [] }],
          parameters: [
            { name: "Upgrade", in: "header", required: false, description: "`websocket` opens a session; absent (and no session parameters), the request lists sessions.", schema: { type: "string", const: "websocket" } },
            ...streamParams,
            ...HISTORY_PARAMETERS,
          ],
          responses: {
            "101": { description: "Switching Protocols: the session starts with a `session.begin` message." },
            "200": json("SessionList", "Plain GET: the caller's sessions, newest first."),
            "400": error("Invalid or contradictory parameter; `error.param` names it."),
            ...authErrors("realtime"),
            "426": error("Session parameters or an Upgrade header, but no `Upgrade: websocket` (the parameters were valid)."),
            "403": error("The key lacks the `realtime` scope (upgrade) or `jobs:read` (list), or `owner` without an admin key."),
            "429": error("Too many live sessions for this key."),
            "503": error("The record store is unavailable."),
          },
          "x-websocket": {
            clientMessages: CLIENT_MESSAGE_TYPES,
            serverMessages: Object.keys(SERVER_MESSAGE_TYPES),
            errorCodes: Object.values(ERROR_CODES),
            warningCodes: Object.values(WARNING_CODES),
            closeCodes: CLOSE_CODES,
          },
        },
      },
      "/v1/audio/transcriptions/stream/{session_id}": {
        get: {
          tags: ["realtime"],
          operationId: "getSession",
          summary: "Session record",
          parameters: [sessionIdParam],
          responses: {
            "200": json("SessionRecord", "The session; `transcript` and `segments` once it ended."),
            ...authErrors("jobs:read"),
            "404": error("No such session (or not this key's)."),
            "503": error("The record store is unavailable."),
          },
        },
      },
      "/v1/audio/transcriptions/stream/{session_id}/resume": {
        get: {
          tags: ["realtime"],
          operationId: "resumeStream",
          summary: "Resume a live session after its connection dropped (WebSocket)",
          description: [
            "Same credentials as the session, and its `resume_token` (from `session.begin`; query or the `x-resume-token` header).",
            "The first message is `session.resumed` `{session_id, bytes_received, total_duration}`: send the client's stream from byte `bytes_received` on.",
            `An older connection of the session is closed with ${CLOSE_CODES.replaced} (replaced). A session is resumable for CLIENT_GONE_GRACE_SECONDS without a connection.`,
          ].join("\n"),
          security: [{ bearer: [] }, { apiKeyQuery: [] }, { tokenQuery: [] }],
          parameters: [
            sessionIdParam,
            { name: "resume_token", in: "query", required: false, description: "The session's `resume_token` (or send the `x-resume-token` header).", schema: { type: "string", maxLength: 256 } },
            { name: "x-resume-token", in: "header", required: false, description: "The session's `resume_token`, where headers can be set.", schema: { type: "string", maxLength: 256 } },
            { name: "Upgrade", in: "header", required: true, schema: { type: "string", const: "websocket" } },
          ],
          responses: {
            "101": { description: "Switching Protocols: the first message is `session.resumed`." },
            "400": error("No resume_token."),
            ...authErrors("realtime"),
            "404": error("No such session (or not this key's)."),
            "409": error("The session has ended (it received `end`, or hit a limit)."),
            "410": error("The grace period passed without a connection; the session was finalized."),
            "426": error("No `Upgrade: websocket`."),
          },
        },
      },
      "/v1/audio/transcriptions/stream/{session_id}/audio": {
        get: {
          tags: ["realtime"],
          operationId: "getSessionAudio",
          summary: "The recording: 16 kHz 16-bit mono PCM WAV",
          parameters: [
            sessionIdParam,
            { name: "Range", in: "header", required: false, description: "A single byte range, e.g. `bytes=0-43`.", schema: { type: "string" } },
          ],
          responses: {
            "200": { description: "The whole WAV.", headers: { "Accept-Ranges": { schema: { type: "string", const: "bytes" } } }, content: { "audio/wav": { schema: { type: "string", contentMediaType: "audio/wav" } } } },
            "206": { description: "The requested range.", headers: { "Content-Range": { schema: { type: "string" } } }, content: { "audio/wav": { schema: { type: "string", contentMediaType: "audio/wav" } } } },
            ...authErrors("jobs:read"),
            "404": error("No recording (yet): the session is unknown (or not this key's), or its recording is not complete."),
          },
        },
      },
      "/v1/audio/transcriptions/stream/{session_id}/enhancement": {
        get: {
          tags: ["realtime"],
          operationId: "getSessionEnhancement",
          summary: "Enhancement status, and the enhanced transcript once completed",
          parameters: [sessionIdParam],
          responses: {
            "200": json("Enhancement", "Status `not_requested`, `pending`, `processing`, `completed` (with `transcript`) or `failed` (with `error`)."),
            ...authErrors("jobs:read"),
            "404": error("No such session (or not this key's)."),
            "503": error("The record store is unavailable."),
          },
        },
      },
      ...resultPaths(helpers),
      "/v1/audio/transcriptions": {
        post: {
          tags: ["jobs"],
          operationId: "createUploadJob",
          summary: "Batch enhancement job from an uploaded WAV",
          description: "The form fields besides `file` are the stream's enhancement parameters (same names, same rules). Poll `GET /v1/audio/transcriptions/{job_id}`.",
          requestBody: {
            required: true,
            content: {
              "multipart/form-data": {
                schema: {
                  type: "object",
                  required: ["file"],
                  properties: {
                    file: { type: "string", contentMediaType: "audio/wav", description: `A WAV file: 8/16/24/32-bit PCM, 32/64-bit float, μ-law or A-law; ${MIN_SAMPLE_RATE}–${MAX_UPLOAD_SAMPLE_RATE} Hz; mono or stereo (at most ${MAX_UPLOAD_CHANNELS} channels, averaged to mono).` },
                    ...uploadFields,
                  },
                },
                encoding: { file: { contentType: "audio/wav, audio/x-wav, application/octet-stream" } },
              },
            },
          },
          responses: {
            "201": json("UploadAccepted", "The job was created and queued."),
            "400": error("Invalid form field (`error.param` names it), no `file` part, or a WAV without audio."),
            ...authErrors("jobs:write"),
            "413": error("Larger than MAX_UPLOAD_BYTES."),
            "415": error(`Not multipart/form-data, not a WAV file, an encoding the service cannot decode, a sample rate outside ${MIN_SAMPLE_RATE}–${MAX_UPLOAD_SAMPLE_RATE} Hz or more than ${MAX_UPLOAD_CHANNELS} channels (\`error.param\` is \`file\`, the message says which).`),
            "503": error("The record store or the queue is unavailable; nothing of the upload is kept, so sending it again is safe."),
          },
        },
      },
      ...listenPaths(),
      "/v1/audio/transcriptions/{job_id}": {
        get: {
          tags: ["jobs"],
          operationId: "getJob",
          summary: "Job status, and the result once completed (or as a caption/text download)",
          parameters: [jobIdParam, JOB_FORMAT_PARAM],
          responses: {
            "200": jobDownload(helpers),
            "400": error("Invalid `format`."),
            "409": error("`format` srt, vtt or txt of a job that has not completed."),
            ...authErrors("jobs:read"),
            "404": error("No such job (or not this key's)."),
            "503": error("The record store is unavailable."),
          },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: {
        deepgramToken: { type: "apiKey", in: "header", name: "Authorization", description: "Deepgram's scheme on /v1/listen: `Authorization: Token <key>`." },
        bearer: { type: "http", scheme: "bearer", description: "API key: `Authorization: Bearer <key>`. Local dev (`npm run dev`) runs without authentication." },
        apiKeyQuery: { type: "apiKey", in: "query", name: "api_key", description: "API key in the stream URL (browsers)." },
        tokenQuery: { type: "apiKey", in: "query", name: "token", description: "One-use token from POST /v1/auth/tokens (browsers)." },
      },
    },
  };
  return cached;
}
