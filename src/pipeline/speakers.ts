/**
 * The speakers stage: real names for diarized speakers, only when the
 * conversation states them (README "Speaker names").
 *
 * Validation of the LLM's proposals, in order:
 *  1. the id must be a speaker of the transcript (others are ignored);
 *  2. the name must be a string of 1–60 characters with a letter, and must
 *     occur in the transcript text as a whole word or phrase
 *     (case-insensitive) — otherwise it is rejected and the name is null;
 *  3. a name another speaker introduces themself with ("I'm N" in their own
 *     segment) is rejected: it is theirs;
 *  4. a name already given to another speaker is rejected (first one keeps it).
 * name_source, from the segment the name occurs in (the LLM's `evidence`
 * segment first, then every segment mentioning it):
 *  - "self_introduction": the speaker's own segment says "my name is N",
 *    "my name's N", "I am N", "I'm N", "this is N", "call me N" or "N here";
 *  - "addressed": another speaker's segment contains the name;
 *  - "llm": the name occurs only in the speaker's own segments, without an
 *    introduction phrase; the LLM's judgement is all there is.
 */
import type { ResultSegment, ResultSpeaker, SpeakersOutput, StageReport } from "./result";
import { callLlm, isRecord, type LlmStageContext } from "./llm-call";

export const SPEAKER_NAMES_SYSTEM_PROMPT = [
  "You find the real names of the speakers in a diarized conversation transcript.",
  'The user message is JSON: {"task":"speaker_names","segments":[{"id","speaker","text"}]}.',
  "Give a speaker a name ONLY when the conversation itself states it: the speaker introduces themself",
  '("my name is Anna", "I\'m Anna", "this is Anna"), or another speaker addresses them by name (for example',
  '"Thanks, Anna" in reply to them). A name said about someone else does not count.',
  "Never guess from voice, role, topic or gender, and never invent a name: when in doubt use null.",
  'Answer with JSON only: {"speakers":[{"id":"speaker_0","name":"Anna" or null,"evidence":"the segment text that states the name" or null}]},',
  "with exactly one entry for every distinct speaker id in the input.",
].join(" ");

export const SPEAKER_NAMES_SCHEMA: Record<string, unknown> = {
  type: "object",
  properties: {
    speakers: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          name: { type: ["string", "null"] },
          evidence: { type: ["string", "null"] },
        },
        required: ["id", "name"],
      },
    },
  },
  required: ["speakers"],
};

/** Segment text sent for naming, at most: names are usually stated early; later speakers past the budget stay unnamed. */
export const SPEAKER_NAMES_MAX_CHARS = 30_000;
export const MAX_NAME_CHARS = 60;

/** Distinct speaker ids of the segments, "speaker_0" first (numeric order). */
export function speakerIds(segments: readonly ResultSegment[]): string[] {
  const ids = [...new Set(segments.map((s) => s.speaker))];
  const n = (id: string) => Number(/(\d+)$/.exec(id)?.[1] ?? Number.MAX_SAFE_INTEGER);
  return ids.sort((a, b) => n(a) - n(b) || a.localeCompare(b));
}

export function unnamedSpeakers(segments: readonly ResultSegment[]): ResultSpeaker[] {
  return speakerIds(segments).map((id) => ({ id, name: null, name_source: null }));
}

export async function runSpeakersStage(
  segments: readonly ResultSegment[],
  ctx: LlmStageContext | null,
  skipReason: string,
): Promise<SpeakersOutput> {
  const speakers = unnamedSpeakers(segments);
  if (ctx === null) return { speakers, report: { status: "skipped", reason: skipReason } };
  const engine = { engine: ctx.llm.name, model: ctx.llm.model };
  if (segments.length === 0) return { speakers, report: { status: "skipped", ...engine, reason: "no speech was transcribed" } };

  const sent: Array<{ id: number; speaker: string; text: string }> = [];
  let chars = 0;
  for (const s of segments) {
    if (sent.length > 0 && chars + s.text.length > SPEAKER_NAMES_MAX_CHARS) break;
    sent.push({ id: s.id, speaker: s.speaker, text: s.text });
    chars += s.text.length;
  }
  const answer = await callLlm(ctx, { task: "speaker_names", segments: sent }, SPEAKER_NAMES_SYSTEM_PROMPT, SPEAKER_NAMES_SCHEMA);
  if (!answer.ok) return { speakers, report: { status: "failed", ...engine, reason: answer.reason } };
  const { speakers: named, rejected } = validateSpeakerNames(answer.value, segments);
  const report: StageReport = {
    status: "completed",
    ...engine,
    named: named.filter((s) => s.name !== null).length,
    rejected_names: rejected,
  };
  if (sent.length < segments.length) report.segments_considered = sent.length;
  return { speakers: named, report };
}

