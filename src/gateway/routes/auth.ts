/** `POST /v1/auth/tokens`: a short-lived, one-use token so browser pages never hold a key. */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { readConfig } from "../../config";
import type { GatewayEnv } from "../app";
import { authStoreFor, requireAuth } from "../auth";
import { ApiError } from "../errors";
import { fromStore } from "../store-access";

export const auth = new Hono<GatewayEnv>();

auth.post(
  "/tokens",
  (c, next) =>
    bodyLimit({
      maxSize: readConfig(c.env).limits.maxRequestBodyBytes,
      onError: () => {
        throw new ApiError("too_large", "request body too large (MAX_REQUEST_BODY_BYTES)");
      },
    })(c, next),
  requireAuth("realtime"),
  async (c) => {
  const config = readConfig(c.env);
  if (config.auth.mode === "off") return c.json({ token: null, expires_at: null, auth: "off" }, 200);
  const store = authStoreFor(c.env);
  const issued = await fromStore(() => store.issueToken(c.get("principal"), config.auth.tokenTtlSeconds));
  return c.json(issued, 201);
  },
);
