/**
 * `/v1/audio/transcriptions/stream`: the WebSocket entry point and the
 * session's HTTP views (record, recording, enhancement).
 */
import { Hono } from "hono";
import { readConfig } from "../../config";
import { streamParamsSchema, toSessionConfig } from "../../protocol/params";
import { canSee } from "../../store/auth";
import { isSessionId } from "../../store/ids";
import { r2Keys } from "../../store/keys";
import type { EnhancementStatus } from "../../store/records";
import type { GatewayEnv } from "../app";
import { requireAuth } from "../auth";
import { ApiError, notFound } from "../errors";
import { openSession, requireUpgrade } from "../session-upgrade";
import { fromStore, readJson, storeFor } from "../store-access";
import { validate } from "../validate";
import { jobView } from "./jobs";

export const stream = new Hono<GatewayEnv>();

// Parameters are checked before credentials so that a bad request does not use up a one-use token.
stream.get("/", validate("query", streamParamsSchema), requireAuth("realtime", { query: true }), async (c) => {
  const params = c.req.valid("query");
  const { realtime } = readConfig(c.env);
  const model = params.model ?? realtime.models[0]!;
  if (!realtime.models.includes(model)) {
    throw new ApiError("invalid_request", `model: unknown model '${model}'; available: ${realtime.models.join(", ")}`, "model");
  }
  requireUpgrade(c);
  const { response } = await openSession(c, { config: toSessionConfig(params, model), protocol: "native" });
  return response;
});

/** Ids that cannot exist are answered like unknown ones, before they reach a key name. */
const sessionIdOf = (raw: string) => {
  if (!isSessionId(raw)) throw notFound("session");
  return raw;
};

stream.get("/:session_id", requireAuth("jobs:read"), async (c) => {
  const id = sessionIdOf(c.req.param("session_id"));
  const record = await fromStore(() => storeFor(c).getSession(id));
  if (!record || !canSee(c.get("principal"), record.owner)) throw notFound("session");
  const live =
    record.status !== "active" && record.transcript_key
      ? await readJson<{ transcript: string; segments: unknown[] }>(c.env.RECORDINGS, record.transcript_key)
      : null;
  return c.json({
    session_id: record.id,
    status: record.status,
    params: record.params,
    created_at: record.created_at,
    ended_at: record.ended_at,
    end_reason: record.end_reason,
    duration_seconds: record.duration_seconds,
    bytes_recorded: record.bytes_recorded,
    // Records written before the field existed hold none: nothing was counted, so nothing is claimed.
    bytes_dropped: record.bytes_dropped ?? 0,
    recording_available: record.audio_key !== null,
    enhancement_job_id: record.enhancement_job_id,
    error: record.error,
    ...(live ? { transcript: live.transcript, segments: live.segments } : {}),
  });
});

stream.get("/:session_id/audio", requireAuth("jobs:read"), async (c) => {
  const id = sessionIdOf(c.req.param("session_id"));
  if (readConfig(c.env).auth.mode === "required") {
    const record = await fromStore(() => storeFor(c).getSession(id));
    if (!record || !canSee(c.get("principal"), record.owner)) throw notFound("session");
  }
  const object = await c.env.RECORDINGS.get(r2Keys.recording(id), { range: c.req.raw.headers });
  if (!object) throw new ApiError("not_found", "no recording for this session (yet)");
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set("etag", object.httpEtag);
  headers.set("accept-ranges", "bytes");
  headers.set("content-type", "audio/wav");
  const range = object.range as { offset?: number; length?: number; suffix?: number } | undefined;
  if (range && c.req.header("range")) {
    const offset = range.suffix !== undefined ? object.size - range.suffix : (range.offset ?? 0);
    const length = range.suffix !== undefined ? range.suffix : (range.length ?? object.size - offset);
    headers.set("content-range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
    headers.set("content-length", String(length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("content-length", String(object.size));
  return new Response(object.body, { status: 200, headers });
});

stream.get("/:session_id/enhancement", requireAuth("jobs:read"), async (c) => {
  const id = sessionIdOf(c.req.param("session_id"));
  const store = storeFor(c);
  const record = await fromStore(() => store.getSession(id));
  if (!record || !canSee(c.get("principal"), record.owner)) throw notFound("session");
  const jobId = record.enhancement_job_id;
  if (!jobId) {
    return c.json({ session_id: id, enhancement_job_id: null, status: "not_requested" satisfies EnhancementStatus });
  }
  const job = await fromStore(() => store.getJob(jobId));
  if (!job) {
    // Fixed at session start; created once the session ended and its recording is complete.
    const failed = record.status === "failed" && record.error;
    return c.json({
      session_id: id,
      enhancement_job_id: jobId,
      status: (failed ? "failed" : "pending") satisfies EnhancementStatus,
      ...(failed ? { error: { code: "recording_failed", message: record.error } } : {}),
    });
  }
  const view = await jobView(c.env.RECORDINGS, job);
  const { id: _id, status, error, ...rest } = view;
  return c.json({
    session_id: id,
    enhancement_job_id: jobId,
    status,
    stage: rest.stage,
    ...(error ? { error } : {}),
    ...(status === "completed" ? { transcript: resultOf(view) } : {}),
  });
});

function resultOf(view: Record<string, unknown>) {
  const { text, language_code, duration, segments, speakers, enhancements } = view;
  return { text, language_code, duration, segments, speakers, enhancements };
}
