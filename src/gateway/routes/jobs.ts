/** `/v1/audio/transcriptions`: batch jobs (from uploads or ended sessions). */
import { Hono } from "hono";
import { errorMessage, log } from "../../log";
import { createUploadJob, UploadError } from "../../ingest/upload";
import { uploadOptionsSchema } from "../../protocol/params";
import { isJobId } from "../../store/ids";
import { enhancedRuns, exportResponse, jobExportQuerySchema } from "../../exports/export";
import type { EnhancedTranscript } from "../../pipeline/result";
import { validate } from "../validate";
import { checkedWebhookUrl } from "../webhook-param";
import { canSee } from "../../store/auth";
import type { GatewayEnv } from "../env";
import { requireAuth } from "../auth";
import { limitBody } from "../body-limit";
import { ApiError, fromZodError, notFound } from "../errors";
import type { UploadAccepted } from "../schemas";
import { fromStore, openStore } from "../store-access";
import { jobView } from "../views";

export const jobs = new Hono<GatewayEnv>();

jobs.get("/:job_id", validate("query", jobExportQuerySchema), requireAuth("jobs:read"), async (c) => {
  const id = c.req.param("job_id");
  if (!isJobId(id)) throw notFound("job");
  const job = await fromStore(() => openStore(c.env).getJob(id));
  if (!job || !canSee(c.get("principal"), job.owner)) throw notFound("job");
  const { view, result } = await jobView(c.env.RECORDINGS, job);
  const { format } = c.req.valid("query");
  if (!format) return c.json(view);
  if (format !== "json" && job.status !== "completed") {
    throw new ApiError("conflict", `format: the job is ${job.status}; ${format} exists once it completed`, "format");
  }
  return exportResponse({ format, filename: job.id, json: view, runs: () => enhancedRuns(resultOf(result)) });
});

/** A completed job's result; its absence (an object removed from R2) is the service's fault, not the caller's. */
function resultOf(result: EnhancedTranscript | null): EnhancedTranscript {
  if (!result) throw new ApiError("internal_error", "the job's result is missing");
  return result;
}

/**
 * A batch job from an uploaded WAV (multipart `file`), with the stream's
 * enhancement options as form fields. The size is checked before the body is
 * read, so an oversized upload costs nothing.
 */
jobs.post(
  "/",
  requireAuth("jobs:write"),
  limitBody((config) => config.uploads.maxUploadBytes, (max) => `uploads are limited to ${max} bytes (MAX_UPLOAD_BYTES)`),
  async (c) => {
    if (!c.req.header("content-type")?.toLowerCase().startsWith("multipart/form-data")) {
      throw new ApiError("unsupported_media_type", "send multipart/form-data with the audio in a 'file' part", "file");
    }
    let form: FormData;
    try {
      form = await c.req.formData();
    } catch {
      throw new ApiError("invalid_request", "the multipart body could not be parsed", "file");
    }
    const file = form.get("file");
    if (!file || typeof file === "string") throw new ApiError("invalid_request", "file: a 'file' part with the audio is required", "file");
    const fields: Record<string, string> = {};
    for (const [name, value] of form.entries()) if (name !== "file" && typeof value === "string") fields[name] = value;
    const parsed = uploadOptionsSchema.safeParse(fields);
    if (!parsed.success) throw fromZodError(parsed.error);
    const webhookUrl = checkedWebhookUrl(c.env, parsed.data.webhook_url, "webhook_url");
    try {
      const job = await createUploadJob(c.env, openStore(c.env), {
        file,
        owner: c.get("principal").keyId,
        options: {
          language: parsed.data.language,
          llm_cleanup: parsed.data.enhance_llm_cleanup,
          emotions: parsed.data.enhance_emotions,
          num_speakers: parsed.data.num_speakers ?? null,
          webhook_url: webhookUrl,
        },
      });
      return c.json(job satisfies UploadAccepted, 201);
    } catch (err) {
      if (err instanceof UploadError) throw new ApiError(err.code, err.message, "file");
      // Everything a client controls was checked above or is an UploadError, and the queue message
      // is small by construction: what is left is storage or the queue failing, and createUploadJob
      // kept nothing of this upload, so "try again" is true.
      log("error", "upload.failed", { message: errorMessage(err) });
      throw new ApiError("unavailable", "the job could not be created right now (storage or queue unavailable); try again");
    }
  },
);
