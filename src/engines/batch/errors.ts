/**
 * Errors of batch and LLM engines, classified once, where the engine's answer
 * is seen: `retryable` says whether the same request may succeed later.
 *
 * - Not retryable: the engine rejected this input (HTTP 4xx other than the
 *   ones below; Workers AI "invalid input" / "request too large" codes).
 * - Retryable: 5xx, 429, 408, network failures and timeouts, and 401/403/404
 *   (credentials or URL misconfigured: an operator can fix it while the queue
 *   keeps retrying; after the last retry the job is failed with this message).
 */

export class EngineError extends Error {
  override readonly name = "EngineError";
  /** Engine name, e.g. "elevenlabs". */
  readonly engine: string;
  /** HTTP status (Workers AI: its documented HTTP code) when known. */
  readonly status: number | undefined;
  readonly retryable: boolean;

  constructor(engine: string, message: string, options: { status?: number; retryable: boolean; cause?: unknown }) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.engine = engine;
    this.status = options.status;
    this.retryable = options.retryable;
  }
}

/** Whether an HTTP status from an engine is worth retrying (see the module comment). */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429 || status === 401 || status === 403 || status === 404;
}

/** Longest part of an engine's error body kept in a message (bodies can be large; never audio). */
const MAX_BODY_CHARS = 300;

/** An EngineError for a non-2xx HTTP answer, quoting the start of its body. */
export async function engineErrorFromResponse(engine: string, res: Response): Promise<EngineError> {
  let body = "";
  try {
    body = (await res.text()).replace(/\s+/g, " ").trim().slice(0, MAX_BODY_CHARS);
  } catch {
    body = "";
  }
  return new EngineError(engine, `${engine} answered HTTP ${res.status}${body ? `: ${body}` : ""}`, {
    status: res.status,
    retryable: isRetryableStatus(res.status),
  });
}

/** An EngineError for a fetch that never got an answer (network failure, timeout, abort): retryable. */
export function engineErrorFromThrown(engine: string, err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
  const message = err instanceof Error ? err.message : String(err);
  return new EngineError(engine, `${engine} ${timeout ? "timed out" : "request failed"}: ${message}`, {
    retryable: true,
    cause: err,
  });
}

/**
 * Workers AI error codes that mean "this input is refused" (from the Workers AI
 * errors table, https://developers.cloudflare.com/workers-ai/platform/errors/):
 * 5004 invalid data, 3003 incomplete request, 3006 request too large, plus
 * 3010 "invalid or incomplete input for the model". Everything else (timeouts
 * 3007/3008, capacity 3040, limits 3036, model/account errors) is retried.
 */
const WORKERS_AI_REJECTED = new Map<number, number>([
  [5004, 400],
  [3003, 400],
  [3006, 413],
  [3010, 400],
]);

/** Classifies an error thrown by `env.AI.run` from the internal code in its message. */
export function engineErrorFromWorkersAi(engine: string, err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = Number(/\b([35]\d{3})\b/.exec(message)?.[1] ?? NaN);
  const status = WORKERS_AI_REJECTED.get(code);
  return new EngineError(engine, `${engine}: ${message.slice(0, MAX_BODY_CHARS)}`, {
    ...(status !== undefined ? { status } : {}),
    retryable: status === undefined,
    cause: err,
  });
}
