/**
 * Authentication (DESIGN §4.4, issue "auth"): API keys as `Authorization:
 * Bearer`, and for WebSocket upgrades also `?api_key=` or a one-use browser
 * token (`?token=` or Bearer) from POST /v1/auth/tokens.
 *
 * A browser token opens one WebSocket session and nothing else: REST routes
 * refuse it (401) without touching it, and the upgrade route spends it only
 * after every check that can refuse the request has passed (issue 12,
 * finding 5), putting it back if the session still cannot be opened.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { readConfig } from "../config";
import { hasScope, isBrowserToken, type Principal, type Scope } from "../store/auth";
import type { GatewayEnv } from "./env";
import { ApiError } from "./errors";
import { fromStore, openAuthStore } from "./store-access";

/** Who owns what when authentication is off (local dev): everything, one owner. */
export const ANONYMOUS: Principal = { keyId: "anonymous", scopes: ["realtime", "jobs:read", "jobs:write"] };

function unauthorized(c: Context<GatewayEnv>, message: string, invalidToken: boolean): ApiError {
  c.header("WWW-Authenticate", `Bearer realm="edge-transcribe"${invalidToken ? ', error="invalid_token"' : ""}`);
  return new ApiError("unauthorized", message);
}

const bearerOf = (c: Context<GatewayEnv>) => c.req.header("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];

function checkScope(principal: Principal | null, scope: Scope, c: Context<GatewayEnv>): Principal {
  if (!principal) throw unauthorized(c, "invalid, revoked or already used credentials", true);
  if (!hasScope(principal, scope)) throw new ApiError("forbidden", `this key lacks the '${scope}' scope`);
  return principal;
}

/** REST routes: an API key as `Authorization: Bearer`. Sets `principal`. */
/** Where else a route's clients put a credential (Deepgram's `Token` scheme and subprotocol); tried first. */
export type CredentialOf = (c: Context<GatewayEnv>) => string | undefined;

export const requireAuth = (scope: Scope, credentialOf?: CredentialOf) =>
  createMiddleware<GatewayEnv>(async (c, next) => {
    if (readConfig(c.env).auth.mode === "off") {
      c.set("principal", ANONYMOUS);
      return next();
    }
    const key = credentialOf?.(c) ?? bearerOf(c);
    if (!key) throw unauthorized(c, "missing credentials: send Authorization: Bearer <api key>", false);
    if (isBrowserToken(key)) {
      throw unauthorized(c, "a browser token (ett_…) only opens a WebSocket session; send an API key", true);
    }
    const store = openAuthStore(c.env);
    c.set("principal", checkScope(await fromStore(() => store.verifyKey(key)), scope, c));
    return next();
  });

/** The caller of a WebSocket upgrade, and the browser token to spend once the request is accepted. */
export interface UpgradeCaller {
  principal: Principal;
  /** A one-use token, checked but not yet spent (see {@link spendBrowserToken}). */
  browserToken: string | null;
}

/**
 * Credentials of a WebSocket upgrade (header, `?api_key=` or `?token=`).
 * Call after the request is otherwise valid; a browser token is only looked
 * at here, not used up.
 */
export async function authenticateUpgrade(c: Context<GatewayEnv>, scope: Scope, credentialOf?: CredentialOf): Promise<UpgradeCaller> {
  if (readConfig(c.env).auth.mode === "off") return { principal: ANONYMOUS, browserToken: null };
  const credential = credentialOf?.(c) ?? bearerOf(c) ?? c.req.query("api_key") ?? c.req.query("token");
  if (!credential) throw unauthorized(c, "missing credentials: send Authorization: Bearer <api key>", false);
  const store = openAuthStore(c.env);
  if (isBrowserToken(credential)) {
    return { principal: checkScope(await fromStore(() => store.peekToken(credential)), scope, c), browserToken: credential };
  }
  return { principal: checkScope(await fromStore(() => store.verifyKey(credential)), scope, c), browserToken: null };
}

/**
 * Use up the caller's browser token (a 401 when a concurrent request got it
 * first). Returns how to put it back if the session cannot be opened after all.
 */
export async function spendBrowserToken(c: Context<GatewayEnv>, token: string): Promise<() => Promise<void>> {
  const store = openAuthStore(c.env);
  const redeemed = await fromStore(() => store.redeemToken(token));
  if (!redeemed) throw unauthorized(c, "invalid, revoked or already used credentials", true);
  return () => store.restoreToken(token, redeemed);
}