/**
 * The stage's report when the transcript has no real speaker labels: `degraded`
 * with why, keeping what naming did under `naming` / `naming_reason`.
 */
export function withDiarizationGap(output: SpeakersOutput, reason: string): SpeakersOutput {
  const { status, reason: namingReason, ...rest } = output.report;
  return {
    speakers: output.speakers,
    report: { ...rest, status: "degraded", reason, naming: status, ...(namingReason ? { naming_reason: namingReason } : {}) },
  };
}

/** Applies the validation rules above to an LLM answer; every transcript speaker appears in the output. */
export function validateSpeakerNames(
  answer: unknown,
  segments: readonly ResultSegment[],
): { speakers: ResultSpeaker[]; rejected: number } {
  const speakers = unnamedSpeakers(segments);
  const byId = new Map(speakers.map((s) => [s.id, s]));
  const list = isRecord(answer) && Array.isArray(answer.speakers) ? answer.speakers : [];
  let rejected = 0;
  for (const item of list) {
    if (!isRecord(item) || typeof item.id !== "string") continue;
    const speaker = byId.get(item.id);
    if (!speaker || speaker.name !== null || item.name === null || item.name === undefined) continue;
    const name = typeof item.name === "string" ? normalizeName(item.name) : "";
    const mentions = name ? segments.filter((s) => containsPhrase(s.text, name)) : [];
    const taken =
      speakers.some((s) => s.name !== null && s.name.toLowerCase() === name.toLowerCase()) ||
      mentions.some((s) => s.speaker !== speaker.id && introduces(s.text, name));
    if (!name || name.length > MAX_NAME_CHARS || !/\p{L}/u.test(name) || mentions.length === 0 || taken) {
      rejected++;
      continue;
    }
    speaker.name = name;
    speaker.name_source = nameSource(speaker.id, name, mentions, typeof item.evidence === "string" ? item.evidence : null);
  }
  return { speakers, rejected };
}

function normalizeName(raw: string): string {
  return raw
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Whole-word, case-insensitive occurrence of a word or phrase (spaces match any whitespace). */
export function containsPhrase(text: string, phrase: string): boolean {
  const body = phrase.split(" ").map(escapeRegExp).join("\\s+");
  return new RegExp(`(?<![\\p{L}\\p{N}])${body}(?![\\p{L}\\p{N}])`, "iu").test(text);
}

function introduces(text: string, name: string): boolean {
  const n = name.split(" ").map(escapeRegExp).join("\\s+");
  const before = String.raw`(?:my\s+name\s+is|my\s+name['’]s|i\s+am|i['’]m|this\s+is|call\s+me)\s+`;
  return (
    new RegExp(`(?<![\\p{L}\\p{N}])${before}${n}(?![\\p{L}\\p{N}])`, "iu").test(text) ||
    new RegExp(`(?<![\\p{L}\\p{N}])${n}\\s+here(?![\\p{L}\\p{N}])`, "iu").test(text)
  );
}

const squash = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();

function nameSource(
  speaker: string,
  name: string,
  mentions: readonly ResultSegment[],
  evidence: string | null,
): ResultSpeaker["name_source"] {
  const ev = evidence ? squash(evidence) : "";
  const evidenceSegments = ev ? mentions.filter((s) => squash(s.text).includes(ev) || ev.includes(squash(s.text))) : [];
  for (const candidates of [evidenceSegments, mentions]) {
    if (candidates.some((s) => s.speaker === speaker && introduces(s.text, name))) return "self_introduction";
    if (candidates.some((s) => s.speaker !== speaker)) return "addressed";
  }
  return "llm";
}
