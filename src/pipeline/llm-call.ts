/**
 * How the optional LLM stages call the LLM and degrade instead of failing:
 *  - the answer is not JSON, or the engine refused the request (4xx) →
 *    that call's output is unusable; the stage uses its fallback;
 *  - a transient engine failure (5xx, 429, timeout, network) → rethrown, so
 *    the job is retried and resumes at this stage — until delivery
 *    `giveUpAfterAttempts`, from which on it is treated like the above, so an
 *    LLM outage costs the enhancement, not the transcript.
 */
import { EngineError } from "../engines/errors";
import { LlmOutputError, type LlmClient } from "../engines/llm/types";
import { errorMessage } from "../log";

export interface LlmStageContext {
  llm: LlmClient;
  /** Delivery number of the job's message (1 for the first). */
  attempt: number;
  giveUpAfterAttempts: number;
}

export type LlmCallResult = { ok: true; value: unknown } | { ok: false; reason: string };

export async function callLlm(
  ctx: LlmStageContext,
  task: object,
  system: string,
  schema?: Record<string, unknown>,
): Promise<LlmCallResult> {
  try {
    return { ok: true, value: await ctx.llm.completeJson(task, system, schema ? { schema } : undefined) };
  } catch (err) {
    if (err instanceof LlmOutputError) return { ok: false, reason: err.message };
    if (err instanceof EngineError && !err.retryable) return { ok: false, reason: err.message };
    if (ctx.attempt >= ctx.giveUpAfterAttempts) {
      return { ok: false, reason: `gave up on delivery ${ctx.attempt}: ${errorMessage(err)}` };
    }
    throw err;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Items of `answer[field]` that are objects, keyed by their `id` (numbers and numeric strings alike). */
export function answersById(answer: unknown, field: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const list = isRecord(answer) ? answer[field] : undefined;
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (!isRecord(item)) continue;
    const id = item.id;
    if (typeof id === "number" || (typeof id === "string" && id.trim() !== "")) {
      const key = String(id).trim();
      if (!out.has(key)) out.set(key, item);
    }
  }
  return out;
}

/** Splits a list into batches of at most `size`. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
