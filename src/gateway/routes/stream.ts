/**
 * `/v1/audio/transcriptions/stream`: the WebSocket entry point and the
 * session's HTTP views (record, recording, enhancement).
 */
import { Hono, type Context } from "hono";
import { except } from "hono/combine";
import { z } from "zod";
import { enhancedRuns, exportResponse, liveRuns, transcriptQuerySchema, type LiveTranscript } from "../../exports/export";
import type { EnhancedTranscript } from "../../pipeline/result";
import { checkedWebhookUrl } from "../webhook-param";
import { historyQuerySchema, listHistory } from "./history";
import { readConfig } from "../../config";
import { streamParamsSchema, toSessionConfig } from "../../protocol/params";
import { encodeHandoff } from "../../session/handoff";
import { openSession, requireUpgrade } from "../session-upgrade";
import { canSee } from "../../store/auth";
import { isSessionId, newSessionId } from "../../store/ids";
import { r2Keys } from "../../store/keys";
import type { GatewayEnv } from "../env";
import { authenticateUpgrade, requireAuth, spendBrowserToken } from "../auth";
import { ApiError, notFound } from "../errors";
import { fromStore, openAuthStore, openStore, readJson } from "../store-access";
import { validate } from "../validate";
import { enhancementView, sessionView } from "../views";

export const stream = new Hono<GatewayEnv>();

/** Parameters that only a session takes (credentials aside, which a listing never carries in the URL). */
const SESSION_PARAMS = Object.keys(streamParamsSchema.shape).filter((k) => k !== "api_key" && k !== "token");

/**
 * A request meant to open a session: an `Upgrade` header, or session
 * parameters on a plain GET (a client whose upgrade was lost, or the page
 * asking why one was refused: it gets the 400 or 426 it would have got).
 * Anything else is a listing of the caller's sessions.
 */
const isSessionRequest = (c: Context<GatewayEnv>) =>
  c.req.header("upgrade") !== undefined || SESSION_PARAMS.some((k) => c.req.query(k) !== undefined);

stream.get("/", except(isSessionRequest, validate("query", historyQuerySchema), requireAuth("jobs:read"), listHistory));

/**
 * Everything that can refuse the request (parameters, model, upgrade header,
 * credentials, the key's session limit) runs before a one-use browser token
 * is spent, and a token spent on a session that still fails to open is put
 * back: a refused request never uses one up.
 */
stream.get("/", validate("query", streamParamsSchema), async (c) => {
  const params = c.req.valid("query");
  const { realtime } = readConfig(c.env);
  const model = params.model ?? realtime.models[0]!;
  if (!realtime.models.includes(model)) {
    throw new ApiError("invalid_request", `model: unknown model '${model}'; available: ${realtime.models.join(", ")}`, "model");
  }
  requireUpgrade(c);
  const webhookUrl = checkedWebhookUrl(c.env, params.enhance_webhook_url, "enhance_webhook_url");
  const caller = await authenticateUpgrade(c, "realtime");
  const { response } = await openSession(c, caller, {
    config: { ...toSessionConfig(params, model), enhance_webhook_url: webhookUrl },
    protocol: "native",
  });
  return response;
});

/** Ids that cannot exist are answered like unknown ones, before they reach a key name. */
const sessionIdOf = (raw: string) => {
  if (!isSessionId(raw)) throw notFound("session");
  return raw;
};

/** Where a resuming client puts its resume_token when it can set headers. */
const RESUME_TOKEN_HEADER = "x-resume-token";
const resumeQuerySchema = z.object({
  resume_token: z.string().min(1).max(256).optional(),
  api_key: z.string().max(512).optional(),
  token: z.string().max(512).optional(),
});

/**
 * A new connection to a live session (DESIGN §4.3.1). Everything the request
 * alone can get wrong is refused before credentials are checked (a one-use
 * token is not spent on it); the session object then checks the owner (another
 * key: 404), the token (401) and that the session is still live (409 ended,
 * 410 finalized after the grace period), from its own state: no store read.
 */
stream.get("/:session_id/resume", validate("query", resumeQuerySchema), async (c) => {
  const sessionId = sessionIdOf(c.req.param("session_id"));
  const resumeToken = c.req.valid("query").resume_token ?? c.req.header(RESUME_TOKEN_HEADER);
  if (!resumeToken) {
    throw new ApiError("invalid_request", `resume_token: required (query parameter, or the ${RESUME_TOKEN_HEADER} header)`, "resume_token");
  }
  requireUpgrade(c);
  const { principal, browserToken } = await authenticateUpgrade(c, "realtime");
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  headers.delete(RESUME_TOKEN_HEADER);
  encodeHandoff({ kind: "resume", sessionId, owner: principal.keyId, resumeToken }, headers);
  // The URL reaching the object carries no credentials (nor the resume token): it is never logged with them.
  const url = new URL(c.req.url);
  url.search = "";
  const putBack = browserToken ? await spendBrowserToken(c, browserToken) : null;
  const response = await c.env.SESSIONS.get(c.env.SESSIONS.idFromName(sessionId)).fetch(new Request(url, { headers }));
  if (response.status !== 101) await putBack?.().catch(() => undefined);
  return response;
});

stream.get("/:session_id", requireAuth("jobs:read"), async (c) => {
  const id = sessionIdOf(c.req.param("session_id"));
  const record = await fromStore(() => openStore(c.env).getSession(id));
  if (!record || !canSee(c.get("principal"), record.owner)) throw notFound("session");
  return c.json(await sessionView(c.env.RECORDINGS, record));
});

stream.get("/:session_id/audio", requireAuth("jobs:read"), async (c) => {
  const id = sessionIdOf(c.req.param("session_id"));
  if (readConfig(c.env).auth.mode === "required") {
    const record = await fromStore(() => openStore(c.env).getSession(id));
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
  const store = openStore(c.env);
  const record = await fromStore(() => store.getSession(id));
  if (!record || !canSee(c.get("principal"), record.owner)) throw notFound("session");
  return c.json(await enhancementView(c.env.RECORDINGS, store, record));
});

/**
 * The live or the enhanced transcript as a download (README "Exports"):
 * 409 while it does not exist yet, 404 when it never will (no enhancement).
 */
stream.get("/:session_id/transcript", validate("query", transcriptQuerySchema), requireAuth("jobs:read"), async (c) => {
  const id = sessionIdOf(c.req.param("session_id"));
  const { version, format } = c.req.valid("query");
  const store = openStore(c.env);
  const record = await fromStore(() => store.getSession(id));
  if (!record || !canSee(c.get("principal"), record.owner)) throw notFound("session");
  const filename = `${id}.${version}`;
  if (version === "live") {
    const live = record.transcript_key ? await readJson<LiveTranscript>(c.env.RECORDINGS, record.transcript_key) : null;
    if (!live) throw new ApiError("conflict", `the live transcript exists once the session ended (status: ${record.status})`);
    return exportResponse({ format, filename, json: live, runs: () => liveRuns(live) });
  }
  const jobId = record.enhancement_job_id;
  if (!jobId) throw new ApiError("not_found", "version: this session requested no enhancement (enhance_on_end=true); use version=live", "version");
  const job = await fromStore(() => store.getJob(jobId));
  const result = job?.status === "completed" && job.result_key ? await readJson<EnhancedTranscript>(c.env.RECORDINGS, job.result_key) : null;
  if (!result) throw new ApiError("conflict", `the enhanced transcript exists once the enhancement completed (status: ${job?.status ?? "pending"})`);
  return exportResponse({ format, filename, json: { session_id: id, enhancement_job_id: jobId, ...result }, runs: () => enhancedRuns(result) });
});
