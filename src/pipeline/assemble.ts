/** The assemble stage: saved stage outputs → the enhanced transcript (DESIGN §5). */
import type { CleanupOutput, EmotionsOutput, EnhancedTranscript, SpeakersOutput, TranscribeOutput } from "./result";

/** `cleanup` / `emotions` are null when the job did not ask for them. */
export function assemble(
  transcript: TranscribeOutput,
  speakers: SpeakersOutput,
  cleanup: CleanupOutput | null,
  emotions: EmotionsOutput | null,
): EnhancedTranscript {
  const cleaned = new Map((cleanup?.texts ?? []).map((t) => [t.id, t.text]));
  const felt = new Map((emotions?.emotions ?? []).map((e) => [e.id, { label: e.label, confidence: e.confidence }]));
  const segments = transcript.segments.map((s) => {
    const text = cleaned.get(s.id);
    const emotion = felt.get(s.id);
    return {
      id: s.id,
      start: s.start,
      end: s.end,
      speaker: s.speaker,
      text: text ?? s.text,
      ...(text !== undefined && text !== s.text ? { raw_text: s.text } : {}),
      words: s.words,
      ...(emotion ? { emotion } : {}),
    };
  });
  return {
    text: segments.map((s) => s.text).join(" "),
    language_code: transcript.language_code,
    duration: transcript.duration,
    segments,
    speakers: speakers.speakers,
    enhancements: {
      transcribe: transcript.report,
      speakers: speakers.report,
      cleanup: cleanup?.report ?? { status: "not_requested" },
      emotions: emotions?.report ?? { status: "not_requested" },
    },
  };
}
