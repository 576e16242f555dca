/**
 * The emotions stage: one label per segment from the fixed set
 * {@link EMOTION_LABELS} (Ekman's six basic emotions plus neutral), with a
 * confidence in [0, 1]. Segments go in batches of {@link EMOTIONS_BATCH_SEGMENTS}.
 *
 * An answer for a segment is accepted when its label is in the set (compared
 * trimmed and lowercase) and its confidence is a number in [0, 1]. A missing
 * or invalid answer gives {@link FALLBACK_EMOTION} — neutral with confidence 0,
 * which no model answer can be confused with as a real detection — so when the
 * stage completed every segment has an `emotion`. When it is skipped or
 * failed, no segment has one.
 */
import type { Emotion, EmotionsOutput, ResultSegment } from "./result";
import { answersById, batches, callLlm, type LlmStageContext } from "./llm-call";

export const EMOTION_LABELS = ["neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust"] as const;
export type EmotionLabel = (typeof EMOTION_LABELS)[number];
export const FALLBACK_EMOTION: Readonly<Emotion> = Object.freeze({ label: "neutral", confidence: 0 });
export const EMOTIONS_BATCH_SEGMENTS = 50;

export const EMOTIONS_SYSTEM_PROMPT = [
  "You label the emotion expressed in each segment of a conversation transcript.",
  'The user message is JSON: {"task":"emotions","labels":[...],"segments":[{"id","text"}]}.',
  "Pick exactly one label from `labels` per segment (use neutral when no emotion is clearly expressed)",
  "and a confidence between 0 and 1.",
  'Answer with JSON only: {"segments":[{"id":<same id>,"label":"<one of labels>","confidence":0.0-1.0}]}, one entry per input segment.',
].join(" ");

export const EMOTIONS_SCHEMA: Record<string, unknown> = {
  type: "object",
  properties: {
    segments: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "integer" },
          label: { type: "string", enum: [...EMOTION_LABELS] },
          confidence: { type: "number", minimum: 0, maximum: 1 },
        },
        required: ["id", "label", "confidence"],
      },
    },
  },
  required: ["segments"],
};

/** The accepted emotion of one answer item, or null when it is invalid. */
export function validateEmotion(item: unknown): Emotion | null {
  if (typeof item !== "object" || item === null) return null;
  const { label, confidence } = item as { label?: unknown; confidence?: unknown };
  if (typeof label !== "string" || typeof confidence !== "number") return null;
  const l = label.trim().toLowerCase();
  if (!(EMOTION_LABELS as readonly string[]).includes(l)) return null;
  if (!Number.isFinite(confidence) || confidence < 0 || confidence > 1) return null;
  return { label: l, confidence: Math.round(confidence * 1000) / 1000 };
}

/** `segments` carry the text to judge (cleaned when cleanup ran). */
export async function runEmotionsStage(
  segments: readonly ResultSegment[],
  ctx: LlmStageContext | null,
  skipReason: string,
): Promise<EmotionsOutput> {
  if (ctx === null) return { emotions: [], report: { status: "skipped", reason: skipReason } };
  const engine = { engine: ctx.llm.name, model: ctx.llm.model, labels: [...EMOTION_LABELS] };
  if (segments.length === 0) return { emotions: [], report: { status: "skipped", ...engine, reason: "no speech was transcribed" } };

  const emotions: EmotionsOutput["emotions"] = [];
  let invalid = 0;
  let failedBatches = 0;
  let firstFailure = "";
  const all = batches(segments, EMOTIONS_BATCH_SEGMENTS);
  for (const batch of all) {
    const task = { task: "emotions", labels: [...EMOTION_LABELS], segments: batch.map((s) => ({ id: s.id, text: s.text })) };
    const answer = await callLlm(ctx, task, EMOTIONS_SYSTEM_PROMPT, EMOTIONS_SCHEMA);
    const byId = answer.ok ? answersById(answer.value, "segments") : new Map<string, Record<string, unknown>>();
    if (!answer.ok) {
      failedBatches++;
      firstFailure ||= answer.reason;
    }
    for (const s of batch) {
      const emotion = validateEmotion(byId.get(String(s.id)));
      if (emotion === null) invalid++;
      emotions.push({ id: s.id, ...(emotion ?? FALLBACK_EMOTION) });
    }
  }
  if (failedBatches === all.length) return { emotions: [], report: { status: "failed", ...engine, reason: firstFailure } };
  return {
    emotions,
    report: {
      status: "completed",
      ...engine,
      invalid,
      ...(failedBatches > 0 ? { failed_batches: failedBatches, reason: firstFailure } : {}),
    },
  };
}
