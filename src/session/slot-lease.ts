/**
 * A session's concurrency slot (MAX_CONCURRENT_SESSIONS_PER_KEY): the gateway
 * takes it with a lease; the live session renews it now and then, so a slot
 * of a session whose object died lapses by itself. Released by the store
 * outbox once the session ended.
 */
import type { AppEnv } from "../config";
import { errorMessage, log } from "../log";
import { AuthStore } from "../store/auth";
import { createRedis } from "../store/redis";
import { STORE_TIMEOUT_MS } from "./store-sync";

export class SlotLease {
  readonly #env: AppEnv;
  readonly #leaseSeconds: number;
  #renewedAt = Date.now();

  constructor(env: AppEnv, leaseSeconds: number) {
    this.#env = env;
    this.#leaseSeconds = leaseSeconds;
  }

  /** Renew when a quarter of the lease has passed since the last renewal (fire and forget). */
  renewSoon(owner: string, sessionId: string, now: number): void {
    if (now - this.#renewedAt < (this.#leaseSeconds * 1000) / 4) return;
    this.#renewedAt = now;
    void new AuthStore(createRedis(this.#env, { timeoutMs: STORE_TIMEOUT_MS, retries: 0 }))
      .renewSlot(owner, sessionId, this.#leaseSeconds)
      .catch((err) => log("warn", "slot.renew_failed", { session_id: sessionId, message: errorMessage(err) }));
  }
}
