/**
 * Deepgram-style callbacks of `POST /v1/listen?callback=<url>`: once the job
 * is done, its prerecorded JSON (or a Deepgram error body) is POSTed to the
 * URL. Both the wait and the delivery ride the enhancement Queue (DESIGN §2,
 * "webhook deliveries ... ride the same Queue with backoff"): a message looks
 * at the job, and sends itself again, delayed, until the job is done and the
 * callback answered 2xx or the attempts run out.
 *
 * To be unified with the signed webhooks of issue 16 (same Queue, URL rules
 * and signatures) once they exist; until then deliveries are unsigned.
 */
import type { AppEnv } from "../config";
import { errorMessage, log } from "../log";
import type { PrerecordedShape } from "../protocol/deepgram/params";
import { toPrerecordedResponse } from "../protocol/deepgram/prerecorded";
import type { Store } from "../store/store";
import type { EnhancedTranscript } from "./result";

export interface ListenCallbackMessage {
  kind: "listen_callback";
  job_id: string;
  url: string;
  shape: PrerecordedShape;
  /** Times the job was found unfinished (the wait between looks grows with it). */
  polls: number;
  /** Deliveries that failed so far. */
  attempts: number;
}

/** Looks at an unfinished job: 1 s, doubling to every 30 s, for about 6 hours. */
export const CALLBACK_POLL = { firstSeconds: 1, maxSeconds: 30, maxPolls: 730 } as const;
/** Deliveries: 5 s, doubling to 5 min, 10 attempts (about 25 minutes), each with a 10 s timeout. */
export const CALLBACK_DELIVERY = { firstSeconds: 5, maxSeconds: 300, maxAttempts: 10, timeoutMs: 10_000 } as const;

export const isListenCallback = (body: unknown): body is ListenCallbackMessage =>
  typeof body === "object" && body !== null && (body as { kind?: unknown }).kind === "listen_callback";

export async function queueListenCallback(env: AppEnv, message: Omit<ListenCallbackMessage, "kind" | "polls" | "attempts">): Promise<void> {
  const body: ListenCallbackMessage = { kind: "listen_callback", polls: 0, attempts: 0, ...message };
  await env.ENHANCEMENT_QUEUE.send(body, { delaySeconds: CALLBACK_POLL.firstSeconds });
}

/** One look at the job: deliver when it is done, otherwise queue the next look. Throws only when the store or queue fails. */
export async function handleListenCallback(env: AppEnv, store: Store, message: ListenCallbackMessage): Promise<void> {
  const job = await store.getJob(message.job_id);
  if (job && job.status !== "completed" && job.status !== "failed") {
    if (message.polls >= CALLBACK_POLL.maxPolls) {
      log("error", "callback.gave_up", { job_id: message.job_id, reason: "job unfinished" });
      return;
    }
    const delaySeconds = Math.min(CALLBACK_POLL.maxSeconds, CALLBACK_POLL.firstSeconds * 2 ** message.polls);
    await env.ENHANCEMENT_QUEUE.send({ ...message, polls: message.polls + 1 }, { delaySeconds });
    return;
  }
  const payload = await callbackPayload(env, message, job);
  try {
    await post(message.url, payload);
    log("info", "callback.delivered", { job_id: message.job_id, attempts: message.attempts + 1 });
  } catch (err) {
    const attempts = message.attempts + 1;
    if (attempts >= CALLBACK_DELIVERY.maxAttempts) {
      log("error", "callback.gave_up", { job_id: message.job_id, attempts, message: errorMessage(err) });
      return;
    }
    const delaySeconds = Math.min(CALLBACK_DELIVERY.maxSeconds, CALLBACK_DELIVERY.firstSeconds * 2 ** (attempts - 1));
    log("warn", "callback.retry", { job_id: message.job_id, attempts, delay_s: delaySeconds, message: errorMessage(err) });
    await env.ENHANCEMENT_QUEUE.send({ ...message, attempts }, { delaySeconds });
  }
}

async function callbackPayload(env: AppEnv, message: ListenCallbackMessage, job: Awaited<ReturnType<Store["getJob"]>>): Promise<unknown> {
  const result = job?.status === "completed" && job.result_key ? await env.RECORDINGS.get(job.result_key) : null;
  if (job && result) {
    return toPrerecordedResponse({ id: job.id, created_at: job.created_at, result: await result.json<EnhancedTranscript>() }, message.shape);
  }
  return {
    err_code: "TRANSCRIPTION_FAILED",
    err_msg: job?.error?.message ?? "the job no longer exists",
    request_id: message.job_id,
  };
}

async function post(url: string, payload: unknown): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(CALLBACK_DELIVERY.timeoutMs),
    redirect: "manual",
  });
  await res.body?.cancel();
  if (res.status < 200 || res.status >= 300) throw new Error(`callback answered HTTP ${res.status}`);
}
