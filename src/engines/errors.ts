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

/**
 * Where a Workers AI error's classification came from: its code is in the
 * documented table, it is not (classified by its message), or it is JSON
 * mode's documented "couldn't be met". Absent for other engines.
 */
export type EngineErrorKind = "documented" | "undocumented" | "json_mode_unmet";

export class EngineError extends Error {
  override readonly name = "EngineError";
  /** Engine name, e.g. "elevenlabs". */
  readonly engine: string;
  /** HTTP status (Workers AI: its documented HTTP code) when known. */
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly kind: EngineErrorKind | undefined;
  /** Workers AI internal code, when the message carried one. */
  readonly code: number | undefined;

  constructor(
    engine: string,
    message: string,
    options: { status?: number; retryable: boolean; kind?: EngineErrorKind; code?: number; cause?: unknown },
  ) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.engine = engine;
    this.status = options.status;
    this.retryable = options.retryable;
    this.kind = options.kind;
    this.code = options.code;
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
 * The Workers AI errors table (https://developers.cloudflare.com/workers-ai/platform/errors/):
 * internal code → its documented HTTP code. Retrying follows that HTTP code
 * as for any engine ({@link isRetryableStatus}): 400/405/413 are refused
 * inputs; 403/404 are account or model configuration an operator can fix;
 * 408 and 429 (timeouts, capacity, the daily free allocation) pass with time.
 */
const WORKERS_AI_DOCUMENTED = new Map<number, number>([
  [5007, 400], // No such model
  [5004, 400], // Invalid data
  [3039, 400], // Finetune missing required files
  [3003, 400], // Incomplete request
  [5018, 403], // Account not allowed for private model
  [5016, 403], // Model agreement
  [3023, 403], // Account blocked
  [3041, 403], // Account not allowed for private model
  [5019, 405], // Deprecated SDK version
  [5005, 405], // LoRa unsupported
  [3042, 404], // Invalid model ID
  [3006, 413], // Request too large
  [3007, 408], // Timeout
  [3008, 408], // Aborted
  [3036, 429], // Account limited
  [3040, 429], // Out of capacity
]);

/**
 * Codes outside the table (3010, 5006, …) are seen in practice with input
 * validation messages ("Invalid or incomplete input", "Bad input"): those
 * messages are refusals; any other undocumented error is retried.
 */
const INPUT_REFUSED = /\b(invalid|bad|incomplete|malformed)\b[^.]*\binput\b|\binput\b[^.]*\b(invalid|not met)\b/i;

/**
 * JSON mode's documented failure (https://developers.cloudflare.com/workers-ai/features/json-mode/):
 * "an error `JSON Mode couldn't be met` is returned and must be handled". At
 * temperature 0 the same request fails the same way, so it is never retried.
 */
const JSON_MODE_UNMET = /JSON Mode couldn.?t be met/i;

/** The binding's Error message starts with the internal code (workerd ai-api.ts: `${internalCode}: ${description}`). */
function workersAiCode(message: string): number | null {
  const code = Number(/^\s*(\d{4})\b/.exec(message)?.[1] ?? /\b([35]\d{3})\b/.exec(message)?.[1] ?? NaN);
  return Number.isInteger(code) ? code : null;
}

/** Classifies an error thrown by `env.AI.run` from its code and message (see the tables above). */
export function engineErrorFromWorkersAi(engine: string, err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = workersAiCode(message);
  const documented = code === null ? undefined : WORKERS_AI_DOCUMENTED.get(code);
  const kind: EngineErrorKind = JSON_MODE_UNMET.test(message) ? "json_mode_unmet" : documented !== undefined ? "documented" : "undocumented";
  const status = kind === "json_mode_unmet" ? 400 : (documented ?? (INPUT_REFUSED.test(message) ? 400 : undefined));
  return new EngineError(engine, `${engine}: ${message.slice(0, MAX_BODY_CHARS)}`, {
    ...(status !== undefined ? { status } : {}),
    retryable: status === undefined || isRetryableStatus(status),
    kind,
    ...(code !== null ? { code } : {}),
    cause: err,
  });
}
