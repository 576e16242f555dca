/**
 * Runs one enhancement job. Until the batch pipeline lands this only records
 * that the job was received and moves it to `processing`.
 */
import type { AppEnv } from "../config";
import { log } from "../log";
import type { JobMessage } from "../store/records";
import type { Store } from "../store/store";

export async function runJob(_env: AppEnv, store: Store, message: JobMessage, _attempt: number): Promise<void> {
  const job = await store.getJob(message.job_id);
  if (!job) throw new Error(`job ${message.job_id} has no record yet`);
  await store.countDelivery(job.id);
  if (job.status === "completed" || job.status === "failed") return;
  await store.updateJob(job.id, { status: "processing", started_at: job.started_at ?? new Date().toISOString() });
  log("info", "job.received", { job_id: job.id, source_session_id: job.source_session_id });
}
