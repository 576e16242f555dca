/**
 * The local speech engine's pure parts: word error rate, speaker clustering on
 * the committed flite fixtures, and the rule-based stand-in's handling of
 * recognizer text. The recognizer itself runs in test/e2e/real-speech.test.ts.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cleanText, emotions, speakerNames } from "../../tools/emulator/llm";
import { detectRegions, StreamingVad, type VadEvent } from "../../tools/emulator/vad";
import { parseWav } from "../../tools/emulator/wav";
import { concatPcm, silence, synthVoice } from "../../tools/fixtures/synth";
import { SPEECH_THRESHOLD } from "../../tools/local-engine/recognizer";
import type { SpeechFixture } from "../../tools/fixtures/make-speech";
import { clusterSpeakers, voiceFeatures } from "../../tools/local-engine/voice";
import { normalizeWords, wordErrorRate } from "../../tools/local-engine/wer";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/speech");
function fixture(name: string): { meta: SpeechFixture; samples: Int16Array } {
  const meta = JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as SpeechFixture;
  return { meta, samples: parseWav(readFileSync(path.join(FIXTURES, `${name}.wav`))).samples };
}

describe("wordErrorRate", () => {
  it("is 0 for the same words, whatever the case and punctuation", () => {
    expect(wordErrorRate("Hello, my name is John.", "hello my name is john")).toBe(0);
    expect(wordErrorRate("I’m fine", "i'm fine")).toBe(0);
  });
  it("counts substitutions, deletions and insertions against the reference length", () => {
    expect(wordErrorRate("a b c d", "a x c d")).toBe(0.25);
    expect(wordErrorRate("a b c d", "a c d")).toBe(0.25);
    expect(wordErrorRate("a b c d", "a b b c d")).toBe(0.25);
    expect(wordErrorRate("a b", "")).toBe(1);
    expect(wordErrorRate("a b", "x y z w")).toBe(2);
  });
  it("handles empty references", () => {
    expect(wordErrorRate("", "")).toBe(0);
    expect(wordErrorRate("", "a")).toBe(1);
    expect(normalizeWords("  -- ")).toEqual([]);
  });
});

describe("speaker clustering from voice features", () => {
  const features = (name: string) => {
    const { meta, samples } = fixture(name);
    return { meta, features: meta.turns.map((t) => voiceFeatures(samples, Math.round(t.start * 16000), Math.round(t.end * 16000), 16000)) };
  };

  it("separates the male and the female flite voice without a speaker count", () => {
    const { meta, features: f } = features("conversation");
    const labels = clusterSpeakers(f);
    expect(new Set(labels).size).toBe(2);
    meta.turns.forEach((t, i) => meta.turns.forEach((u, j) => expect(labels[i] === labels[j]).toBe(t.speaker === u.speaker)));
  });

  it("keeps one voice as one speaker, and honours num_speakers", () => {
    const { features: f } = features("monologue");
    expect(new Set(clusterSpeakers(f))).toEqual(new Set(["speaker_0"]));
    expect(new Set(clusterSpeakers(f, 2)).size).toBe(2);
    const { features: c } = features("conversation");
    expect(new Set(clusterSpeakers(c, 1))).toEqual(new Set(["speaker_0"]));
  });

  it("labels in order of first appearance", () => {
    expect(clusterSpeakers([])).toEqual([]);
    const { features: c } = features("conversation");
    expect(clusterSpeakers(c)[0]).toBe("speaker_0");
  });
});

describe("rule-based stand-in on recognizer text (lower case, no punctuation)", () => {
  it("finds self-introduced names and capitalises them", () => {
    const { speakers } = speakerNames([
      { id: 0, speaker: "speaker_0", text: "hello my name is john" },
      { id: 1, speaker: "speaker_1", text: "hi john my name is mary nice to meet you" },
      { id: 2, speaker: "speaker_0", text: "i am fine thank you" },
    ]);
    expect(speakers).toEqual([
      { id: "speaker_0", name: "John", evidence: "hello my name is john" },
      { id: "speaker_1", name: "Mary", evidence: "hi john my name is mary nice to meet you" },
    ]);
  });

  it("names the previous speaker from a greeting, but not from common words", () => {
    const greeted = speakerNames([
      { id: 0, speaker: "a", text: "good morning" },
      { id: 1, speaker: "b", text: "hi alice how are you" },
    ]);
    expect(greeted.speakers[0]).toMatchObject({ id: "a", name: "Alice" });
    const none = speakerNames([
      { id: 0, speaker: "a", text: "i am going home" },
      { id: 1, speaker: "b", text: "hello everyone this is fine" },
    ]);
    expect(none.speakers.map((s) => s.name)).toEqual([null, null]);
  });

  it("cleans recognizer text: fillers out, pronoun I, capital and full stop", () => {
    expect(cleanText("um i think i'm fine uh thank you")).toBe("I think I'm fine thank you.");
    // Text that already has capitals keeps the exact emulator rules.
    expect(cleanText("Well i think so")).toBe("Well i think so.");
  });

  it("labels emotions from words alone", () => {
    const out = emotions([], [{ id: 0, text: "thank you that is great" }, { id: 1, text: "the weather is very nice" }]);
    expect(out.segments.map((s) => s.label)).toEqual(["joy", "neutral"]);
  });
});

describe("noise-adaptive speech threshold (local engine's segmenter)", () => {
  const regions = (samples: Int16Array) => {
    const vad = new StreamingVad(16000, SPEECH_THRESHOLD);
    const out: Array<{ start: number; end: number }> = [];
    const on = (e: VadEvent) => e.type === "end" && out.push({ start: e.start / 16000, end: e.end / 16000 });
    vad.push(samples, on);
    vad.finalize(on);
    return out;
  };
  /** Deterministic white-ish noise at about `dbfs` RMS. */
  const noise = (seconds: number, dbfs: number) => {
    let x = 12345;
    const amp = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3);
    return Int16Array.from({ length: seconds * 16000 }, () => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return Math.round(((x / 0x7fffffff) * 2 - 1) * amp);
    });
  };
  const mix = (a: Int16Array, b: Int16Array) => Int16Array.from(a, (v, i) => Math.max(-32768, Math.min(32767, v + (b[i] ?? 0))));

  it("hears a quiet microphone that the emulator's fixed -40 dBFS misses", () => {
    const quiet = concatPcm(silence(0.5), synthVoice({ f0: 120, seconds: 1, amplitude: 0.02 }), silence(1));
    expect(detectRegions(quiet, 16000)).toEqual([]);
    const found = regions(quiet);
    expect(found).toHaveLength(1);
    expect(found[0]!.start).toBeGreaterThanOrEqual(0.45);
    expect(found[0]!.end).toBeLessThanOrEqual(1.55);
  });

  it("learns a steady noise above -40 dBFS and still separates the turns in it", () => {
    const turns = concatPcm(silence(1), synthVoice({ f0: 120, seconds: 1 }), silence(1), synthVoice({ f0: 220, seconds: 1 }), silence(1));
    const noisy = mix(turns, noise(5, -35));
    expect(detectRegions(noisy, 16000)).toHaveLength(1); // the fixed threshold: one endless region
    const found = regions(noisy);
    expect(found).toHaveLength(2);
    expect(found[0]!.start).toBeGreaterThanOrEqual(0.9);
    expect(found[1]!.start).toBeGreaterThanOrEqual(2.9);
  });
});
