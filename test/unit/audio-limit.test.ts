/** The audio rate limit's token bucket and the ledger of dropped audio (src/session/audio-limit.ts). */
import { describe, expect, it } from "vitest";
import { DropLedger, REPORT_INTERVAL_MS, TokenBucket } from "../../src/session/audio-limit";

describe("TokenBucket", () => {
  it("allows a burst of twice the rate, then the rate", () => {
    const bucket = new TokenBucket(10);
    let taken = 0;
    for (let i = 0; i < 100; i++) if (bucket.take(1000)) taken++;
    expect(taken).toBe(20);
    // One second later: ten more.
    taken = 0;
    for (let i = 0; i < 100; i++) if (bucket.take(2000)) taken++;
    expect(taken).toBe(10);
  });

  it("never holds more than the burst, however long it rested", () => {
    const bucket = new TokenBucket(5, 7);
    let taken = 0;
    for (let i = 0; i < 50; i++) if (bucket.take(10_000_000)) taken++;
    expect(taken).toBe(7);
  });

  it("is not fooled by a clock that steps back", () => {
    const bucket = new TokenBucket(1, 1);
    expect(bucket.take(5000)).toBe(true);
    expect(bucket.take(1000)).toBe(false);
    expect(bucket.take(5999)).toBe(false);
  });
});

describe("DropLedger", () => {
  it("counts frames and bytes exactly and reports at most once per interval", () => {
    const ledger = new DropLedger();
    expect(ledger.unreported).toBe(false);
    ledger.add(320, false);
    expect(ledger.waitBeforeReport(0)).toBe(0);
    expect(ledger.markReported(0)).toEqual({ frames: 1, bytes: 320 });
    ledger.add(100, false);
    ledger.add(100, false);
    expect(ledger.unreported).toBe(true);
    expect(ledger.waitBeforeReport(400)).toBe(REPORT_INTERVAL_MS - 400);
    expect(ledger.waitBeforeReport(REPORT_INTERVAL_MS)).toBe(0);
    expect(ledger.markReported(REPORT_INTERVAL_MS)).toEqual({ frames: 3, bytes: 520 });
    expect(ledger.unreported).toBe(false);
  });

  it("counts frames the client was already told about without asking for a report", () => {
    const ledger = new DropLedger({ frames: 2, bytes: 10 });
    ledger.add(7, true);
    expect(ledger.unreported).toBe(false);
    expect(ledger.totals).toEqual({ frames: 3, bytes: 17 });
  });
});
