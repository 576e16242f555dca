/** The resampler's filter design on its own (src/audio/filter-design.ts). */
import { describe, expect, it } from "vitest";
import { checkRates, filterBank, gcd, MAX_RATE_RATIO, resamplerBytes } from "../../src/audio/filter-design";

describe("filter design", () => {
  it("refuses rates that are not positive integers or too far apart", () => {
    expect(() => checkRates(0, 16000)).toThrow(RangeError);
    expect(() => checkRates(44100.5, 16000)).toThrow("inRate must be a positive integer");
    expect(() => checkRates(16000 * (MAX_RATE_RATIO + 1), 16000)).toThrow("at most");
    expect(() => checkRates(44100, 16000)).not.toThrow();
  });

  it("stores one row per phase when it fits, every row with unit DC gain", () => {
    const { design, coefficients } = filterBank(44100, 16000);
    expect(gcd(44100, 16000)).toBe(100);
    expect(design).toMatchObject({ interpolation: 160, decimation: 441, interpolatedPhases: false, storedPhases: 160 });
    expect(coefficients.length).toBe(design.storedPhases * design.taps);
    for (let r = 0; r < design.storedPhases; r++) {
      const row = coefficients.subarray(r * design.taps, (r + 1) * design.taps);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it("interpolates an awkward ratio from a fine table, and reuses a designed bank", () => {
    const bank = filterBank(44101, 16000);
    expect(bank.design.interpolatedPhases).toBe(true);
    expect(filterBank(44101, 16000)).toBe(bank);
    expect(resamplerBytes(44101)).toBe(bank.design.memoryBytes);
    expect(resamplerBytes(16000)).toBe(0);
  });
});
