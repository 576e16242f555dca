/**
 * The gateway (DESIGN §2): routes, validation, error JSON, and forwarding
 * WebSocket upgrades to session objects. It reads state only through the store.
 */
import { Hono } from "hono";
import type { AppEnv } from "../config";
import type { Principal } from "../store/auth";
import { errorMessage, log } from "../log";
import { ApiError, errorResponse } from "./errors";
import { auth } from "./routes/auth";
import { health } from "./routes/health";
import { jobs } from "./routes/jobs";
import { listen } from "./routes/listen";
import { openapi } from "./routes/openapi";
import { stream } from "./routes/stream";

export type GatewayEnv = { Bindings: AppEnv; Variables: { principal: Principal } };

export function createApp() {
  const app = new Hono<GatewayEnv>();
  app.route("/health", health);
  app.route("/openapi.json", openapi);
  app.route("/v1/auth", auth);
  app.route("/v1/audio/transcriptions/stream", stream);
  app.route("/v1/audio/transcriptions", jobs);
  app.route("/v1/listen", listen);

  app.notFound((c) => errorResponse(c, new ApiError("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`)));
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    log("error", "gateway.unhandled", { path: new URL(c.req.url).pathname, message: errorMessage(err) });
    return errorResponse(c, new ApiError("internal_error", "internal error"));
  });
  return app;
}
