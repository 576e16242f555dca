/**
 * `/v1/listen`: Deepgram's API for existing Deepgram clients (README "Using a
 * Deepgram client"). Live (`GET` with `Upgrade: websocket`) opens an ordinary
 * session that speaks Deepgram's wire (src/protocol/deepgram/live.ts);
 * prerecorded (`POST`) is an ordinary upload job answered in Deepgram's JSON,
 * at once when it is done or later to a `callback` URL. Errors use Deepgram's
 * body, `{err_code, err_msg, request_id}`, so its SDK reports them as its own.
 */
import { Hono, type Context } from "hono";
import { validator } from "hono/validator";
import type { z, ZodType } from "zod";
import { readConfig } from "../../config";
import { errorMessage, log } from "../../log";
import { CallbackUrlError, checkCallbackUrl } from "../../pipeline/callback-url";
import { queueListenCallback } from "../../pipeline/listen-callback";
import type { EnhancedTranscript } from "../../pipeline/result";
import { createUploadJob, readHeader, UploadError } from "../../ingest/upload";
import {
  deepgramLiveSchema,
  deepgramPrerecordedSchema,
  IGNORED_PRERECORDED_PARAMS,
  ignoredWarnings,
  resolveDeepgramModel,
  toLiveSession,
  type PrerecordedShape,
} from "../../protocol/deepgram/params";
import { toPrerecordedResponse } from "../../protocol/deepgram/prerecorded";
import type { JobRecord } from "../../store/records";
import type { Store } from "../../store/store";
import type { GatewayEnv } from "../env";
import { authenticateUpgrade, requireAuth } from "../auth";
import { limitBody } from "../body-limit";
import { ApiError, fromZodError, type ApiErrorCode } from "../errors";
import { openSession, requireUpgrade } from "../session-upgrade";
import { fromStore, readJson, openStore } from "../store-access";

/** Longest audio answered synchronously; longer needs `callback` (README "Using a Deepgram client"). */
export const MAX_SYNC_AUDIO_SECONDS = 600;
/** How long a synchronous request waits for its job before answering with the job id to poll. */
export const SYNC_WAIT_SECONDS = 300;
/** Between looks at the job while waiting: from the first to the last, doubling. */
const JOB_POLL_MS = { first: 100, max: 2000 } as const;

export const listen = new Hono<GatewayEnv>();

/** Deepgram's `err_code` for each of this service's error codes; a parameter error is Deepgram's own. */
const DEEPGRAM_ERR_CODES: Record<ApiErrorCode, string> = {
  invalid_request: "Bad Request",
  unauthorized: "INVALID_AUTH",
  forbidden: "INSUFFICIENT_PERMISSIONS",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  gone: "GONE",
  too_large: "PAYLOAD_TOO_LARGE",
  unsupported_media_type: "UNSUPPORTED_MEDIA_TYPE",
  upgrade_required: "UPGRADE_REQUIRED",
  rate_limited: "TOO_MANY_REQUESTS",
  internal_error: "INTERNAL_SERVER_ERROR",
  unavailable: "SERVICE_UNAVAILABLE",
};

listen.onError((err, c) => {
  if (!(err instanceof ApiError)) log("error", "gateway.unhandled", { path: "/v1/listen", message: errorMessage(err) });
  const api = err instanceof ApiError ? err : new ApiError("internal_error", "internal error");
  const err_code = api.param && api.code === "invalid_request" ? "INVALID_QUERY_PARAMETER" : DEEPGRAM_ERR_CODES[api.code];
  return c.json({ err_code, err_msg: api.message, request_id: crypto.randomUUID() }, api.status);
});

/** Query validation with the whole query (Deepgram repeats some parameters); failures are thrown to onError. */
const deepgramQuery = <T extends ZodType>(schema: T) =>
  validator("query", (_value, c): z.output<T> => {
    const parsed = schema.safeParse(Object.fromEntries(new URL(c.req.url).searchParams));
    if (!parsed.success) throw fromZodError(parsed.error);
    return parsed.data;
  });

/** Browsers cannot set headers on a WebSocket: Deepgram's clients offer `token, <key>` (or `bearer, <token>`) as subprotocols. */
function offeredCredential(c: Context<GatewayEnv>): { scheme: string; credential: string } | null {
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const at = offered.findIndex((p) => /^(token|bearer)$/i.test(p));
  const credential = at >= 0 ? offered[at + 1] : undefined;
  return credential ? { scheme: offered[at]!, credential } : null;
}

/** `Authorization: Token <key>` (Deepgram's scheme) or `Bearer`, else the subprotocol pair. */
const deepgramCredential = (c: Context<GatewayEnv>) =>
  c.req.header("authorization")?.match(/^(?:token|bearer)\s+(\S+)$/i)?.[1] ?? offeredCredential(c)?.credential;

