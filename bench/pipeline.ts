/**
 * Enhancement pipeline: session.end → job `completed`, polled over
 * GET /v1/audio/transcriptions/{job_id}.
 */
import { fastSession } from "./recording";
import { sleep, type ArrivalTracker } from "./tracker";

export interface PipelineResult {
  audioMinutes: number;
  jobId: string | null;
  /** session.end → first poll that saw `completed` (or the final state). */
  endToCompletedS: number | null;
  finalStatus: string;
  finalStage: string | null;
  error: string | null;
  /** Job timestamps as the service recorded them (created → started → completed), s. */
  queuedS: number | null;
  runS: number | null;
  pollIntervalMs: number;
  endToSessionEndMs: number;
}

export async function pipelineJob(opts: {
  serviceUrl: string;
  wsBase: string;
  pcm: Buffer;
  tracker: ArrivalTracker;
  timeoutMs: number;
  pollIntervalMs?: number;
}): Promise<PipelineResult> {
  const poll = opts.pollIntervalMs ?? 200;
  const session = await fastSession({
    serviceUrl: opts.serviceUrl,
    wsBase: opts.wsBase,
    pcm: opts.pcm,
    frameBytes: 32768,
    tracker: opts.tracker,
    query: "enhance_on_end=true",
  });
  const tEnd = performance.now();
  const jobId = (session.endMessage?.enhancement_job_id as string | null | undefined) ?? null;
  const base: PipelineResult = {
    audioMinutes: opts.pcm.byteLength / 32000 / 60,
    jobId,
    endToCompletedS: null,
    finalStatus: session.gotSessionEnd ? "no job id in session.end" : "no session.end",
    finalStage: null,
    error: null,
    queuedS: null,
    runS: null,
    pollIntervalMs: poll,
    endToSessionEndMs: session.endToSessionEndMs,
  };
  if (!jobId) return base;
  const deadline = tEnd + opts.timeoutMs;
  let last: Record<string, unknown> | null = null;
  while (performance.now() < deadline) {
    try {
      const res = await fetch(`${opts.serviceUrl}/v1/audio/transcriptions/${jobId}`);
      if (res.ok) {
        last = (await res.json()) as Record<string, unknown>;
        if (last.status === "completed" || last.status === "failed") break;
      }
    } catch {
      // Retry until the deadline.
    }
    await sleep(poll);
  }
  const seen = performance.now();
  const ts = (k: string) => (typeof last?.[k] === "string" ? Date.parse(last[k] as string) : NaN);
  const created = ts("created_at");
  const started = ts("started_at");
  const completed = ts("completed_at");
  const error = last?.error;
  return {
    ...base,
    endToCompletedS: last?.status === "completed" ? (seen - tEnd) / 1000 : null,
    finalStatus: String(last?.status ?? "unknown (job never readable)"),
    finalStage: typeof last?.stage === "string" ? last.stage : null,
    error: error ? (typeof error === "string" ? error : JSON.stringify(error)).slice(0, 200) : null,
    queuedS: Number.isFinite(started - created) ? (started - created) / 1000 : null,
    runS: Number.isFinite(completed - started) ? (completed - started) / 1000 : null,
  };
}
