/** `/v1/audio/transcriptions`: batch jobs (from uploads or ended sessions). */
import { Hono } from "hono";
import { isJobId } from "../../store/ids";
import type { JobRecord } from "../../store/records";
import { canSee } from "../../store/auth";
import type { GatewayEnv } from "../app";
import { requireAuth } from "../auth";
import { notFound } from "../errors";
import { fromStore, readJson, storeFor } from "../store-access";

export const jobs = new Hono<GatewayEnv>();

/** A job as DESIGN §5 shows it: the record, plus the result once completed. */
export async function jobView(bucket: R2Bucket, job: JobRecord): Promise<Record<string, unknown> & { id: string; status: string; stage: string | null; error: unknown }> {
  const view = {
    id: job.id,
    status: job.status,
    created_at: job.created_at,
    started_at: job.started_at,
    completed_at: job.completed_at,
    source_session_id: job.source_session_id,
    parameters: job.parameters,
    stage: job.stage,
    error: job.error,
  };
  if (job.status !== "completed" || !job.result_key) return view;
  const result = await readJson<Record<string, unknown>>(bucket, job.result_key);
  return { ...view, ...(result ?? {}) };
}

jobs.get("/:job_id", requireAuth("jobs:read"), async (c) => {
  const id = c.req.param("job_id");
  if (!isJobId(id)) throw notFound("job");
  const job = await fromStore(() => storeFor(c).getJob(id));
  if (!job || !canSee(c.get("principal"), job.owner)) throw notFound("job");
  return c.json(await jobView(c.env.RECORDINGS, job));
});
