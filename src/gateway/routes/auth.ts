/** `POST /v1/auth/tokens`: a short-lived, one-use token so browser pages never hold a key. */
import { Hono } from "hono";
import { readConfig } from "../../config";
import type { GatewayEnv } from "../env";
import { requireAuth } from "../auth";
import { limitBody } from "../body-limit";
import type { AuthTokenBody } from "../schemas";
import { fromStore, openAuthStore } from "../store-access";

export const auth = new Hono<GatewayEnv>();

auth.post(
  "/tokens",
  limitBody((config) => config.limits.maxRequestBodyBytes, () => "request body too large (MAX_REQUEST_BODY_BYTES)"),
  requireAuth("realtime"),
  async (c) => {
    const config = readConfig(c.env);
    if (config.auth.mode === "off") return c.json({ token: null, expires_at: null, auth: "off" } satisfies AuthTokenBody, 200);
    const store = openAuthStore(c.env);
    const issued = await fromStore(() => store.issueToken(c.get("principal"), config.auth.tokenTtlSeconds));
    return c.json(issued satisfies AuthTokenBody, 201);
  },
);
