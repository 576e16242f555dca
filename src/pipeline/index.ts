/**
 * The enhancement pipeline (DESIGN §2): the queue consumer's work and batch
 * jobs from uploads. See README.md in this folder.
 */
export { handleQueueBatch } from "./consumer";
export { sweepStalledJobs, type SweepReport } from "./sweeper";
export { sweepAction, STALLED_ERROR_CODE, type SweepAction, type SweepRules } from "./sweep-rules";
export { runJob, runJobWith, enginesFor, type JobEngines } from "./run";
export { createUploadJob, UploadError, UPLOAD_AUDIO_NAME, type UploadErrorCode, type UploadOptions, type UploadRequest } from "./upload";
export { PermanentJobError, type PermanentErrorCode } from "./errors";
export { EMOTION_LABELS, FALLBACK_EMOTION, type EmotionLabel } from "./emotions";
export { CLEANUP_MAX_DRIFT, CLEANUP_BATCH_SEGMENTS } from "./cleanup";
export { SEGMENT_PAUSE_SECONDS } from "./segments";
export type * from "./result";
