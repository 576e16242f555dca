/**
 * Runs one enhancement job (README): transcribe → speakers → cleanup? →
 * emotions? → assemble. Each stage's output is saved to R2 before the next
 * starts, and a saved output is never recomputed, so a redelivered message
 * resumes where the last delivery stopped; a job already completed or failed
 * is left alone, so duplicates give one result.
 */
import { readConfig, type AppEnv } from "../config";
import { createBatchTranscriber } from "../engines/batch";
import { EngineError } from "../engines/errors";
import type { BatchTranscriber } from "../engines/batch/types";
import { createLlmClient } from "../engines/llm";
import type { LlmClient } from "../engines/llm/types";
import { tellStage } from "../delivery/session-notify";
import { errorMessage, log } from "../log";
import { r2Keys } from "../store/keys";
import type { JobMessage, JobRecord } from "../store/records";
import type { Store } from "../store/store";
import { assemble } from "./assemble";
import { openRecording } from "./audio";
import { runCleanupStage } from "./cleanup";
import { runEmotionsStage } from "./emotions";
import { PermanentJobError } from "./errors";
import type { LlmStageContext } from "./llm-call";
import type { CleanupOutput, EmotionsOutput, SpeakersOutput, StageName, TranscribeOutput } from "./result";
import { runSpeakersStage, withDiarizationGap } from "./speakers";
import { chunkStage, StageStore } from "./stages";
import { transcribeRecording } from "./transcribe";

/** The engines a job runs with; `runJob` builds them from the config, tests pass their own. */
export interface JobEngines {
  transcriber: BatchTranscriber | null;
  /** Why there is no transcriber (becomes the job's error). */
  transcriberReason?: string;
  llm: LlmClient | null;
  /** Why there is no LLM (becomes the skipped stages' reason). */
  llmReason?: string;
  /** See ServiceConfig.llm.giveUpAfterAttempts. */
  llmGiveUpAfterAttempts: number;
}

export function enginesFor(env: AppEnv): JobEngines {
  const config = readConfig(env);
  const batch = createBatchTranscriber(config.batch, env);
  const llm = createLlmClient(config.llm, env);
  return {
    transcriber: batch.transcriber,
    ...(batch.reason !== undefined ? { transcriberReason: batch.reason } : {}),
    llm: llm.llm,
    ...(llm.reason !== undefined ? { llmReason: llm.reason } : {}),
    llmGiveUpAfterAttempts: config.llm.giveUpAfterAttempts,
  };
}

/** How a delivery ended: the consumer dead-letters permanent failures. Transient failures throw. */
export type JobOutcome = "completed" | "failed" | "duplicate";

/** Told when a stage starts (the session object pushes it to a waiting socket); must not throw. */
export type StageObserver = (job: JobRecord, stage: StageName) => Promise<void>;

export async function runJob(env: AppEnv, store: Store, message: JobMessage, attempt: number): Promise<JobOutcome> {
  return runJobWith(env.RECORDINGS, store, message, attempt, enginesFor(env), (job, stage) => tellStage(env, job, stage));
}

