/**
 * What the sweeper does with a job whose lease expired (README "Stalled
 * jobs"). Pure, so the rules are unit-tested apart from Redis and the Queue.
 */
import type { JobError, JobRecord } from "../store/records";

export const STALLED_ERROR_CODE = "job_stalled";

export type SweepAction =
  /** Nothing to repair: the job finished (or its record expired); drop the lease entry. */
  | { kind: "forget"; reason: "finished" | "no_record" }
  /** Send its queue message again (the consumer is idempotent on the job id). */
  | { kind: "requeue"; attempt: number }
  /** The last re-queue went unanswered too: record the failure. */
  | { kind: "fail"; error: JobError };

export interface SweepRules {
  /** Re-queues before the job is failed (ServiceConfig["sweeper"]["maxRequeues"]). */
  maxRequeues: number;
  leaseSeconds: number;
}

export function sweepAction(job: JobRecord | null, rules: SweepRules): SweepAction {
  if (!job) return { kind: "forget", reason: "no_record" };
  if (job.status === "completed" || job.status === "failed") return { kind: "forget", reason: "finished" };
  // Records written before re-queues were counted have no field: none yet.
  const requeues = Number.isFinite(job.requeues) ? job.requeues : 0;
  if (requeues < rules.maxRequeues) return { kind: "requeue", attempt: requeues + 1 };
  const where = job.stage ? ` (last stage: ${job.stage})` : job.status === "pending" ? " (it never started)" : "";
  return {
    kind: "fail",
    error: {
      code: STALLED_ERROR_CODE,
      message:
        `enhancement stalled: no progress for ${rules.leaseSeconds} s after ${requeues} re-queue${requeues === 1 ? "" : "s"}${where}` +
        (job.error ? `; last error: ${job.error.message}` : ""),
    },
  };
}
