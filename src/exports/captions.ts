/**
 * Caption and text exports (README "Exports"): SRT, WebVTT and plain text from
 * a transcript's timed words, split by readable rules:
 *
 *  - a caption never spans two speakers (nor two segments);
 *  - at most {@link CAPTION_RULES.maxLines} lines of at most
 *    {@link CAPTION_RULES.maxLineChars} characters of text (a word longer
 *    than a line gets a line of its own); the SRT name prefix comes on top;
 *  - at most {@link CAPTION_RULES.maxSeconds} seconds on screen;
 *  - lines break between words, filled greedily.
 *
 * Speakers are named: WebVTT voice spans (`<v Alice>`), SRT and text name
 * prefixes (`Alice: `). A speaker without a found name is "Speaker N" (N from
 * 1). Live transcripts have no speakers, so their captions carry no names.
 * Pure functions: no I/O.
 */

export const CAPTION_RULES = { maxLines: 2, maxLineChars: 42, maxSeconds: 7 } as const;

export interface TimedWord {
  word: string;
  start: number;
  end: number;
}

/** A run of one speaker's words (an enhanced segment, or a live final). */
export interface TranscriptRun {
  start: number;
  end: number;
  text: string;
  /** Display name; null when the transcript has no speakers (live). */
  speaker: string | null;
  /** Word timings; when absent they are spread over the run by length. */
  words?: TimedWord[];
}

export interface Cue {
  start: number;
  end: number;
  speaker: string | null;
  lines: string[];
}

/** Words of a run with timings: its own, or the run's span shared out by word length. */
function timedWords(run: TranscriptRun): TimedWord[] {
  if (run.words && run.words.length > 0) return run.words.filter((w) => w.word.trim() !== "");
  const tokens = run.text.split(/\s+/).filter(Boolean);
  const total = tokens.reduce((n, t) => n + t.length, 0) || 1;
  const span = Math.max(0, run.end - run.start);
  let at = run.start;
  return tokens.map((word) => {
    const start = at;
    at += (span * word.length) / total;
    return { word, start, end: at };
  });
}

/** Greedy line filling; null when the words need more than maxLines lines. */
export function wrapLines(words: readonly string[], maxLineChars: number = CAPTION_RULES.maxLineChars, maxLines: number = CAPTION_RULES.maxLines): string[] | null {
  const lines: string[] = [];
  for (const word of words) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= maxLineChars) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
    if (lines.length > maxLines) return null;
  }
  return lines;
}

/** Split runs into cues by the rules above. */
export function toCues(runs: readonly TranscriptRun[]): Cue[] {
  const cues: Cue[] = [];
  for (const run of runs) {
    let current: TimedWord[] = [];
    const flush = () => {
      if (current.length === 0) return;
      cues.push({
        start: current[0]!.start,
        end: current[current.length - 1]!.end,
        speaker: run.speaker,
        lines: wrapLines(current.map((w) => w.word), CAPTION_RULES.maxLineChars, Infinity)!,
      });
      current = [];
    };
    for (const word of timedWords(run)) {
      const candidate = [...current, word];
      const tooLong = candidate[candidate.length - 1]!.end - candidate[0]!.start > CAPTION_RULES.maxSeconds;
      if (current.length > 0 && (tooLong || wrapLines(candidate.map((w) => w.word)) === null)) flush();
      current.push(word);
    }
    flush();
  }
  return cues;
}

/** `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (WebVTT). */
export function timestamp(seconds: number, separator: "," | "."): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

export function toSrt(cues: readonly Cue[]): string {
  return cues
    .map((cue, i) => {
      const lines = cue.speaker ? [`${cue.speaker}: ${cue.lines[0]}`, ...cue.lines.slice(1)] : cue.lines;
      return `${i + 1}\n${timestamp(cue.start, ",")} --> ${timestamp(cue.end, ",")}\n${lines.join("\n")}\n`;
    })
    .join("\n");
}

/** WebVTT cue text escapes (`&`, `<`, `>`); a voice annotation may not hold `>` either. */
const escapeVtt = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function toVtt(cues: readonly Cue[]): string {
  const body = cues
    .map((cue, i) => {
      const text = cue.lines.map(escapeVtt).join("\n");
      const voiced = cue.speaker ? `<v ${escapeVtt(cue.speaker)}>${text}</v>` : text;
      // Numbered like SRT cues (an optional WebVTT cue identifier), so players and tools can address them.
      return `${i + 1}\n${timestamp(cue.start, ".")} --> ${timestamp(cue.end, ".")}\n${voiced}\n`;
    })
    .join("\n");
  return `WEBVTT\n\n${body}`;
}

/** Plain text: one line per run, named when the transcript has speakers. */
export function toText(runs: readonly TranscriptRun[]): string {
  return runs.map((r) => (r.speaker ? `${r.speaker}: ${r.text.trim()}` : r.text.trim())).filter(Boolean).join("\n") + "\n";
}