/** {@link runJob} with explicit engines. */
export async function runJobWith(
  bucket: R2Bucket,
  store: Store,
  message: JobMessage,
  attempt: number,
  engines: JobEngines,
  onStage: StageObserver = async () => undefined,
): Promise<JobOutcome> {
  const job = await store.getJob(message.job_id);
  // Transient: the record may be written after the message (or Redis may be lagging); the DLQ ends it.
  if (!job) throw new Error(`job ${message.job_id} has no record`);
  await store.countDelivery(job.id);
  if (job.status === "completed" || job.status === "failed") {
    log("info", "job.duplicate_delivery", { job_id: job.id, status: job.status, attempt });
    return "duplicate";
  }
  await store.updateJob(job.id, { status: "processing", started_at: job.started_at ?? new Date().toISOString() });
  log("info", "job.started", { job_id: job.id, attempt, source_session_id: job.source_session_id });

  const stages = new StageStore(bucket, job.id);
  try {
    const result = await runStages(bucket, store, job, message, attempt, engines, stages, onStage);
    const resultKey = r2Keys.jobResult(job.id);
    await bucket.put(resultKey, JSON.stringify(result.transcript), { httpMetadata: { contentType: "application/json" } });
    await store.updateJob(job.id, {
      status: "completed",
      completed_at: new Date().toISOString(),
      result_key: resultKey,
      error: null,
    });
    log("info", "job.completed", {
      job_id: job.id,
      segments: result.transcript.segments.length,
      duration_s: result.transcript.duration,
      attempt,
    });
    await stages.delete(result.savedStages).catch((err: unknown) => {
      log("warn", "job.stage_cleanup_failed", { job_id: job.id, message: errorMessage(err) });
    });
    return "completed";
  } catch (err) {
    if (err instanceof PermanentJobError) {
      await store.updateJob(job.id, {
        status: "failed",
        completed_at: new Date().toISOString(),
        error: { code: err.code, message: err.message },
      });
      log("error", "job.failed", { job_id: job.id, code: err.code, message: err.message });
      return "failed";
    }
    const code = err instanceof EngineError ? "engine_unavailable" : "internal_error";
    await store.updateJob(job.id, { error: { code, message: errorMessage(err) } }).catch(() => undefined);
    throw err;
  }
}

async function runStages(
  bucket: R2Bucket,
  store: Store,
  job: JobRecord,
  message: JobMessage,
  attempt: number,
  engines: JobEngines,
  stages: StageStore,
  onStage: StageObserver,
) {
  const params = job.parameters ?? message.parameters;
  const audioKey = job.audio_key || message.audio_key;
  const saved: string[] = [];

  /** Loads a stage's saved output, or marks the stage on the job, runs it and saves its output. */
  const stage = async <T>(name: StageName, compute: () => Promise<T>): Promise<T> => {
    saved.push(name);
    const done = await stages.load<T>(name);
    if (done !== null) return done;
    await store.updateJob(job.id, { stage: name });
    await onStage(job, name);
    const output = await compute();
    await stages.save(name, output);
    return output;
  };

  const llmCtx: LlmStageContext | null = engines.llm
    ? { llm: engines.llm, attempt, giveUpAfterAttempts: engines.llmGiveUpAfterAttempts }
    : null;
  const noLlm = engines.llmReason ?? "no LLM is configured";

  const transcript = await stage<TranscribeOutput>("transcribe", async () => {
    if (!engines.transcriber) {
      throw new PermanentJobError("batch_engine_not_configured", engines.transcriberReason ?? "no batch transcription engine is configured");
    }
    const recording = await openRecording(bucket, audioKey);
    const output = await transcribeRecording({
      bucket,
      recording,
      transcriber: engines.transcriber,
      options: { language: params.language || "auto", numSpeakers: params.num_speakers ?? null },
      stages,
    });
    // The platform answered with less than it was asked for: the result says so, and so does the log.
    for (const [what, reason] of Object.entries(output.degraded ?? {})) {
      log("warn", "job.engine_output_degraded", { job_id: job.id, what, engine: engines.transcriber.name, reason });
    }
    return output;
  });
  for (let i = 0; i < transcript.chunks; i++) saved.push(chunkStage(i));

  const speakers = await stage<SpeakersOutput>("speakers", async () => {
    const named = await runSpeakersStage(transcript.segments, llmCtx, noLlm);
    const gap = transcript.degraded?.speakers;
    return gap ? withDiarizationGap(named, gap) : named;
  });

  const cleanup = params.llm_cleanup
    ? await stage<CleanupOutput>("cleanup", () => runCleanupStage(transcript.segments, llmCtx, noLlm))
    : null;

  const emotions = params.emotions
    ? await stage<EmotionsOutput>("emotions", async () => {
        // Judge the text the reader will see: cleaned where cleanup changed it.
        const cleaned = new Map((cleanup?.texts ?? []).map((t) => [t.id, t.text]));
        const segments = transcript.segments.map((s) => ({ ...s, text: cleaned.get(s.id) ?? s.text }));
        return runEmotionsStage(segments, llmCtx, noLlm);
      })
    : null;

  await store.updateJob(job.id, { stage: "assemble" });
  await onStage(job, "assemble");
  return { transcript: assemble(transcript, speakers, cleanup, emotions), savedStages: saved };
}
