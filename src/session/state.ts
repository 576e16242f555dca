/**
 * What a session object must remember across eviction, hibernation and
 * restarts, kept in its own SQLite storage. Memory is only a cache of this.
 */
import type { ProtocolName } from "../protocol/client-protocol";
import type { DeepgramLiveOptions } from "../protocol/deepgram/params";
import type { Word } from "../protocol/messages";
import type { DropTotals } from "./audio-limit";
import type { SessionConfig } from "../protocol/params";
import type { EndReason, SessionRecord, SessionStatus } from "../store/records";

export type Phase = "active" | "ending" | "ended";

export interface SessionMeta {
  sessionId: string;
  config: SessionConfig;
  /** The wire protocol the client speaks (absent in sessions started before it existed: native). */
  protocol: ProtocolName;
  /** With protocol "deepgram": its renderer's options. */
  deepgram?: DeepgramLiveOptions;
  createdAt: number;
  phase: Phase;
  /** Status reported to the store once ended. */
  status: SessionStatus;
  endReason: EndReason | null;
  endedAt: number | null;
  /** Fixed at the start when enhancement was requested, so a retry can never make a second job. */
  jobId: string | null;
  /** When the client socket went away without `end`; the grace period runs from here. */
  clientGoneAt: number | null;
  /** Record fields not yet written to the store (merged, written in one go). */
  pendingRecord: Partial<SessionRecord> | null;
  jobRecorded: boolean;
  jobQueued: boolean;
  storeAttempts: number;
  storeRetryAt: number | null;
  /** Live text stopped for good (engine unreachable); the session goes on recording only. */
  engineGaveUp: boolean;
  /** Attempts to complete the recording after ending. */
  recordingAttempts: number;
  /** Test-only: queue sends still to fail (see DEV_FAULTS). */
  queueSendFailuresToInject: number;
  /** Id of the API key that opened the session. */
  owner: string;
  /** The gateway took a concurrency slot for this session; it is released once the session ended. */
  holdsSlot: boolean;
  slotReleased: boolean;
  /** Live text comes from the fallback engine (the first could not be reached at the start). */
  onFallback: boolean;
  /** The job (id fixed at the start) exists in the store as `pending`, so its id answers from the first moment. */
  jobReserved: boolean;
  /** The recording could not be completed; the reserved job was marked failed (it will never be queued). */
  jobAbandoned: boolean;
  /** sessions/<id>/transcript.json is written (after session.end; retried by alarm). */
  transcriptSaved: boolean;
  /** Secret a client resumes with (absent in sessions started before resume existed). Never logged. */
  resumeToken?: string;
  /** The current client connection: a resume takes over with the next number; older sockets are ignored. */
  connection: number;
  /** The client awaits the enhanced result on its socket (set at the end, before the job is written). */
  pushAwaited?: boolean;
}

/**
 * How much of the client's own stream (its encoding and rate) the session has
 * handled durably: recorded, or refused and counted in `dropped`. A client
 * that reconnects continues from `clientBytes` (`audio.ack`, `session.resumed`).
 */
export interface Progress {
  clientBytes: number;
  dropped: DropTotals;
}

/** What a session is, fixed at its start. */
export type SessionIdentity = Pick<
  SessionMeta,
  "sessionId" | "config" | "protocol" | "deepgram" | "owner" | "holdsSlot" | "createdAt" | "jobId" | "queueSendFailuresToInject" | "resumeToken"
>;

/** A session's state at its start: its identity, everything else at its starting value. */
export function initialMeta(identity: SessionIdentity): SessionMeta {
  return {
    ...identity,
    phase: "active",
    status: "active",
    endReason: null,
    endedAt: null,
    clientGoneAt: null,
    pendingRecord: null,
    jobRecorded: false,
    jobQueued: false,
    storeAttempts: 0,
    storeRetryAt: null,
    engineGaveUp: false,
    recordingAttempts: 0,
    onFallback: false,
    slotReleased: false,
    jobReserved: false,
    jobAbandoned: false,
    transcriptSaved: false,
    connection: 0,
  };
}

