/** `GET /openapi.json`: the OpenAPI 3.1 document (src/gateway/openapi/index.ts says what is generated and what is declared). */
import { Hono } from "hono";
import type { GatewayEnv } from "../env";
import { openApiDocument } from "../openapi";

export const openapi = new Hono<GatewayEnv>().get("/", (c) => {
  c.header("Cache-Control", "public, max-age=300");
  c.header("Access-Control-Allow-Origin", "*");
  return c.json(openApiDocument());
});
