/**
 * From a stored transcript to a download (README "Exports"): which transcript
 * (enhanced result or live finals) becomes which runs, and each format's
 * body, Content-Type and Content-Disposition.
 */
import { z } from "zod";
import type { EnhancedTranscript } from "../pipeline/result";
import type { FinalSegment } from "../session/state";
import { toCues, toSrt, toText, toVtt, type TranscriptRun } from "./captions";

export const EXPORT_FORMATS = ["json", "srt", "vtt", "txt"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const TRANSCRIPT_VERSIONS = ["live", "enhanced"] as const;
export type TranscriptVersion = (typeof TRANSCRIPT_VERSIONS)[number];

const format = z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(", ")}` });

/** `?format=` on GET job (absent: the job JSON as always, not as a download). */
export const jobExportQuerySchema = z.object({ format: format.optional() });

/** `?version=&format=` on GET …/stream/{session_id}/transcript. */
export const transcriptQuerySchema = z.object({
  version: z.enum(TRANSCRIPT_VERSIONS, { error: `must be one of ${TRANSCRIPT_VERSIONS.join(", ")}` }).default("enhanced"),
  format: format.default("json"),
});

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  json: "application/json; charset=utf-8",
  srt: "application/x-subrip; charset=utf-8",
  vtt: "text/vtt; charset=utf-8",
  txt: "text/plain; charset=utf-8",
};

/** The live transcript as saved beside the recording (`sessions/<id>/transcript.json`). */
export interface LiveTranscript {
  session_id: string;
  duration: number;
  transcript: string;
  segments: FinalSegment[];
}

/** "Speaker N" (from 1) for a speaker the enhancement could not name. */
const fallbackName = (id: string) => {
  const n = /(\d+)$/.exec(id)?.[1];
  return n === undefined ? id : `Speaker ${Number(n) + 1}`;
};

export function enhancedRuns(result: EnhancedTranscript): TranscriptRun[] {
  const names = new Map(result.speakers.map((s) => [s.id, s.name ?? fallbackName(s.id)]));
  return result.segments.map((s) => ({
    start: s.start,
    end: s.end,
    text: s.text,
    speaker: names.get(s.speaker) ?? fallbackName(s.speaker),
    // Words are the engine's; when cleanup changed the text, its timing is spread over the segment.
    ...(s.raw_text === undefined ? { words: s.words } : {}),
  }));
}

export function liveRuns(live: LiveTranscript): TranscriptRun[] {
  return live.segments.map((s) => ({ start: s.start, end: s.end, text: s.text, speaker: null, ...(s.words ? { words: s.words } : {}) }));
}

/** The download: body and headers. `json` is the document given; the others are rendered from `runs`. */
export function exportResponse(options: { format: ExportFormat; filename: string; json: unknown; runs: () => TranscriptRun[] }): Response {
  const { format, filename } = options;
  const body =
    format === "json"
      ? JSON.stringify(options.json, null, 2)
      : format === "txt"
        ? toText(options.runs())
        : format === "srt"
          ? toSrt(toCues(options.runs()))
          : toVtt(toCues(options.runs()));
  return new Response(body, {
    headers: {
      "content-type": CONTENT_TYPES[format],
      "content-disposition": `attachment; filename="${filename}.${format}"`,
    },
  });
}
