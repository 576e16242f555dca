/**
 * The OpenAPI 3.1 document served at `GET /openapi.json`.
 *
 * What is generated and what is declared:
 *  - GENERATED from what the routes use: the stream's query parameters and the
 *    upload's form fields from their validators (./parameters.ts); the
 *    response bodies from the zod schemas whose inferred types the routes
 *    answer with (../schemas.ts); error codes and statuses from `ERROR_STATUS`;
 *    id patterns from `SESSION_ID_PATTERN` / `JOB_ID_PATTERN`; WebSocket
 *    message types, in-band codes and close codes from `src/protocol/messages.ts`.
 *  - DECLARED here and beside: the operations (summaries, which status means
 *    what) and parameter descriptions. The e2e test checks real responses
 *    against the served document.
 */
import { z } from "zod";
import { components } from "../schemas";
import { stripMeta, type JsonSchema } from "./parameters";
import { realtimePaths } from "./realtime-paths";
import { listenPaths } from "./listen-paths";
import { jobPaths, servicePaths } from "./service-paths";

let cached: Record<string, unknown> | null = null;

/** The whole document (built once per isolate). */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const generated = z.toJSONSchema(components, { io: "input", uri: (id) => `#/components/schemas/${id}` }).schemas;
  const schemas = Object.fromEntries(Object.entries(generated).map(([id, s]) => [id, stripMeta(s as JsonSchema)]));

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
        "error codes, id patterns, WebSocket message types and codes. Response bodies: the schemas the routes' answers are",
        "typed by (and checked against real responses in the e2e suite).",
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
    paths: { ...servicePaths(), ...realtimePaths(), ...listenPaths(), ...jobPaths() },
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
