/** The document's realtime paths: the WebSocket session, its record, recording, enhancement and transcript downloads. */
import { TRANSCRIPT_VERSIONS } from "../../exports/export";
import { CLIENT_MESSAGE_TYPES, CLOSE_CODES, ERROR_CODES, WARNING_CODES, type ServerMessageType } from "../../protocol/messages";
import { HISTORY_PARAMETERS, formatParam, sessionIdParam, streamQueryParameters } from "./parameters";
import { authErrors, download, error, json, ref } from "./responses";

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

export function realtimePaths(): Record<string, unknown> {
  return {
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
        ...streamQueryParameters(),
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
    "/v1/audio/transcriptions/stream/{session_id}/transcript": {
      get: {
        tags: ["realtime"],
        operationId: "getSessionTranscript",
        summary: "The live or enhanced transcript as JSON, SRT, WebVTT or text",
        parameters: [
          sessionIdParam,
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
          "200": download({ anyOf: [ref("EnhancedTranscriptDownload"), ref("LiveTranscript")] }, "The transcript."),
          "400": error("Invalid `version` or `format`."),
          ...authErrors("jobs:read"),
          "404": error("No such session (or not this key's), or `enhanced` for a session that requested no enhancement."),
          "409": error("Not there yet: the session has not ended (`live`) or its enhancement has not completed (`enhanced`)."),
          "503": error("The record store is unavailable."),
        },
      },
    },
  };
}
