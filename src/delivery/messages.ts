/**
 * Queue messages besides enhancement jobs (DESIGN §2: webhook deliveries and
 * enhancement pushes ride the same Queue with backoff). Small: ids and an
 * attempt number; the handler reads everything else from the store.
 */
import type { JobMessage } from "../store/records";

/** Attempt `attempt` (1-based) of the job's webhook event. */
export interface WebhookMessage {
  kind: "webhook";
  job_id: string;
  attempt: number;
}

/** Tell the session object of a finished job (when the direct call failed). */
export interface PushMessage {
  kind: "push";
  job_id: string;
  session_id: string;
  attempt: number;
}

export type DeliveryMessage = WebhookMessage | PushMessage;
export type QueueMessage = JobMessage | DeliveryMessage;

export function isDeliveryMessage(body: unknown): body is DeliveryMessage {
  const kind = (body as { kind?: unknown } | null)?.kind;
  return kind === "webhook" || kind === "push";
}

/** A queue message can be delayed by at most 12 hours (Cloudflare Queues limit). */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;
