/**
 * API keys, one-use browser tokens and per-key session slots, in Redis.
 * Secrets are stored only as SHA-256 hashes; a key's id (`key_…`) is what
 * records and logs name.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { hashFromReply } from "./hash";
import { randomHex, toHex } from "./ids";
import { redisKeys } from "./keys";

export const SCOPES = ["realtime", "jobs:read", "jobs:write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  created_at: string;
}

/** Where a key's webhooks go by default, and the secret that signs them (Standard Webhooks `whsec_…`). */
export interface WebhookSettings {
  url: string | null;
  secret: string | null;
}

/** A new Standard Webhooks signing secret: `whsec_` and 24 random bytes, base64. */
export function newWebhookSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
}

export interface Principal {
  keyId: string;
  scopes: readonly Scope[];
}

export const isAdmin = (p: Principal) => p.scopes.includes("admin");
export const hasScope = (p: Principal, scope: Scope) => isAdmin(p) || p.scopes.includes(scope);
/** Records are visible to the key that created them and to admin keys. */
export const canSee = (p: Principal, owner: string | null | undefined) => isAdmin(p) || owner === p.keyId;

/** One-use browser tokens look like this; API keys are `etk_…`. */
const BROWSER_TOKEN = /^ett_[0-9a-f]{40}$/;
export const isBrowserToken = (credential: string) => credential.startsWith("ett_");

/** A token taken out of the store, with what it takes to put it back. */
export interface RedeemedToken {
  principal: Principal;
  /** When the token would have expired (ms). */
  expiresAt: number;
}

export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/**
 * Take a slot if the key has fewer than `limit` live sessions, atomically:
 * expired leases (sessions that crashed without releasing) are dropped first.
 */
const ACQUIRE_SLOT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
  return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

export class AuthStore {
  #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /**
   * Create a key; the secret is returned once and never stored. The key's
   * webhook signing secret is returned once too, but has to be stored as it
   * is: an HMAC is signed with the secret itself, not a hash of it.
   */
  async createKey(
    name: string,
    scopes: Scope[],
    webhookUrl: string | null = null,
  ): Promise<{ secret: string; webhookSecret: string; record: ApiKeyRecord }> {
    const secret = `etk_${randomHex(20)}`;
    const webhookSecret = newWebhookSecret();
    const hash = await sha256Hex(secret);
    const record: ApiKeyRecord = { id: `key_${randomHex(8)}`, name, scopes, created_at: new Date().toISOString() };
    const tx = this.#redis.multi();
    tx.hset(redisKeys.apiKey(hash), {
      ...record,
      scopes: JSON.stringify(scopes),
      webhook_secret: webhookSecret,
      webhook_url: webhookUrl ?? "",
    });
    tx.hset(redisKeys.apiKeyIndex, { [record.id]: hash });
    await tx.exec();
    return { secret, webhookSecret, record };
  }