export interface FinalSegment {
  start: number;
  end: number;
  text: string;
  confidence: number;
  words?: Word[];
}

export class SessionState {
  #sql: SqlStorage;
  #meta: SessionMeta | null = null;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS session_meta (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL)`);
    // How far the client's own stream is durably handled: written with the audio it covers (Recorder onSpool).
    sql.exec(
      `CREATE TABLE IF NOT EXISTS progress (id INTEGER PRIMARY KEY CHECK (id = 1), client_bytes INTEGER NOT NULL, dropped_frames INTEGER NOT NULL, dropped_bytes INTEGER NOT NULL)`,
    );
    sql.exec(`INSERT OR IGNORE INTO progress (id, client_bytes, dropped_frames, dropped_bytes) VALUES (1, 0, 0, 0)`);
    sql.exec(
      `CREATE TABLE IF NOT EXISTS finals (seq INTEGER PRIMARY KEY AUTOINCREMENT, start REAL NOT NULL, end REAL NOT NULL, text TEXT NOT NULL, confidence REAL NOT NULL, words TEXT)`,
    );
    const row = sql.exec<{ value: string }>(`SELECT value FROM session_meta WHERE id = 1`).toArray()[0];
    if (row) this.#meta = JSON.parse(row.value) as SessionMeta;
  }

  get exists(): boolean {
    return this.#meta !== null;
  }

  get meta(): SessionMeta {
    if (!this.#meta) throw new Error("session state read before the session started");
    return this.#meta;
  }

  /** Start a session's state: its identity, everything else at its starting value. */
  init(identity: SessionIdentity): SessionMeta {
    this.#meta = initialMeta(identity);
    this.#save();
    return this.#meta;
  }

  update(patch: Partial<SessionMeta>): SessionMeta {
    this.#meta = { ...this.meta, ...patch };
    this.#save();
    return this.#meta;
  }

  /** Queue record fields for the store, merged with any not yet written. */
  queueRecord(fields: Partial<SessionRecord>): void {
    this.update({ pendingRecord: { ...(this.meta.pendingRecord ?? {}), ...fields } });
  }

  /** The durable position in the client's stream, and what of it was not recorded. */
  progress(): Progress {
    const row = this.#sql
      .exec<{ client_bytes: number; dropped_frames: number; dropped_bytes: number }>(`SELECT client_bytes, dropped_frames, dropped_bytes FROM progress WHERE id = 1`)
      .one();
    return { clientBytes: row.client_bytes, dropped: { frames: row.dropped_frames, bytes: row.dropped_bytes } };
  }

  saveProgress(progress: Progress): void {
    this.#sql.exec(
      `UPDATE progress SET client_bytes = ?, dropped_frames = ?, dropped_bytes = ? WHERE id = 1`,
      progress.clientBytes,
      progress.dropped.frames,
      progress.dropped.bytes,
    );
  }

  addFinal(segment: FinalSegment): void {
    this.#sql.exec(
      `INSERT INTO finals (start, end, text, confidence, words) VALUES (?, ?, ?, ?, ?)`,
      segment.start,
      segment.end,
      segment.text,
      segment.confidence,
      segment.words ? JSON.stringify(segment.words) : null,
    );
  }

  /** End (stream seconds) of the last final, or 0. */
  lastFinalEnd(): number {
    return this.#sql.exec<{ last: number | null }>(`SELECT MAX(end) AS last FROM finals`).one().last ?? 0;
  }

  finals(): FinalSegment[] {
    return this.#sql
      .exec<{ start: number; end: number; text: string; confidence: number; words: string | null }>(
        `SELECT start, end, text, confidence, words FROM finals ORDER BY seq`,
      )
      .toArray()
      .map((r) => ({
        start: r.start,
        end: r.end,
        text: r.text,
        confidence: r.confidence,
        ...(r.words ? { words: JSON.parse(r.words) as Word[] } : {}),
      }));
  }

  #save(): void {
    this.#sql.exec(`INSERT OR REPLACE INTO session_meta (id, value) VALUES (1, ?)`, JSON.stringify(this.#meta));
  }
}
