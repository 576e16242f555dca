/**
 * The enhanced result pushed on the live socket (README "The enhanced result
 * on the socket"). A client that asked for it (`await_enhancement=true` on the
 * URL, or `{"type":"end","await_enhancement":true}`) gets session.end as
 * always; then the socket stays open, hibernated, while the pipeline tells the
 * object about its job by RPC (nothing polls): `enhancement.status` per stage,
 * then `enhancement.completed` with the whole enhanced transcript or
 * `enhancement.failed`, then close 1000. After ENHANCEMENT_AWAIT_MAX_SECONDS the
 * alarm sends `enhancement.timeout` with the job's path and closes 1000.
 *
 * The wait lives in the object's SQLite, so it survives hibernation and restarts.
 */
import type { EnhancementUpdate } from "../delivery/push-types";
import { log } from "../log";
import { CLOSE_CODES, WARNING_CODES, type EnhancementPushMessage, type ServerMessage } from "../protocol/messages";

/** The session's client connection, as the session renders and filters it (its protocol, its current sockets). */
export interface PushChannel {
  sockets(): WebSocket[];
  emit(message: ServerMessage): void;
}

/** Where a client polls a job (the `poll` of enhancement.timeout). */
const jobPath = (jobId: string) => `/v1/audio/transcriptions/${jobId}`;

interface Wait {
  jobId: string;
  sessionId: string;
  deadline: number;
}

export class EnhancementPush {
  #ctx: DurableObjectState;
  #channel: PushChannel;
  #bucket: R2Bucket;
  #maxWaitMs: number;
  /** Asked for with the `end` message (the URL parameter is in the session config). */
  #askedAtEnd = false;

  constructor(ctx: DurableObjectState, channel: PushChannel, bucket: R2Bucket, maxWaitSeconds: number) {
    this.#ctx = ctx;
    this.#channel = channel;
    this.#bucket = bucket;
    this.#maxWaitMs = maxWaitSeconds * 1000;
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS enhancement_wait (id INTEGER PRIMARY KEY CHECK (id = 1), job_id TEXT NOT NULL, session_id TEXT NOT NULL, deadline INTEGER NOT NULL)`,
    );
  }

  /** The client's `end` asked for the result on the socket (`{"type":"end","await_enhancement":true}`). */
  noteEnd(awaitEnhancement: boolean): void {
    if (awaitEnhancement) this.#askedAtEnd = true;
  }

  /**
   * At session.end: true when the sockets stay open for the enhanced result
   * (the caller then does not close them). Only a graceful end (close 1000)
   * with a job and a client still connected waits.
   */
  holdOpen(options: { sessionId: string; jobId: string | null; askedInUrl: boolean; closeCode: number }): boolean {
    if (!(options.askedInUrl || this.#askedAtEnd) || options.closeCode !== CLOSE_CODES.normal) return false;
    if (this.#sockets().length === 0) return false;
    if (!options.jobId) {
      this.#send({
        type: "warning",
        code: WARNING_CODES.nothingToAwait,
        message: "await_enhancement: this session requested no enhancement (enhance_on_end=true); closing",
      });
      return false;
    }
    const wait: Wait = { jobId: options.jobId, sessionId: options.sessionId, deadline: Date.now() + this.#maxWaitMs };
    this.#ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO enhancement_wait (id, job_id, session_id, deadline) VALUES (1, ?, ?, ?)`,
      wait.jobId,
      wait.sessionId,
      wait.deadline,
    );
    this.#send({ type: "enhancement.status", job_id: wait.jobId, status: "pending", stage: null });
    log("info", "push.waiting", { session_id: wait.sessionId, job_id: wait.jobId, max_wait_s: this.#maxWaitMs / 1000 });
    return true;
  }

  /** When the alarm must fire to end the wait; null when nobody waits. */
  deadline(): number | null {
    return this.#wait()?.deadline ?? null;
  }

  /** The pipeline's RPC: push the update to a waiting socket (nothing happens when none waits). */
  async onUpdate(update: EnhancementUpdate): Promise<void> {
    const wait = this.#wait();
    if (!wait || wait.jobId !== update.job_id) return;
    if (this.#sockets().length === 0) {
      this.#clear();
      return;
    }
    switch (update.kind) {
      case "status":
        this.#send({ type: "enhancement.status", job_id: wait.jobId, status: update.status, stage: update.stage });
        return;
      case "completed": {
        const object = await this.#bucket.get(update.result_key);
        if (!object) throw new Error(`result ${update.result_key} not found`);
        this.#finish(wait, { type: "enhancement.completed", job_id: wait.jobId, transcript: await object.json() }, "enhancement completed");
        return;
      }
      case "failed":
        this.#finish(wait, { type: "enhancement.failed", job_id: wait.jobId, error: update.error }, "enhancement failed");
        return;
    }
  }

  /** The alarm: past the deadline, tell the client where to poll and close. */
  onAlarm(now: number): void {
    const wait = this.#wait();
    if (!wait || now < wait.deadline) return;
    this.#finish(
      wait,
      {
        type: "enhancement.timeout",
        job_id: wait.jobId,
        poll: jobPath(wait.jobId),
        message: `the enhancement did not finish within ${this.#maxWaitMs / 1000} s (ENHANCEMENT_AWAIT_MAX_SECONDS); it goes on: poll GET ${jobPath(wait.jobId)}`,
      },
      "enhancement wait ended",
    );
  }

  #finish(wait: Wait, message: EnhancementPushMessage, reason: string): void {
    this.#send(message);
    for (const ws of this.#sockets()) {
      try {
        ws.close(CLOSE_CODES.normal, reason);
      } catch {
        // Already closed.
      }
    }
    this.#clear();
    log("info", "push.done", { session_id: wait.sessionId, job_id: wait.jobId, outcome: message.type });
  }

  #wait(): Wait | null {
    const row = this.#ctx.storage.sql
      .exec<{ job_id: string; session_id: string; deadline: number }>(`SELECT job_id, session_id, deadline FROM enhancement_wait WHERE id = 1`)
      .toArray()[0];
    return row ? { jobId: row.job_id, sessionId: row.session_id, deadline: row.deadline } : null;
  }

  #clear(): void {
    this.#ctx.storage.sql.exec(`DELETE FROM enhancement_wait`);
  }

  #sockets(): WebSocket[] {
    return this.#channel.sockets();
  }

  #send(message: ServerMessage): void {
    this.#channel.emit(message);
  }
}
