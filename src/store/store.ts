/**
 * Reads and writes of session and job records. The gateway, the session
 * object and the pipeline go through here; nothing else talks to Redis.
 *
 * Job leases (issue 12, finding 7): every unfinished job has an entry in one
 * sorted set scored by its lease deadline, written in the same transaction as
 * the job: set when the job is created, pushed back by every progress write
 * (claim, stage, retry), removed when it completes or fails. The sweeper reads
 * the expired end of that set, so it never scans keys.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { redisKeys } from "./keys";
import { fromHash, hashFromReply, toHash, type FieldSpec } from "./hash";
import type { JobError, JobRecord, SessionRecord, WebhookState } from "./records";

/** What the store needs from the configuration (ServiceConfig["store"]). */
export interface StoreOptions {
  recordTtlSeconds: number;
  jobLeaseSeconds: number;
}

const SESSION_FIELDS: FieldSpec<SessionRecord> = {
  json: ["params"],
  numbers: ["duration_seconds", "bytes_recorded", "bytes_dropped"],
};
const JOB_FIELDS: FieldSpec<JobRecord> = {
  json: ["parameters", "error", "webhook", "push"],
  numbers: ["deliveries", "requeues"],
};
const SESSION_JSON = SESSION_FIELDS.json as readonly string[];
const JOB_JSON = JOB_FIELDS.json as readonly string[];
const FINISHED: readonly (JobRecord["status"] | undefined)[] = ["completed", "failed"];

/**
 * Only while the job's lease has expired (ARGV[2] = now, ms): a consumer that
 * renewed it, or another sweeper that got there first, wins. Returns -1 otherwise.
 */
const IF_LEASE_EXPIRED = `
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not deadline or tonumber(deadline) > tonumber(ARGV[2]) then return -1 end
`;
/** Re-queue: a new lease (ARGV[3]) and one more re-queue on the record; returns the count. */
const REQUEUE_IF_EXPIRED = `${IF_LEASE_EXPIRED}
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return redis.call('HINCRBY', KEYS[2], 'requeues', 1)
`;
/** Give up: the fields (ARGV[4…], pairs) are written and the lease dropped; returns 1. */
const FAIL_IF_EXPIRED = `${IF_LEASE_EXPIRED}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
`;

/** A page of an owner's session history: newest first, and the cursor of the next page (null: last). */
export interface SessionPage {
  sessions: SessionRecord[];
  next_cursor: string | null;
}

/**
 * Sessions sharing one creation millisecond are ordered by id; a page boundary
 * inside such a run skips the ids already returned, so at most this many may
 * share the boundary's millisecond (far more than a key can open in 1 ms).
 */
const SAME_MS_SLACK = 64;

export class Store {
  #redis: Redis;
  #ttlSeconds: number;
  #leaseMs: number;

