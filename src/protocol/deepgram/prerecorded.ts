/**
 * An enhanced transcript (DESIGN §5) as Deepgram's prerecorded response
 * (`POST /v1/listen`): `metadata`, `results.channels[0].alternatives[0]` with
 * words (carrying `speaker` when `diarize=true`), `results.utterances` when
 * `utterances=true`. Speakers are numbered by first appearance, as Deepgram's
 * are; this service's additions (speaker names, emotions, the job id) sit in
 * fields Deepgram does not use.
 */
import type { EnhancedTranscript, ResultSegment, ResultWord } from "../../pipeline/result";
import { plain } from "./live";
import type { PrerecordedShape } from "./params";

export interface CompletedJob {
  id: string;
  created_at: string;
  result: EnhancedTranscript;
}

export function toPrerecordedResponse(job: CompletedJob, shape: PrerecordedShape) {
  const { result } = job;
  const model = result.enhancements.transcribe.model ?? result.enhancements.transcribe.engine ?? "unknown";
  const speakerNumber = new Map(result.speakers.map((s, i) => [s.id, i]));
  const numberOf = (id: string) => speakerNumber.get(id) ?? (Number(id.replace(/\D+/g, "")) || 0);
  const text = (t: string) => (shape.punctuate ? t : plain(t));
  const word = (w: ResultWord) => ({
    word: plain(w.word) || w.word,
    start: w.start,
    end: w.end,
    confidence: w.confidence,
    ...(shape.diarize ? { speaker: numberOf(w.speaker) } : {}),
    punctuated_word: w.word,
  });
  const words = result.segments.flatMap((s) => s.words.map(word));
  const utterance = (s: ResultSegment) => ({
    id: `${job.id}-${s.id}`,
    start: s.start,
    end: s.end,
    confidence: meanConfidence(s.words),
    channel: 0,
    transcript: text(s.text),
    words: s.words.map(word),
    speaker: numberOf(s.speaker),
    ...(s.emotion ? { emotion: s.emotion } : {}),
  });
  return {
    metadata: {
      transaction_key: "deprecated",
      request_id: job.id,
      created: job.created_at,
      duration: result.duration,
      channels: 1,
      models: [model],
      model_info: { [model]: { name: model, version: "edge-transcribe", arch: "edge-transcribe" } },
      ...(shape.warnings.length > 0 ? { warnings: shape.warnings } : {}),
      // This service's additions: the job behind the answer, and what the enhancement ran.
      job_id: job.id,
      enhancements: result.enhancements,
    },
    results: {
      channels: [
        {
          alternatives: [{ transcript: text(result.text), confidence: meanConfidence(result.segments.flatMap((s) => s.words)), words }],
          ...(shape.detect_language ? { detected_language: result.language_code } : {}),
        },
      ],
      ...(shape.utterances ? { utterances: result.segments.map(utterance) } : {}),
      // This service's addition: the names found for Deepgram's speaker numbers.
      speakers: result.speakers.map((s) => ({ speaker: numberOf(s.id), name: s.name, name_source: s.name_source })),
    },
  };
}

const meanConfidence = (words: ResultWord[]) =>
  words.length === 0 ? 0 : Math.round((words.reduce((sum, w) => sum + w.confidence, 0) / words.length) * 1000) / 1000;
