/**
 * The error JSON of DESIGN §6: `{"error":{"code","message","param?"}}`.
 * Handlers throw ApiError; app.onError turns anything else into a 500 without
 * leaking stack traces or secrets.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";

export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  too_large: 413,
  unsupported_media_type: 415,
  upgrade_required: 426,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ApiErrorCode = keyof typeof ERROR_STATUS;

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; param?: string };
}

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }

  toJSON(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.param ? { param: this.param } : {}) } };
  }
}

export function errorResponse(c: Context, err: ApiError): Response {
  return c.json(err.toJSON(), err.status);
}

/** The first zod issue as an invalid_request naming the parameter. */
export function fromZodError(error: ZodError): ApiError {
  const issue = error.issues[0];
  const param = issue?.path.map(String).join(".") || undefined;
  const message = issue ? (param ? `${param}: ${issue.message}` : issue.message) : "invalid request";
  return new ApiError("invalid_request", message, param);
}

export const notFound = (what: string) => new ApiError("not_found", `${what} not found`);