  constructor(redis: Redis, options: StoreOptions) {
    this.#redis = redis;
    this.#ttlSeconds = options.recordTtlSeconds;
    this.#leaseMs = options.jobLeaseSeconds * 1000;
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const hash = hashFromReply(await this.#redis.hgetall(redisKeys.session(id)));
    return hash ? fromHash(hash, SESSION_FIELDS) : null;
  }

  /** Write some fields of a session record (idempotent: same fields, same values). */
  async putSession(id: string, fields: Partial<SessionRecord>): Promise<void> {
    const key = redisKeys.session(id);
    const tx = this.#redis.multi();
    tx.hset(key, toHash(fields, SESSION_JSON));
    tx.expire(key, this.#ttlSeconds);
    this.#indexSession(tx, id, fields);
    await tx.exec();
  }

  /**
   * The first write of a record (it carries `owner` and `created_at`) also
   * enters the session in its owner's history index. The index lives as long
   * as the records (its TTL is renewed on each entry, entries older than the
   * retention are trimmed), so it never lists a session that has expired.
   */
  #indexSession(tx: ReturnType<Redis["multi"]>, id: string, fields: Partial<SessionRecord>): void {
    if (!fields.owner || !fields.created_at) return;
    const index = redisKeys.ownerSessions(fields.owner);
    const now = Date.now();
    tx.zadd(index, { score: Date.parse(fields.created_at), member: id });
    tx.zremrangebyscore(index, "-inf", now - this.#ttlSeconds * 1000);
    tx.expire(index, this.#ttlSeconds);
  }

  /**
   * An owner's sessions, newest first. The cursor is opaque to clients: the
   * creation time and id of the last session returned.
   */
  async listSessions(owner: string, limit: number, cursor: string | null): Promise<SessionPage> {
    const index = redisKeys.ownerSessions(owner);
    const after = cursor ? decodeCursor(cursor) : null;
    const raw = (await this.#redis.zrange(index, after ? after.score : "+inf", "-inf", {
      byScore: true,
      rev: true,
      withScores: true,
      offset: 0,
      count: limit + 1 + (after ? SAME_MS_SLACK : 0),
    })) as (string | number)[];
    const entries: { id: string; score: number }[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const id = String(raw[i]);
      const score = Number(raw[i + 1]);
      // Same millisecond as the cursor: ids come in descending order; those not below it were returned.
      if (after && score === after.score && id >= after.id) continue;
      entries.push({ id, score });
    }
    const page = entries.slice(0, limit);
    const records = await Promise.all(page.map((e) => this.getSession(e.id)));
    const last = page[page.length - 1];
    return {
      // A record can expire a little before its index entry is trimmed: it is simply left out.
      sessions: records.filter((r): r is SessionRecord => r !== null),
      next_cursor: entries.length > limit && last ? encodeCursor(last) : null,
    };
  }

  /**
   * Write some fields of a session record and reserve its enhancement job:
   * the job's fields are only set where absent, so a job already created,
   * running or finished is never touched. The reserved job is `pending` until
   * the session ends and creates it for real (createJob).
   */
  async putSessionReservingJob(id: string, fields: Partial<SessionRecord>, job: JobRecord): Promise<void> {
    const key = redisKeys.session(id);
    const jobKey = redisKeys.job(job.id);
    const tx = this.#redis.multi();
    tx.hset(key, toHash(fields, SESSION_JSON));
    tx.expire(key, this.#ttlSeconds);
    this.#indexSession(tx, id, fields);
    for (const [field, value] of Object.entries(toHash(job, JOB_JSON))) tx.hsetnx(jobKey, field, value);
    tx.expire(jobKey, this.#ttlSeconds);
    await tx.exec();
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const hash = hashFromReply(await this.#redis.hgetall(redisKeys.job(id)));
    return hash ? fromHash(hash, JOB_FIELDS) : null;
  }

  /**
   * Create a job (and, for a session's job, the two-way link) exactly once.
   * Safe to repeat after a failure or a lost reply: the fixed fields are
   * rewritten with the same values and the moving ones (status, stage, …) are
   * only set if absent, so a job already being processed is not reset. Its
   * lease starts now, unless it has one (a repeat after the job finished adds
   * one back; the sweeper drops it on sight).
   */
  async createJob(job: JobRecord, sessionFields?: Partial<SessionRecord>): Promise<void> {
    const key = redisKeys.job(job.id);
    const { status, stage, error, started_at, completed_at, deliveries, requeues, result_key, ...fixed } = job;
    const moving = toHash({ status, stage, error, started_at, completed_at, deliveries, requeues, result_key }, JOB_JSON);
    const tx = this.#redis.multi();
    tx.hset(key, toHash(fixed, JOB_JSON));
    for (const [field, value] of Object.entries(moving)) tx.hsetnx(key, field, value);
    tx.expire(key, this.#ttlSeconds);
    tx.zadd(redisKeys.jobLeases, { nx: true }, { score: Date.now() + this.#leaseMs, member: job.id });
    if (job.source_session_id) {
      const sessionKey = redisKeys.session(job.source_session_id);
      tx.hset(sessionKey, toHash({ ...sessionFields, enhancement_job_id: job.id }, SESSION_JSON));
      tx.expire(sessionKey, this.#ttlSeconds);
    }
    await tx.exec();
  }

  /**
   * Write some fields of a job. Finishing it (completed/failed) drops its
   * lease; any other write is news from the consumer and renews the lease of
   * a job that still has one (never adds one back to a finished job).
   */
  async updateJob(id: string, fields: Partial<JobRecord>): Promise<void> {
    const key = redisKeys.job(id);
    const tx = this.#redis.multi();
    tx.hset(key, toHash(fields, JOB_JSON));
    tx.expire(key, this.#ttlSeconds);
    if (FINISHED.includes(fields.status)) tx.zrem(redisKeys.jobLeases, id);
    else tx.zadd(redisKeys.jobLeases, { xx: true }, { score: Date.now() + this.#leaseMs, member: id });
    await tx.exec();
  }

  /** Ids of jobs whose lease expired at or before `now` (ms), oldest first. */
  async expiredJobLeases(now: number, limit: number): Promise<string[]> {
    return this.#redis.zrange<string[]>(redisKeys.jobLeases, "-inf", now, { byScore: true, offset: 0, count: limit });
  }

  /** The job's lease deadline (ms), or null when it has none (finished, or never created). */
  async jobLease(id: string): Promise<number | null> {
    const score = await this.#redis.zscore(redisKeys.jobLeases, id);
    return score === null ? null : Number(score);
  }

  /** Drop the lease of a job that is finished or gone (its record expired). */
  async forgetJobLease(id: string): Promise<void> {
    await this.#redis.zrem(redisKeys.jobLeases, id);
  }

  /**
   * Give a job whose lease expired at `now` a new lease and count the
   * re-queue, atomically; the caller sends the message. Null when the lease
   * was renewed meanwhile (or another sweeper took it): nothing to do.
   */
  async requeueExpiredJob(id: string, now: number): Promise<number | null> {
    const result = Number(
      await this.#redis.eval(REQUEUE_IF_EXPIRED, [redisKeys.jobLeases, redisKeys.job(id)], [id, String(now), String(now + this.#leaseMs), String(this.#ttlSeconds)]),
    );
    return result < 0 ? null : result;
  }

  /** Mark a job whose lease expired at `now` failed with `error`, atomically; false when its lease was renewed meanwhile. */
  async failExpiredJob(id: string, now: number, error: JobError): Promise<boolean> {
    const fields = toHash({ status: "failed", completed_at: new Date().toISOString(), error } satisfies Partial<JobRecord>, JOB_JSON);
    const result = await this.#redis.eval(
      FAIL_IF_EXPIRED,
      [redisKeys.jobLeases, redisKeys.job(id)],
      [id, String(now), String(this.#ttlSeconds), ...Object.entries(fields).flat()],
    );
    return Number(result) === 1;
  }

  /**
   * Start a job's webhook delivery once: false when one was already started
   * (a redelivered consumer message must not start a second).
   */
  async startWebhook(id: string, state: WebhookState): Promise<boolean> {
    const set = await this.#redis.hsetnx(redisKeys.job(id), "webhook", JSON.stringify(state));
    return Number(set) === 1;
  }

  /** Count one delivery of a job's message; returns the new count. */
  async countDelivery(id: string): Promise<number> {
    return this.#redis.hincrby(redisKeys.job(id), "deliveries", 1);
  }
}

function encodeCursor(entry: { id: string; score: number }): string {
  return btoa(`${entry.score}:${entry.id}`).replace(/=+$/, "");
}

/** Thrown for a cursor this service did not make. */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}

function decodeCursor(cursor: string): { id: string; score: number } {
  let text: string;
  try {
    text = atob(cursor);
  } catch {
    throw new InvalidCursorError("cursor is not one this service returned");
  }
  const match = /^(\d{1,15}):(sess_[0-9a-f]{32})$/.exec(text);
  if (!match) throw new InvalidCursorError("cursor is not one this service returned");
  return { score: Number(match[1]), id: match[2]! };
}
