/** Validation middleware that answers with the error JSON of DESIGN §6. */
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { ZodError, ZodType } from "zod";
import { errorResponse, fromZodError } from "./errors";

export const validate = <T extends ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) =>
  zValidator(target, schema, (result, c) => {
    if (!result.success) return errorResponse(c, fromZodError(result.error as unknown as ZodError));
  });
