/**
 * Shapes of the records kept in Redis (DESIGN §7): status and links only.
 * Transcripts and results live in R2.
 */
import { MAX_LANGUAGE_LENGTH, MAX_SPEAKERS, type SessionConfig } from "../protocol/params";

export type SessionStatus = "active" | "completed" | "interrupted" | "failed";
export type JobStatus = "pending" | "processing" | "completed" | "failed";
export type EnhancementStatus = "not_requested" | JobStatus;

/** Why a session ended. */
export type EndReason = "client_end" | "client_gone" | "idle_timeout" | "max_duration" | "internal_error";

export interface SessionRecord {
  id: string;
  /** Id of the API key that opened the session ("anonymous" with auth off). */
  owner: string;
  status: SessionStatus;
  params: SessionConfig;
  created_at: string;
  ended_at: string | null;
  end_reason: EndReason | null;
  /** Seconds of audio recorded. */
  duration_seconds: number;
  /** Bytes of 16 kHz s16 PCM recorded. */
  bytes_recorded: number;
  /** Bytes of the client's audio (its own encoding) received but not recorded (see session.end). */
  bytes_dropped: number;
  /** R2 key of the finished recording; null until it is complete. */
  audio_key: string | null;
  /** R2 key of the live transcript; null until the session ended. */
  transcript_key: string | null;
  enhancement_job_id: string | null;
  error: string | null;
}

/** Options of a batch enhancement job (DESIGN §5). */
export interface JobParameters {
  speaker_detection: "diarize";
  word_timestamps: true;
  llm_cleanup: boolean;
  emotions: boolean;
  num_speakers: number | null;
  language: string;
}

export interface JobError {
  code: string;
  message: string;
}

export interface JobRecord {
  id: string;
  /** Id of the API key that created the job (for a session's job: the session's owner). */
  owner: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  source: "session" | "upload";
  source_session_id: string | null;
  parameters: JobParameters;
  /** R2 key of the audio to process. */
  audio_key: string;
  /** Pipeline stage running now (or last run). */
  stage: string | null;
  error: JobError | null;
  /** Deliveries of the job's queue message seen by the consumer. */
  deliveries: number;
  /** Times the sweeper re-queued the job after its lease expired (absent on older records: 0). */
  requeues: number;
  /** R2 key of the result; set when completed. */
  result_key: string | null;
  /** When the job's message reached the dead-letter queue (failed jobs only). */
  dead_lettered_at?: string | null;
  /**
   * Where the job's `enhancement.*` webhook goes (session `enhance_webhook_url`,
   * upload `webhook_url`); null or absent: the owner key's default, if any.
   */
  webhook_url?: string | null;
  /**
   * A client awaits the result on its live socket (`await_enhancement`): only
   * then does the pipeline tell the session object about stages and the end
   * (otherwise waking it would be work for nobody).
   */
  push?: boolean;
  /** Delivery of the job's webhook, once the job finished and a URL applied (README "Webhooks"). */
  webhook?: WebhookState | null;
}

export type WebhookStatus = "pending" | "retrying" | "delivered" | "failed";

/** One POST of a webhook event. */
export interface WebhookAttempt {
  attempt: number;
  at: string;
  /** HTTP status of the answer; null when none came (timeout, network, refused URL). */
  status: number | null;
  error: string | null;
  duration_ms: number;
}

/** The job's webhook delivery: a summary plus every attempt (at most WEBHOOK_MAX_ATTEMPTS). */
export interface WebhookState {
  /** Standard Webhooks `webhook-id`: the same on every attempt of this event. */
  event_id: string;
  event_type: "enhancement.completed" | "enhancement.failed";
  url: string;
  status: WebhookStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  history: WebhookAttempt[];
}

/** Cloudflare Queues' limit on one message (128 KB); ours stay far below it (see {@link jobParameters}). */
export const QUEUE_MESSAGE_LIMIT_BYTES = 128_000;

/** The queue message: small, ids and keys only; the consumer reads the rest. */
export interface JobMessage {
  job_id: string;
  audio_key: string;
  source_session_id: string | null;
  parameters: JobParameters;
}

/**
 * The enhancement choices of a session or an upload, as job parameters.
 *
 * `language` is the only field of a job record or queue message whose length
 * a client chooses (ids and keys are fixed-size), so checking it here, where
 * every job's parameters are made, bounds both by construction: a message too
 * large for the Queue cannot be built. The gateway refuses longer values first.
 * @throws RangeError if `language` is over MAX_LANGUAGE_LENGTH or `num_speakers` is outside 1–MAX_SPEAKERS
 */
export function jobParameters(options: {
  llm_cleanup: boolean;
  emotions: boolean;
  num_speakers: number | null;
  language: string;
}): JobParameters {
  if (options.language.length > MAX_LANGUAGE_LENGTH) {
    throw new RangeError(`language must be at most ${MAX_LANGUAGE_LENGTH} characters, got ${options.language.length}`);
  }
  const speakers = options.num_speakers;
  if (speakers !== null && !(Number.isInteger(speakers) && speakers >= 1 && speakers <= MAX_SPEAKERS)) {
    throw new RangeError(`num_speakers must be null or an integer from 1 to ${MAX_SPEAKERS}, got ${speakers}`);
  }
  return {
    speaker_detection: "diarize",
    word_timestamps: true,
    llm_cleanup: options.llm_cleanup,
    emotions: options.emotions,
    num_speakers: speakers,
    language: options.language,
  };
}

/** A job that has not started: pending, no stage, no error, no result. */
export function pendingJob(
  fields: Pick<JobRecord, "id" | "owner" | "created_at" | "source" | "source_session_id" | "parameters" | "audio_key" | "webhook_url" | "push">,
): JobRecord {
  return {
    ...fields,
    status: "pending",
    started_at: null,
    completed_at: null,
    stage: null,
    error: null,
    deliveries: 0,
    requeues: 0,
    result_key: null,
  };
}

/** The queue message that announces a job. */
export function jobMessage(job: JobRecord): JobMessage {
  return { job_id: job.id, audio_key: job.audio_key, source_session_id: job.source_session_id, parameters: job.parameters };
}
