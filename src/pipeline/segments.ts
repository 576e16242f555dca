/**
 * Words → segments. A new segment starts when:
 *  - the speaker changes;
 *  - the pause between two words (previous end → next start) exceeds
 *    {@link SEGMENT_PAUSE_SECONDS} (1 s);
 *  - the segment has lasted {@link SEGMENT_SOFT_MAX_SECONDS} and the previous
 *    word ends a sentence (. ! ? …), or it has lasted
 *    {@link SEGMENT_HARD_MAX_SECONDS} whatever the punctuation — so a long
 *    monologue without pauses still gives LLM-sized segments.
 * Segment text is its words joined by single spaces; ids count from 0.
 */
import type { ResultSegment, ResultWord } from "./result";

export const SEGMENT_PAUSE_SECONDS = 1;
export const SEGMENT_SOFT_MAX_SECONDS = 20;
export const SEGMENT_HARD_MAX_SECONDS = 40;

const SENTENCE_END = /[.!?…]["'”’)\]]*$/u;

export function buildSegments(words: readonly ResultWord[]): ResultSegment[] {
  const segments: ResultSegment[] = [];
  let current: ResultWord[] = [];
  const close = () => {
    if (current.length === 0) return;
    const first = current[0]!;
    segments.push({
      id: segments.length,
      start: first.start,
      end: current.reduce((end, w) => Math.max(end, w.end), first.end),
      speaker: first.speaker,
      text: current.map((w) => w.word).join(" "),
      words: current,
    });
    current = [];
  };
  for (const word of words) {
    const prev = current[current.length - 1];
    if (prev) {
      const length = prev.end - current[0]!.start;
      const split =
        word.speaker !== prev.speaker ||
        word.start - prev.end > SEGMENT_PAUSE_SECONDS ||
        (length >= SEGMENT_SOFT_MAX_SECONDS && SENTENCE_END.test(prev.word)) ||
        length >= SEGMENT_HARD_MAX_SECONDS;
      if (split) close();
    }
    current.push(word);
  }
  close();
  return segments;
}
