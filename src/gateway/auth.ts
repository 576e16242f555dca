/**
 * Authentication (DESIGN §4.4, issue "auth"): API keys as `Authorization:
 * Bearer`, and for WebSockets opened by browsers also `?api_key=` or a one-use
 * `?token=` from POST /v1/auth/tokens. Sets `principal` for the handlers.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { readConfig } from "../config";
import { AuthStore, hasScope, type Principal, type Scope } from "../store/auth";
import { createRedis } from "../store/redis";
import type { GatewayEnv } from "./app";
import { ApiError } from "./errors";
import { fromStore } from "./store-access";

/** Who owns what when authentication is off (local dev): everything, one owner. */
export const ANONYMOUS: Principal = { keyId: "anonymous", scopes: ["realtime", "jobs:read", "jobs:write"] };

export function authStoreFor(env: GatewayEnv["Bindings"]): AuthStore {
  try {
    return new AuthStore(createRedis(env, { timeoutMs: 5000, retries: 1 }));
  } catch (err) {
    throw new ApiError("unavailable", err instanceof Error ? err.message : String(err));
  }
}

export interface AuthOptions {
  /** Accept `api_key` / `token` query parameters (WebSocket upgrades from browsers). @default false */
  query?: boolean;
  /** Where else this route's clients put a credential (Deepgram's `Token` scheme and subprotocol); tried first. */
  credential?: (c: Context<GatewayEnv>) => string | undefined;
}

export const requireAuth = (scope: Scope, options: AuthOptions = {}) =>
  createMiddleware<GatewayEnv>(async (c, next) => {
    if (readConfig(c.env).auth.mode === "off") {
      c.set("principal", ANONYMOUS);
      return next();
    }
    const header = c.req.header("authorization");
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const queryKey = options.query ? c.req.query("api_key") : undefined;
    const queryToken = options.query ? c.req.query("token") : undefined;
    const credential = options.credential?.(c) ?? bearer ?? queryKey ?? queryToken;
    if (!credential) {
      c.header("WWW-Authenticate", 'Bearer realm="edge-transcribe"');
      throw new ApiError("unauthorized", "missing credentials: send Authorization: Bearer <api key>");
    }
    const store = authStoreFor(c.env);
    const principal = await fromStore(() =>
      credential.startsWith("ett_") ? store.redeemToken(credential) : store.verifyKey(credential),
    );
    if (!principal) {
      c.header("WWW-Authenticate", 'Bearer realm="edge-transcribe", error="invalid_token"');
      throw new ApiError("unauthorized", "invalid, revoked or already used credentials");
    }
    if (!hasScope(principal, scope)) throw new ApiError("forbidden", `this key lacks the '${scope}' scope`);
    c.set("principal", principal);
    return next();
  });
