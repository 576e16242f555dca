/**
 * The enhanced transcript (DESIGN §5) and the outputs each stage saves to R2
 * (`r2Keys.jobStage(id, stage)`), which is what a retried job resumes from.
 */

export type StageName = "transcribe" | "speakers" | "cleanup" | "emotions" | "assemble";

export interface ResultWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  speaker: string;
}

export interface Emotion {
  label: string;
  confidence: number;
}

export interface ResultSegment {
  id: number;
  start: number;
  end: number;
  speaker: string;
  text: string;
  /** The transcript's own text, present only when LLM cleanup changed `text`. */
  raw_text?: string;
  words: ResultWord[];
  emotion?: Emotion;
}

/** How a speaker's name was found (README "Speaker names"). */
export type NameSource = "self_introduction" | "addressed" | "llm";

export interface ResultSpeaker {
  /** "speaker_0", "speaker_1", … in order of first appearance. */
  id: string;
  name: string | null;
  name_source: NameSource | null;
}

/**
 * What happened to one stage. `completed`: it ran; `skipped`: it was wanted
 * but could not run (no LLM configured, nothing to do); `failed`: an optional
 * stage gave up (its output is the fallback, the job still completes);
 * `degraded`: it ran, but the engine did not return something it was asked
 * for (e.g. speaker labels), and `reason` says what;
 * `not_requested`: the job did not ask for it.
 */
export interface StageReport {
  status: "completed" | "skipped" | "failed" | "degraded" | "not_requested";
  engine?: string;
  model?: string;
  reason?: string;
  [detail: string]: unknown;
}

export interface Enhancements {
  transcribe: StageReport;
  speakers: StageReport;
  cleanup: StageReport;
  emotions: StageReport;
}

export interface EnhancedTranscript {
  text: string;
  language_code: string;
  /** Seconds of audio. */
  duration: number;
  segments: ResultSegment[];
  speakers: ResultSpeaker[];
  enhancements: Enhancements;
}

/* ------------------------ saved stage outputs ------------------------ */

/** What the batch engine was asked for but did not return (reasons, as shown to users). */
export interface Degraded {
  speakers?: string;
  language?: string;
}

export interface TranscribeOutput {
  /** Set when the engine left out speaker labels or the detected language. */
  degraded?: Degraded;
  language_code: string;
  duration: number;
  segments: ResultSegment[];
  /** Chunks the audio was sent in (their saved outputs are cleaned up at the end). */
  chunks: number;
  report: StageReport;
}

export interface SpeakersOutput {
  speakers: ResultSpeaker[];
  report: StageReport;
}

export interface CleanupOutput {
  /** Only segments whose text changed. */
  texts: Array<{ id: number; text: string }>;
  report: StageReport;
}

export interface EmotionsOutput {
  emotions: Array<{ id: number } & Emotion>;
  report: StageReport;
}
