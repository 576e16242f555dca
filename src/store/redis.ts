import { Redis } from "@upstash/redis/cloudflare";
import type { AppEnv } from "../config";

/** Raised when Redis is not configured or cannot be reached. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

export interface RedisOptions {
  /**
   * Abort each request after this long, so a dead Redis cannot stall a session end.
   * @default 3000
   */
  timeoutMs?: number;
  /**
   * Network retries inside the client. The session object retries on its own
   * schedule (alarms), so it asks for none.
   * @default 2
   */
  retries?: number;
}

export function createRedis(env: AppEnv, options: RedisOptions = {}): Redis {
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env;
  if (!url || !token) {
    throw new StoreUnavailableError(
      "Redis is not configured: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN",
    );
  }
  const timeoutMs = options.timeoutMs ?? 3000;
  return new Redis({
    url,
    token,
    enableTelemetry: false,
    // Strings we store (JSON, ids) must come back as stored, not parsed.
    automaticDeserialization: false,
    retry: { retries: options.retries ?? 2, backoff: (n) => 100 * 2 ** n },
    signal: () => AbortSignal.timeout(timeoutMs),
  });
}
