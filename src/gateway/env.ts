/**
 * The gateway's Hono environment: the worker's bindings, and the caller once
 * `requireAuth` has run. Its own module so routes and middleware need not
 * import app.ts, which imports them.
 */
import type { AppEnv } from "../config";
import type { Principal } from "../store/auth";

export type GatewayEnv = { Bindings: AppEnv; Variables: { principal: Principal } };
