/** A request-size limit read from the configuration, answered with the 413 error JSON. */
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { readConfig, type ServiceConfig } from "../config";
import type { GatewayEnv } from "./env";
import { ApiError } from "./errors";

export const limitBody = (maxBytes: (config: ServiceConfig) => number, message: (max: number) => string) =>
  createMiddleware<GatewayEnv>((c, next) => {
    const max = maxBytes(readConfig(c.env));
    return bodyLimit({
      maxSize: max,
      onError: () => {
        throw new ApiError("too_large", message(max));
      },
    })(c, next);
  });
