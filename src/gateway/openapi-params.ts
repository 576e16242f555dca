/** Query parameters of the OpenAPI document, generated from the validators the routes use. */
import { z } from "zod";

export type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[] };

/** A generated schema without the keys OpenAPI does not want inline. */
export function stripMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/**
 * A route's query parameters as OpenAPI parameter objects: names, types and
 * rules from `z.toJSONSchema(schema)`, defaults from parsing an empty query
 * with the same schema, descriptions declared by the caller.
 */
export function queryParameters(schema: z.ZodType, describe: (name: string) => string): Record<string, unknown>[] {
  const input = stripMeta(z.toJSONSchema(schema, { io: "input" }) as JsonSchema);
  const defaults = schema.parse({}) as Record<string, unknown>;
  return Object.entries(input.properties ?? {}).map(([name, property]) => {
    const fallback = defaults[name];
    return {
      name,
      in: "query",
      required: input.required?.includes(name) ?? false,
      description: describe(name),
      schema: fallback === undefined ? property : { ...property, default: String(fallback) },
    };
  });
}
