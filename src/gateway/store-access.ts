/** The gateway's way to the store: a 503 with a clear message when Redis is missing or down. */
import type { Redis } from "@upstash/redis";
import { readConfig, type AppEnv } from "../config";
import { errorMessage, log } from "../log";
import { AuthStore } from "../store/auth";
import { createRedis } from "../store/redis";
import { Store } from "../store/store";
import { ApiError } from "./errors";

/** A request waits this long for Redis, with one retry: long enough for a slow hop, short of a client's patience. */
const GATEWAY_REDIS = { timeoutMs: 5000, retries: 1 };

function open<T>(env: AppEnv, build: (redis: Redis) => T): T {
  try {
    return build(createRedis(env, GATEWAY_REDIS));
  } catch (err) {
    throw new ApiError("unavailable", errorMessage(err));
  }
}

/** Records of sessions and jobs; 503 when Redis is not configured. */
export const openStore = (env: AppEnv): Store => open(env, (redis) => new Store(redis, readConfig(env).store));

/** Keys, browser tokens, session slots and webhook settings; 503 when Redis is not configured. */
export const openAuthStore = (env: AppEnv): AuthStore => open(env, (redis) => new AuthStore(redis));

/** Run a store read; infrastructure failures become 503, not 500. */
export async function fromStore<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    log("warn", "gateway.store_unavailable", { message: errorMessage(err) });
    throw new ApiError("unavailable", "the record store is unavailable; try again shortly");
  }
}

/** Read a JSON document from R2, or null when it does not exist. */
export async function readJson<T>(bucket: R2Bucket, key: string): Promise<T | null> {
  const object = await bucket.get(key);
  return object ? ((await object.json()) as T) : null;
}
