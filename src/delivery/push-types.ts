/**
 * What the pipeline tells a session object about its enhancement job (a
 * Durable Object RPC call: nothing polls). The session pushes it to a socket
 * that asked for `await_enhancement` (README "The enhanced result on the socket").
 */
import type { JobError } from "../store/records";

export type EnhancementUpdate =
  | { kind: "status"; job_id: string; status: "processing"; stage: string }
  | { kind: "completed"; job_id: string; result_key: string }
  | { kind: "failed"; job_id: string; error: JobError };
