/**
 * The cleanup stage: the LLM removes fillers, false starts and obvious
 * recognition slips and fixes punctuation and casing — without changing what
 * was said. Segments go in batches of {@link CLEANUP_BATCH_SEGMENTS}.
 *
 * A cleaned text is accepted only if it is a non-empty string and its drift
 * from the raw text is at most {@link CLEANUP_MAX_DRIFT}: the word-level edit
 * distance between the lowercase alphanumeric tokens of both, with filler
 * tokens ({@link FILLER_TOKENS}) left out of both, divided by the raw token
 * count (fillers excluded, at least 1). Removing fillers, punctuation and
 * case changes are therefore free; changing, adding or dropping real words
 * is not. Otherwise the raw text stays. Timings, words and speakers never
 * change; `raw_text` is set only when `text` changed.
 */
import type { CleanupOutput, ResultSegment } from "./result";
import { answersById, batches, callLlm, type LlmStageContext } from "./llm-call";

export const CLEANUP_BATCH_SEGMENTS = 50;
/** Largest accepted drift (edits per raw word): "we could meet on monday" → "We could meet Tuesday instead." is 2/5, the most accepted. */
export const CLEANUP_MAX_DRIFT = 0.4;
/** Hesitation tokens whose removal costs nothing (lowercase, as {@link tokens} yields them). */
export const FILLER_TOKENS: ReadonlySet<string> = new Set(["um", "umm", "uh", "uhh", "er", "erm", "ah", "eh", "hmm", "hm", "mm", "mhm"]);

export const CLEANUP_SYSTEM_PROMPT = [
  "You clean up segments of a speech transcript for reading.",
  'The user message is JSON: {"task":"cleanup","segments":[{"id","text"}]}.',
  "For each segment remove filler words (um, uh, er, hmm), stutters and false starts, and fix punctuation and capitalization.",
  "Do not summarize, paraphrase, translate, reorder, add content or merge segments; keep every meaningful word.",
  'Answer with JSON only: {"segments":[{"id":<same id>,"text":"cleaned text"}]}, one entry per input segment.',
].join(" ");

export const CLEANUP_SCHEMA: Record<string, unknown> = {
  type: "object",
  properties: {
    segments: {
      type: "array",
      items: { type: "object", properties: { id: { type: "integer" }, text: { type: "string" } }, required: ["id", "text"] },
    },
  },
  required: ["segments"],
};

/** Lowercase letter/digit runs: what drift is measured on (punctuation and case changes are free). */
export function tokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Levenshtein distance over tokens (insert, delete, substitute: 1 each). */
export function tokenEditDistance(a: readonly string[], b: readonly string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

const content = (text: string) => tokens(text).filter((t) => !FILLER_TOKENS.has(t));

/** Edits per raw word, fillers left out (a raw text without other words counts as one). */
export function cleanupDrift(raw: string, cleaned: string): number {
  const r = content(raw);
  return tokenEditDistance(r, content(cleaned)) / Math.max(1, r.length);
}

/** The cleaned text to use, or null to keep the raw one. */
export function acceptCleaned(raw: string, candidate: unknown): string | null {
  if (typeof candidate !== "string") return null;
  const cleaned = candidate.replace(/\s+/g, " ").trim();
  if (cleaned === "" || tokens(cleaned).length === 0) return null;
  return cleanupDrift(raw, cleaned) <= CLEANUP_MAX_DRIFT ? cleaned : null;
}

export async function runCleanupStage(
  segments: readonly ResultSegment[],
  ctx: LlmStageContext | null,
  skipReason: string,
): Promise<CleanupOutput> {
  if (ctx === null) return { texts: [], report: { status: "skipped", reason: skipReason } };
  const engine = { engine: ctx.llm.name, model: ctx.llm.model };
  if (segments.length === 0) return { texts: [], report: { status: "skipped", ...engine, reason: "no speech was transcribed" } };

  const texts: CleanupOutput["texts"] = [];
  let keptRaw = 0;
  let failedBatches = 0;
  let firstFailure = "";
  const all = batches(segments, CLEANUP_BATCH_SEGMENTS);
  for (const batch of all) {
    const task = { task: "cleanup", segments: batch.map((s) => ({ id: s.id, text: s.text })) };
    const answer = await callLlm(ctx, task, CLEANUP_SYSTEM_PROMPT, CLEANUP_SCHEMA);
    if (!answer.ok) {
      failedBatches++;
      firstFailure ||= answer.reason;
      keptRaw += batch.length;
      continue;
    }
    const byId = answersById(answer.value, "segments");
    for (const s of batch) {
      const cleaned = acceptCleaned(s.text, byId.get(String(s.id))?.text);
      if (cleaned === null) keptRaw++;
      else if (cleaned !== s.text) texts.push({ id: s.id, text: cleaned });
    }
  }
  if (failedBatches === all.length) return { texts: [], report: { status: "failed", ...engine, reason: firstFailure } };
  return {
    texts,
    report: {
      status: "completed",
      ...engine,
      segments_changed: texts.length,
      segments_kept_raw: keptRaw,
      ...(failedBatches > 0 ? { failed_batches: failedBatches, reason: firstFailure } : {}),
    },
  };
}
