/**
 * The gateway (DESIGN §2): routes, validation, error JSON, and forwarding
 * WebSocket upgrades to session objects. It reads state only through the store.
 */
import { Hono } from "hono";
import { ConfigError, logConfigError, readConfig } from "../config";
import { errorMessage, log } from "../log";
import type { GatewayEnv } from "./env";
import { ApiError, errorResponse } from "./errors";
import { auth } from "./routes/auth";
import { health } from "./routes/health";
import { jobs } from "./routes/jobs";
import { listen } from "./routes/listen";
import { openapi } from "./routes/openapi";
import { stream } from "./routes/stream";

export function createApp() {
  const app = new Hono<GatewayEnv>();
  // A misconfigured deployment serves nothing, /health included (load balancers see it), and says why.
  app.use("*", async (c, next) => {
    readConfig(c.env);
    await next();
  });
  app.route("/health", health);
  app.route("/openapi.json", openapi);
  app.route("/v1/auth", auth);
  app.route("/v1/audio/transcriptions/stream", stream);
  app.route("/v1/audio/transcriptions", jobs);
  app.route("/v1/listen", listen);

  app.notFound((c) => errorResponse(c, new ApiError("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`)));
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (err instanceof ConfigError) {
      logConfigError(err, `${c.req.method} ${new URL(c.req.url).pathname}`);
      // The message names variables and allowed ranges, never values (a URL may carry credentials).
      return errorResponse(c, new ApiError("unavailable", `the service refuses requests until its configuration is fixed: ${err.descriptions.join("; ")}`));
    }
    log("error", "gateway.unhandled", { path: new URL(c.req.url).pathname, message: errorMessage(err) });
    return errorResponse(c, new ApiError("internal_error", "internal error"));
  });
  return app;
}
