/**
 * The enhancement pipeline (DESIGN §2): the queue consumer's work. Jobs from
 * uploads are created in src/ingest/. See README.md in this folder.
 */
export { handleQueueBatch } from "./consumer";
export { sweepStalledJobs, type SweepReport } from "./sweeper";
export { sweepAction, STALLED_ERROR_CODE, type SweepAction, type SweepRules } from "./sweep-rules";
export { runJob, runJobWith, enginesFor, type JobEngines } from "./run";
export { PermanentJobError, type PermanentErrorCode } from "./errors";
export { EMOTION_LABELS, FALLBACK_EMOTION, type EmotionLabel } from "./emotions";
export { CLEANUP_MAX_DRIFT, CLEANUP_BATCH_SEGMENTS } from "./cleanup";
export { SEGMENT_PAUSE_SECONDS } from "./segments";
export type * from "./result";
