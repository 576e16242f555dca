/**
 * The webhook delivery policy, pure (README "Webhooks"): one `webhook-id` per
 * job and event, and the wait before each retry.
 */
import { MAX_QUEUE_DELAY_SECONDS } from "./messages";

export type WebhookEventType = "enhancement.completed" | "enhancement.failed";

/** `webhook-id`: derived from the job and the event, so a redelivery can never mint a new one. */
export const webhookEventId = (jobId: string, type: WebhookEventType) =>
  `msg_${jobId.replace(/^job_/, "")}_${type === "enhancement.completed" ? "completed" : "failed"}`;

/** Wait before attempt `next` (2, 3, …): base × 4^(next-2), capped by the queue's longest delay. */
export function retryDelaySeconds(next: number, baseSeconds: number): number {
  return Math.min(MAX_QUEUE_DELAY_SECONDS, baseSeconds * 4 ** (next - 2));
}