// Parameters are checked before credentials so that a bad request does not use up a one-use token.
listen.get("/", deepgramQuery(deepgramLiveSchema), async (c) => {
  const params = c.req.valid("query");
  const { realtime } = readConfig(c.env);
  const model = resolveDeepgramModel(params.model, realtime.models);
  if (model === null) {
    throw new ApiError("invalid_request", `model: '${params.model}' is not available; use a Deepgram model name or one of ${realtime.models.join(", ")}`, "model");
  }
  requireUpgrade(c);
  const caller = await authenticateUpgrade(c, "realtime", deepgramCredential);
  const { config, options } = toLiveSession(params, model, new URL(c.req.url).searchParams);
  const { sessionId, response } = await openSession(c, caller, {
    config,
    protocol: "deepgram",
    deepgram: options,
    dropHeaders: ["sec-websocket-protocol"],
  });
  if (response.status !== 101 || !response.webSocket) return response;
  const headers = new Headers(response.headers);
  headers.set("dg-request-id", sessionId);
  // A browser fails the handshake unless the server picks one of the offered subprotocols: the scheme, never the key.
  const offered = offeredCredential(c);
  if (offered) headers.set("Sec-WebSocket-Protocol", offered.scheme);
  return new Response(null, { status: 101, webSocket: response.webSocket, headers });
});

listen.post(
  "/",
  deepgramQuery(deepgramPrerecordedSchema),
  requireAuth("jobs:write", deepgramCredential),
  limitBody((config) => config.uploads.maxUploadBytes, (max) => `uploads are limited to ${max} bytes (MAX_UPLOAD_BYTES)`),
  async (c) => {
    const params = c.req.valid("query");
    const config = readConfig(c.env);
    if (c.req.header("content-type")?.toLowerCase().startsWith("application/json")) {
      throw new ApiError("invalid_request", "audio by URL ({\"url\": …}) is not fetched by this service; send the audio itself as the request body");
    }
    if (resolveDeepgramModel(params.model, [config.batch.model]) === null) {
      throw new ApiError("invalid_request", `model: '${params.model}' is not available; use a Deepgram model name or ${config.batch.model}`, "model");
    }
    const callback = params.callback === undefined ? null : callbackUrl(params.callback, config.listen.callbackAllowPrivate);
    const file = await c.req.blob();
    const seconds = await audioSeconds(file);
    if (callback === null && seconds > MAX_SYNC_AUDIO_SECONDS) {
      throw new ApiError("too_large", `audio of ${Math.round(seconds)} s is longer than ${MAX_SYNC_AUDIO_SECONDS} s answered synchronously; pass callback=<url>`);
    }
    const store = openStore(c.env);
    const job = await createJob(c, store, file, params);
    const shape: PrerecordedShape = {
      diarize: params.diarize,
      utterances: params.utterances,
      punctuate: params.punctuate || params.smart_format,
      detect_language: params.detect_language,
      warnings: ignoredWarnings(new URL(c.req.url).searchParams, IGNORED_PRERECORDED_PARAMS),
    };
    if (callback !== null) {
      await queueListenCallback(c.env, { job_id: job.id, url: callback.href, shape });
      return c.json({ request_id: job.id });
    }
    const done = await waitForJob(store, job.id, Date.now() + SYNC_WAIT_SECONDS * 1000);
    if (done?.status !== "completed" || !done.result_key) {
      throw done?.status === "failed"
        ? new ApiError("internal_error", `transcription failed: ${done.error?.message ?? "unknown error"} (job ${job.id})`)
        : new ApiError("unavailable", `not finished within ${SYNC_WAIT_SECONDS} s; the result will be at GET /v1/audio/transcriptions/${job.id}`);
    }
    const result = await readJson<EnhancedTranscript>(c.env.RECORDINGS, done.result_key);
    if (!result) throw new ApiError("unavailable", `the result of job ${job.id} could not be read; try GET /v1/audio/transcriptions/${job.id}`);
    return c.json(toPrerecordedResponse({ id: done.id, created_at: done.created_at, result }, shape));
  },
);

function callbackUrl(raw: string, allowPrivate: boolean): URL {
  try {
    return checkCallbackUrl(raw, allowPrivate);
  } catch (err) {
    if (err instanceof CallbackUrlError) throw new ApiError("invalid_request", err.message, "callback");
    throw err;
  }
}

/** Seconds of audio in a WAV body, from its header (the upload checks the rest). */
async function audioSeconds(file: Blob): Promise<number> {
  if (file.size === 0) throw new ApiError("invalid_request", "the request body holds no audio");
  try {
    const header = await readHeader(file);
    const bytes = Math.min(header.dataBytes ?? Infinity, file.size - header.dataOffset);
    return bytes / (header.sampleRate * header.blockAlign);
  } catch (err) {
    if (err instanceof UploadError) throw new ApiError(err.code, err.message);
    throw err;
  }
}

async function createJob(c: Context<GatewayEnv>, store: Store, file: Blob, params: z.output<typeof deepgramPrerecordedSchema>) {
  try {
    return await createUploadJob(c.env, store, {
      file,
      owner: c.get("principal").keyId,
      options: {
        language: params.language,
        llm_cleanup: params.enhance_llm_cleanup,
        emotions: params.enhance_emotions,
        num_speakers: params.num_speakers ?? null,
      },
    });
  } catch (err) {
    if (err instanceof UploadError) throw new ApiError(err.code, err.message);
    log("error", "listen.upload_failed", { message: errorMessage(err) });
    throw new ApiError("unavailable", "the job could not be created right now (storage or queue unavailable); try again");
  }
}

/** The job once it is completed or failed, or null at the deadline. */
async function waitForJob(store: Store, id: string, deadline: number): Promise<JobRecord | null> {
  for (let wait: number = JOB_POLL_MS.first; ; wait = Math.min(JOB_POLL_MS.max, wait * 2)) {
    const job = await fromStore(() => store.getJob(id));
    if (job?.status === "completed" || job?.status === "failed") return job;
    if (Date.now() + wait > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
