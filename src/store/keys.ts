/**
 * The only module that knows key names: Redis keys and R2 object keys
 * (DESIGN §7). Everything else asks here.
 */

export const redisKeys = {
  session: (sessionId: string) => `session:${sessionId}`,
  job: (jobId: string) => `job:${jobId}`,
  /** API key record, by the SHA-256 (hex) of the secret: the secret itself is never stored. */
  apiKey: (secretHash: string) => `apikey:${secretHash}`,
  /** Hash of key id → secret hash, for listing and revoking by id. */
  apiKeyIndex: "apikeys",
  /** One-use browser token, by the SHA-256 of the token. */
  authToken: (tokenHash: string) => `authtoken:${tokenHash}`,
  /** Sorted set of a key's live sessions, scored by lease expiry (ms). */
  activeSessions: (keyId: string) => `active:${keyId}`,
  /**
   * Sorted set of unfinished (pending/processing) job ids, scored by lease
   * deadline (ms): the sweeper reads only the expired end, never scans keys.
   */
  jobLeases: "jobs:leases",
  /** Sorted set of an owner's sessions, scored by creation time (ms): the history index. */
  ownerSessions: (owner: string) => `sessions_by_owner:${owner}`,
} as const;

/** File name of an upload's converted audio under `uploads/<job_id>/`. */
export const UPLOAD_AUDIO_NAME = "audio.wav";

export const r2Keys = {
  recording: (sessionId: string) => `sessions/${sessionId}/audio.wav`,
  liveTranscript: (sessionId: string) => `sessions/${sessionId}/transcript.json`,
  jobResult: (jobId: string) => `jobs/${jobId}/result.json`,
  /** Saved output of one pipeline stage, so a retried job resumes after it. */
  jobStage: (jobId: string, stage: string) => `jobs/${jobId}/stages/${stage}.json`,
  upload: (jobId: string, filename: string) => `uploads/${jobId}/${filename}`,
} as const;
