/** The document's service and job paths: health, this document, browser tokens, uploads and jobs. */
import { MAX_UPLOAD_CHANNELS, MAX_UPLOAD_SAMPLE_RATE } from "../../audio/limits";
import { MIN_SAMPLE_RATE } from "../../protocol/params";
import { JOB_FORMAT_PARAM, jobIdParam, uploadFormFields } from "./parameters";
import { authErrors, download, error, json, ref } from "./responses";

export function servicePaths(): Record<string, unknown> {
  return {
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
  };
}

export function jobPaths(): Record<string, unknown> {
  return {
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
                ...uploadFormFields(),
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
  "/v1/audio/transcriptions/{job_id}": {
    get: {
      tags: ["jobs"],
      operationId: "getJob",
      summary: "Job status, and the result once completed (or as a caption/text download)",
      parameters: [jobIdParam, JOB_FORMAT_PARAM],
      responses: {
        "200": download(ref("Job"), "The job."),
        "400": error("Invalid `format`."),
        "409": error("`format` srt, vtt or txt of a job that has not completed."),
        ...authErrors("jobs:read"),
        "404": error("No such job (or not this key's)."),
        "503": error("The record store is unavailable."),
      },
    },
  },
  };
}
