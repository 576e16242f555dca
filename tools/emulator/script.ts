/**
 * The emulator does not recognise speech. It returns these lines, in order, one
 * per detected speech region, so tests can assert on exact text while the
 * segmentation and timestamps still come from the real audio.
 *
 * The lines are a two-person conversation (even lines: first speaker, odd lines:
 * second) chosen to exercise the enhancement stages:
 *  - 0 and 1 introduce the speakers by name (Alice, Bob) for speaker naming;
 *  - 2 is lowercase and filler-laden for LLM cleanup;
 *  - 3..6 carry clearly different emotions (joy, surprise, sadness, anger);
 *  - 0, 1, 2 and 7 are neutral.
 * The count is even so that, when the script wraps, even lines stay with the
 * first speaker.
 */
export const EMULATOR_SCRIPT: readonly string[] = Object.freeze([
  "Hello, my name is Alice.",
  "Hi Alice, I am Bob.",
  "um so how was the uh weekend",
  "It was great, thanks for asking!",
  "Wow, really? I heard it was stormy.",
  "Only on Sunday, and I am sorry to say the rain ruined our picnic.",
  "That is so annoying, I hate it when that happens.",
  "No problem, we will talk tomorrow.",
]);

/** Text for region `k` (0-based, counted per connection or per file). */
export function scriptLine(k: number): string {
  const n = EMULATOR_SCRIPT.length;
  const i = ((Math.floor(k) % n) + n) % n;
  return EMULATOR_SCRIPT[i]!;
}

/** Words of a line as the emulator reports them (split on whitespace, punctuation kept). */
export function scriptWords(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

/**
 * Word timings for a region: the words share [start, end] evenly. Realtime
 * finals and batch words both use this, so they agree to the millisecond.
 */
export function spreadWords(text: string, start: number, end: number): Array<{ word: string; start: number; end: number }> {
  const words = scriptWords(text);
  const step = (end - start) / Math.max(1, words.length);
  const ms = (s: number): number => Math.round(s * 1000) / 1000;
  return words.map((word, i) => ({
    word,
    start: ms(start + i * step),
    end: i === words.length - 1 ? ms(end) : ms(start + (i + 1) * step),
  }));
}
