/**
 * When a session's alarm must fire and what is due when it does: pure rules
 * over the persisted state, the last client activity and the clock, so that
 * scheduling the alarm and running it can never disagree (and are tested
 * without a Durable Object).
 */
import type { SessionMeta } from "./state";

/**
 * While a session is active its object is woken at least this often. A
 * Durable Object is evicted after 70–140 s without an incoming event, and an
 * outbound (engine) WebSocket keeps it only up to 15 minutes (Durable Objects
 * docs: lifecycle; WebSockets best practices): the alarm is an incoming event
 * of its own, whatever the client and engine do.
 */
export const ACTIVE_HEARTBEAT_MS = 60_000;
/** An object that restarted while ending finishes the end within this. */
export const ENDING_RECHECK_MS = 30_000;
/** Work owed after the end (outbox, recording) is retried this soon unless a backoff says later. */
export const ENDED_RETRY_MS = 1000;
/** Attempts to complete a recording after the end before giving up. */
export const MAX_RECORDING_ATTEMPTS = 10;

export interface DeadlineConfig {
  idleTimeoutSeconds: number;
  clientGoneGraceSeconds: number;
  maxSessionSeconds: number;
}

export interface DeadlineInputs {
  meta: SessionMeta;
  /** Last message from the client (ms). Memory only: after a restart, the restart time. */
  lastActivity: number;
  recordingFinished: boolean;
  /** When a client's wait for the pushed enhancement ends (null: nobody waits). */
  pushDeadline: number | null;
}

export type DueAction =
  | { kind: "end"; reason: "client_gone" | "idle_timeout" | "max_duration" }
  /** The object restarted in the middle of ending: finish the end it started. */
  | { kind: "finish_ending" }
  /** Ended: retry what is still owed (recording, transcript copy, store outbox). */
  | { kind: "retry_owed" }
  /** Active, and a store write failed earlier: retry it now (the job's reservation among them). */
  | { kind: "sync_store" }
  | { kind: "none" };

/** Wall-clock cap: twice the audio cap, so a client trickling audio cannot hold a session forever. */
export const wallClockCapMs = (cfg: DeadlineConfig) => cfg.maxSessionSeconds * 2000;

/** What is due at `now`. */
export function dueAction({ meta, lastActivity }: DeadlineInputs, now: number, cfg: DeadlineConfig): DueAction {
  switch (meta.phase) {
    case "active": {
      const goneAt = meta.clientGoneAt;
      if (goneAt !== null && now >= goneAt + cfg.clientGoneGraceSeconds * 1000) return { kind: "end", reason: "client_gone" };
      if (goneAt === null && now >= lastActivity + cfg.idleTimeoutSeconds * 1000) return { kind: "end", reason: "idle_timeout" };
      if (now >= meta.createdAt + wallClockCapMs(cfg)) return { kind: "end", reason: "max_duration" };
      if (meta.pendingRecord !== null && meta.storeRetryAt !== null && now >= meta.storeRetryAt) return { kind: "sync_store" };
      return { kind: "none" };
    }
    case "ending":
      return { kind: "finish_ending" };
    case "ended":
      return { kind: "retry_owed" };
  }
}

/** When the alarm should next fire (ms), or null when nothing is left to do. */
export function nextDeadline({ meta, lastActivity, recordingFinished, pushDeadline }: DeadlineInputs, now: number, cfg: DeadlineConfig): number | null {
  switch (meta.phase) {
    case "active": {
      const gone = meta.clientGoneAt !== null ? meta.clientGoneAt + cfg.clientGoneGraceSeconds * 1000 : lastActivity + cfg.idleTimeoutSeconds * 1000;
      const storeRetry = meta.pendingRecord !== null && meta.storeRetryAt !== null ? meta.storeRetryAt : Infinity;
      return Math.min(gone, meta.createdAt + wallClockCapMs(cfg), now + ACTIVE_HEARTBEAT_MS, storeRetry);
    }
    case "ending":
      return now + ENDING_RECHECK_MS;
    case "ended": {
      const owed = owesWork(meta, recordingFinished) ? (meta.storeRetryAt ?? now + ENDED_RETRY_MS) : null;
      if (pushDeadline === null) return owed;
      return owed === null ? pushDeadline : Math.min(owed, pushDeadline);
    }
  }
}

/** Something is still owed after the end: the recording, the transcript copy, the record, the job, the slot. */
export function owesWork(meta: SessionMeta, recordingFinished: boolean): boolean {
  const recording = !recordingFinished && meta.recordingAttempts < MAX_RECORDING_ATTEMPTS;
  const job = meta.jobId !== null && !(meta.jobRecorded && meta.jobQueued) && recordingFinished;
  const slot = meta.holdsSlot && !meta.slotReleased;
  return recording || job || slot || !meta.transcriptSaved || meta.pendingRecord !== null;
}
