/** The gateway's way to the store: a 503 with a clear message when Redis is missing or down. */
import type { Context } from "hono";
import { readConfig } from "../config";
import { errorMessage, log } from "../log";
import { createRedis } from "../store/redis";
import { Store } from "../store/store";
import type { GatewayEnv } from "./env";
import { ApiError } from "./errors";

export function storeFor(c: Context<GatewayEnv>): Store {
  try {
    return new Store(createRedis(c.env, { timeoutMs: 5000, retries: 1 }), readConfig(c.env).store);
  } catch (err) {
    throw new ApiError("unavailable", errorMessage(err));
  }
}

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
