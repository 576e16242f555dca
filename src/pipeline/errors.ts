/**
 * How a job run can fail (README "Error handling"):
 *
 * - {@link PermanentJobError}: retrying cannot help (audio missing or
 *   unreadable, the batch engine rejected the audio with a 4xx other than 429,
 *   no batch engine configured). runJob records the job `failed` with this code
 *   and message and returns normally, so the message is acked.
 * - anything else is transient (engine 5xx/429/timeouts/network, Redis, R2):
 *   runJob records it as the job's last `error`, keeps it `processing` and
 *   rethrows; the consumer retries with backoff and, after max_retries, the
 *   dead-letter consumer marks the job failed.
 */

export type PermanentErrorCode =
  | "audio_not_found"
  | "audio_unreadable"
  | "audio_unsupported"
  | "engine_rejected_audio"
  | "batch_engine_not_configured";

export class PermanentJobError extends Error {
  override readonly name = "PermanentJobError";
  readonly code: PermanentErrorCode;

  constructor(code: PermanentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
