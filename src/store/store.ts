/**
 * Reads and writes of session and job records. The gateway, the session
 * object and the pipeline go through here; nothing else talks to Redis.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { redisKeys } from "./keys";
import { fromHash, hashFromReply, toHash, type FieldSpec } from "./hash";
import type { JobRecord, SessionRecord } from "./records";

const SESSION_FIELDS: FieldSpec<SessionRecord> = {
  json: ["params"],
  numbers: ["duration_seconds", "bytes_recorded", "bytes_dropped"],
};
const JOB_FIELDS: FieldSpec<JobRecord> = {
  json: ["parameters", "error"],
  numbers: ["deliveries"],
};
const SESSION_JSON = SESSION_FIELDS.json as readonly string[];
const JOB_JSON = JOB_FIELDS.json as readonly string[];

export class Store {
  #redis: Redis;
  #ttlSeconds: number;

  constructor(redis: Redis, ttlSeconds: number) {
    this.#redis = redis;
    this.#ttlSeconds = ttlSeconds;
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
    await tx.exec();
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
   * only set if absent, so a job already being processed is not reset.
   */
  async createJob(job: JobRecord, sessionFields?: Partial<SessionRecord>): Promise<void> {
    const key = redisKeys.job(job.id);
    const { status, stage, error, started_at, completed_at, deliveries, result_key, ...fixed } = job;
    const moving = toHash({ status, stage, error, started_at, completed_at, deliveries, result_key }, JOB_JSON);
    const tx = this.#redis.multi();
    tx.hset(key, toHash(fixed, JOB_JSON));
    for (const [field, value] of Object.entries(moving)) tx.hsetnx(key, field, value);
    tx.expire(key, this.#ttlSeconds);
    if (job.source_session_id) {
      const sessionKey = redisKeys.session(job.source_session_id);
      tx.hset(sessionKey, toHash({ ...sessionFields, enhancement_job_id: job.id }, SESSION_JSON));
      tx.expire(sessionKey, this.#ttlSeconds);
    }
    await tx.exec();
  }

  async updateJob(id: string, fields: Partial<JobRecord>): Promise<void> {
    const key = redisKeys.job(id);
    const tx = this.#redis.multi();
    tx.hset(key, toHash(fields, JOB_JSON));
    tx.expire(key, this.#ttlSeconds);
    await tx.exec();
  }

  /** Count one delivery of a job's message; returns the new count. */
  async countDelivery(id: string): Promise<number> {
    return this.#redis.hincrby(redisKeys.job(id), "deliveries", 1);
  }
}
