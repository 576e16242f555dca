/**
 * The per-session audio rate limit (MAX_MESSAGES_PER_SECOND) and the exact
 * account of what it, or any other refusal, kept out of the recording.
 *
 * Only binary audio frames spend tokens. Control messages (`end`, `flush`,
 * `keepalive`) are never dropped by this limit: a burst of audio must not be
 * able to swallow the `end` that follows it (DESIGN §4.3).
 *
 * Drops are reported to the client at most once per REPORT_INTERVAL_MS, each
 * report carrying the session's running totals, so however long a burst
 * lasts the client gets a handful of messages and can always tell exactly
 * what the recording holds: what it sent, minus `bytes_dropped`.
 */

import { ERROR_CODES, type ErrorMessage } from "../protocol/messages";

/** Reports of dropped audio are at least this far apart. */
export const REPORT_INTERVAL_MS = 1000;

/** A token bucket: `rate` tokens per second, holding at most `burst`. Starts full. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number | null = null;

  constructor(rate: number, burst = rate * 2) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
  }

  /** Spend one token at time `now` (ms); false when the bucket is empty. */
  take(now: number): boolean {
    // A clock that steps back refills nothing, and the refill resumes from the latest time seen.
    if (this.#at !== null && now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    }
    this.#at = Math.max(this.#at ?? now, now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Running totals of client audio that was received but not recorded. */
export interface DropTotals {
  frames: number;
  /** Bytes of the client's own stream (its encoding and rate). */
  bytes: number;
}

/**
 * Counts dropped frames and decides when the client hears about them: the
 * first drop is reported at once, later ones when the interval since the last
 * report has passed (the caller arms a timer for the trailing report).
 */
export class DropLedger {
  #totals: DropTotals;
  /** Totals as of the last report. */
  #reported: DropTotals;
  #lastReportAt = -Infinity;

  constructor(initial: DropTotals = { frames: 0, bytes: 0 }) {
    this.#totals = { ...initial };
    this.#reported = { ...initial };
  }

  get totals(): DropTotals {
    return { ...this.#totals };
  }

  /** Drops not yet reported to the client. */
  get unreported(): boolean {
    return this.#totals.frames !== this.#reported.frames;
  }

  /**
   * Count one dropped frame. `toldAlready`: the client got an error for this
   * very frame (invalid, oversized, after `end`), so it needs no report of it;
   * it still counts in the totals.
   */
  add(bytes: number, toldAlready: boolean): void {
    this.#totals.frames += 1;
    this.#totals.bytes += bytes;
    if (toldAlready) {
      this.#reported.frames += 1;
      this.#reported.bytes += bytes;
    }
  }

  /** Milliseconds until a report may be sent (0: now). */
  waitBeforeReport(now: number): number {
    return Math.max(0, this.#lastReportAt + REPORT_INTERVAL_MS - now);
  }

  /** Mark the current totals as reported at `now`; returns them. */
  markReported(now: number): DropTotals {
    this.#lastReportAt = now;
    this.#reported = { ...this.#totals };
    return this.totals;
  }
}

/**
 * The limit as a session uses it: admits or drops each audio frame, counts
 * every byte not recorded, and reports drops through `report` at once or at
 * the end of the report interval (a trailing report, so the client always
 * hears the final tally of a burst).
 */
export class AudioLimit {
  readonly #bucket: TokenBucket;
  readonly #ledger: DropLedger;
  readonly #report: (totals: DropTotals) => void;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(ratePerSecond: number, initial: DropTotals | undefined, report: (totals: DropTotals) => void) {
    this.#bucket = new TokenBucket(ratePerSecond);
    this.#ledger = new DropLedger(initial);
    this.#report = report;
  }

  get totals(): DropTotals {
    return this.#ledger.totals;
  }

  /** True when the frame may be recorded; otherwise it is dropped, counted and (soon) reported. */
  admit(bytes: number, now: number): boolean {
    if (this.#bucket.take(now)) return true;
    this.#ledger.add(bytes, false);
    if (this.#timer !== null) return false;
    const wait = this.#ledger.waitBeforeReport(now);
    if (wait === 0) this.#flush(now);
    else
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#flush(Date.now());
      }, wait);
    return false;
  }

  /** A frame refused for another reason: the client was told about it; it still counts. */
  refused(bytes: number): void {
    this.#ledger.add(bytes, true);
  }

  /** No more reports (the session is ending; session.end carries the totals). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #flush(now: number): void {
    if (this.#ledger.unreported) this.#report(this.#ledger.markReported(now));
  }
}

/** The client's report of what the rate limit dropped: running totals for the session. */
export function dropReport(totals: DropTotals, ratePerSecond: number): ErrorMessage {
  return {
    type: "error",
    code: ERROR_CODES.rateLimited,
    message: `more than ${ratePerSecond} audio frames per second; frames over the limit are dropped and not recorded (so far ${totals.frames} frames, ${totals.bytes} bytes not recorded)`,
    recoverable: true,
    frames_dropped: totals.frames,
    bytes_dropped: totals.bytes,
  };
}