  /** A key's webhook default and signing secret; null when there is no such key. */
  async webhookSettings(id: string): Promise<WebhookSettings | null> {
    const hash = (await this.#redis.hget(redisKeys.apiKeyIndex, id)) as string | null;
    if (!hash) return null;
    const raw = hashFromReply(await this.#redis.hgetall(redisKeys.apiKey(hash)));
    if (!raw?.id) return null;
    return { url: raw.webhook_url || null, secret: raw.webhook_secret || null };
  }

  /**
   * Replace a key's signing secret (returned once); events signed from now on
   * use the new one. Null when there is no such key.
   */
  async rotateWebhookSecret(id: string): Promise<string | null> {
    const hash = (await this.#redis.hget(redisKeys.apiKeyIndex, id)) as string | null;
    if (!hash) return null;
    const webhookSecret = newWebhookSecret();
    await this.#redis.hset(redisKeys.apiKey(hash), { webhook_secret: webhookSecret });
    return webhookSecret;
  }

  /** Set (or with null clear) a key's default webhook URL; false when there is no such key. */
  async setWebhookUrl(id: string, url: string | null): Promise<boolean> {
    const hash = (await this.#redis.hget(redisKeys.apiKeyIndex, id)) as string | null;
    if (!hash) return false;
    await this.#redis.hset(redisKeys.apiKey(hash), { webhook_url: url ?? "" });
    return true;
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    const index = hashFromReply(await this.#redis.hgetall(redisKeys.apiKeyIndex)) ?? {};
    const out: ApiKeyRecord[] = [];
    for (const hash of Object.values(index)) {
      const record = await this.#byHash(hash);
      if (record) out.push(record);
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Revoke by id; false when there is no such key. */
  async revokeKey(id: string): Promise<boolean> {
    const hash = (await this.#redis.hget(redisKeys.apiKeyIndex, id)) as string | null;
    if (!hash) return false;
    const tx = this.#redis.multi();
    tx.del(redisKeys.apiKey(hash));
    tx.hdel(redisKeys.apiKeyIndex, id);
    await tx.exec();
    return true;
  }

  async verifyKey(secret: string): Promise<Principal | null> {
    if (!/^etk_[0-9a-f]{40}$/.test(secret)) return null;
    const record = await this.#byHash(await sha256Hex(secret));
    return record ? { keyId: record.id, scopes: record.scopes } : null;
  }

  /** A short-lived token that opens one session, for pages that must not hold a key. */
  async issueToken(principal: Principal, ttlSeconds: number): Promise<{ token: string; expires_at: string }> {
    const token = `ett_${randomHex(20)}`;
    await this.#redis.set(redisKeys.authToken(await sha256Hex(token)), JSON.stringify(principal), { ex: ttlSeconds });
    return { token, expires_at: new Date(Date.now() + ttlSeconds * 1000).toISOString() };
  }

  /** Who a token speaks for, without using it up: requests are checked in full before it is spent. */
  async peekToken(token: string): Promise<Principal | null> {
    if (!BROWSER_TOKEN.test(token)) return null;
    const raw = (await this.#redis.get(redisKeys.authToken(await sha256Hex(token)))) as string | null;
    return raw ? (JSON.parse(raw) as Principal) : null;
  }

  /** Use a token: GETDEL makes it good for exactly one session. Null when it is gone (used, expired, unknown). */
  async redeemToken(token: string): Promise<RedeemedToken | null> {
    if (!BROWSER_TOKEN.test(token)) return null;
    const tx = this.#redis.multi();
    const key = redisKeys.authToken(await sha256Hex(token));
    tx.pttl(key);
    tx.getdel(key);
    const [ttlMs, raw] = (await tx.exec()) as [number, string | null];
    return raw ? { principal: JSON.parse(raw) as Principal, expiresAt: Date.now() + Math.max(0, ttlMs) } : null;
  }

  /** Put back a token whose session could not be opened after all, with its original expiry (unless something took its place). */
  async restoreToken(token: string, redeemed: RedeemedToken): Promise<void> {
    if (redeemed.expiresAt <= Date.now()) return;
    await this.#redis.set(redisKeys.authToken(await sha256Hex(token)), JSON.stringify(redeemed.principal), { pxat: redeemed.expiresAt, nx: true });
  }

  async acquireSlot(keyId: string, sessionId: string, limit: number, leaseSeconds: number): Promise<boolean> {
    const now = Date.now();
    const result = await this.#redis.eval(
      ACQUIRE_SLOT,
      [redisKeys.activeSessions(keyId)],
      [String(now), String(limit), sessionId, String(now + leaseSeconds * 1000), String(leaseSeconds * 2000)],
    );
    return Number(result) === 1;
  }

  /** Extend a live session's lease (it lapses by itself if the session object dies). */
  async renewSlot(keyId: string, sessionId: string, leaseSeconds: number): Promise<void> {
    await this.#redis.zadd(redisKeys.activeSessions(keyId), { xx: true }, { score: Date.now() + leaseSeconds * 1000, member: sessionId });
  }

  async releaseSlot(keyId: string, sessionId: string): Promise<void> {
    await this.#redis.zrem(redisKeys.activeSessions(keyId), sessionId);
  }

  async #byHash(hash: string): Promise<ApiKeyRecord | null> {
    const raw = hashFromReply(await this.#redis.hgetall(redisKeys.apiKey(hash))) ?? {};
    if (!raw.id) return null;
    return { id: raw.id, name: raw.name ?? "", scopes: JSON.parse(raw.scopes ?? "[]") as Scope[], created_at: raw.created_at ?? "" };
  }
}
