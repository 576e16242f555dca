/**
 * Pure parts of how results leave the service: caption splitting and
 * formats (README "Exports"), webhook URL rules and signatures (README
 * "Webhooks"), checked against the Standard Webhooks published test vector.
 */
import { describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { parseSync, type NodeCue } from "subtitle";
import { WebVTTParser } from "webvtt-parser";
import HTML_ENTITIES from "webvtt-parser/html-entities.json";
import { CAPTION_RULES, timestamp, toCues, toSrt, toText, toVtt, wrapLines, type TranscriptRun } from "../../src/exports/captions";
import { checkWebhookUrl, isInternalHost } from "../../src/delivery/webhook-url";
import { retryDelaySeconds, webhookEventId } from "../../src/delivery/webhook-policy";

const words = (text: string, start: number, perWord: number) =>
  text.split(" ").map((word, i) => ({ word, start: start + i * perWord, end: start + (i + 1) * perWord - 0.05 }));

describe("captions", () => {
  it("timestamps: SRT comma, WebVTT dot, hours past 99 minutes, rounding to the millisecond", () => {
    expect(timestamp(0, ",")).toBe("00:00:00,000");
    expect(timestamp(3723.4567, ",")).toBe("01:02:03,457");
    expect(timestamp(3723.4567, ".")).toBe("01:02:03.457");
    expect(timestamp(-1, ".")).toBe("00:00:00.000");
  });

  it("splits at 2 lines of 42 characters and 7 seconds, never across speakers", () => {
    const long = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty";
    const runs: TranscriptRun[] = [
      { start: 0, end: 20, text: long, speaker: "Alice", words: words(long, 0, 0.3) },
      { start: 20, end: 30, text: "slow words here", speaker: "Bob", words: words("slow words here", 20, 3) },
    ];
    const cues = toCues(runs);
    for (const cue of cues) {
      expect(cue.lines.length).toBeLessThanOrEqual(CAPTION_RULES.maxLines);
      for (const line of cue.lines) expect(line.length).toBeLessThanOrEqual(CAPTION_RULES.maxLineChars);
      expect(cue.end - cue.start).toBeLessThanOrEqual(CAPTION_RULES.maxSeconds);
    }
    expect(cues.map((c) => c.lines.join(" ")).join(" ")).toBe(`${long} slow words here`);
    // Bob's 3 s words: two fit in 7 s, the third starts a new cue; no cue mixes speakers.
    expect(cues.filter((c) => c.speaker === "Bob").map((c) => c.lines.join(" "))).toEqual(["slow words", "here"]);
    expect(cues.every((c) => c.speaker === "Alice" || c.lines.join(" ").match(/slow|words|here/))).toBe(true);
  });

  it("a word longer than a line gets a line of its own; runs without words share their span by length", () => {
    const huge = "x".repeat(50);
    expect(wrapLines(["a", huge])).toEqual(["a", huge]);
    expect(wrapLines(["a", huge, "b"])).toBeNull();
    const cues = toCues([{ start: 10, end: 20, text: `short ${huge} tail`, speaker: null }]);
    // The long word takes 50/59 of the 10 s: over 7 s with its neighbour, so it stands alone.
    expect(cues.map((c) => c.lines)).toEqual([["short"], [huge], ["tail"]]);
    expect(cues[0]!.start).toBe(10);
    expect(cues[cues.length - 1]!.end).toBeCloseTo(20, 6);
  });

  it("SRT and WebVTT parse with subtitle/webvtt-parser; names and escapes survive", () => {
    const runs: TranscriptRun[] = [
      { start: 1, end: 2.5, text: "fish & chips <3", speaker: "Dr. <Who>", words: words("fish & chips <3", 1, 0.5) },
      { start: 4000, end: 4001, text: "late", speaker: "Speaker 2", words: [{ word: "late", start: 4000, end: 4001 }] },
    ];
    const cues = toCues(runs);
    const srt = parseSync(toSrt(cues)).filter((n): n is NodeCue => n.type === "cue");
    expect(srt.map((n) => n.data)).toEqual([
      { start: 1000, end: 2950, text: "Dr. <Who>: fish & chips <3" },
      { start: 4_000_000, end: 4_001_000, text: "Speaker 2: late" },
    ]);
    const vtt = new WebVTTParser(HTML_ENTITIES).parse(toVtt(cues), "metadata") as { errors: unknown[]; cues: { tree: { children: { name: string; value: string; children: { value: string }[] }[] } }[] };
    expect(vtt.errors).toEqual([]);
    // The voice annotation holds character references (the spec's syntax); this parser leaves them undecoded.
    expect(vtt.cues[0]!.tree.children[0]).toMatchObject({ name: "v", value: "Dr. &lt;Who&gt;", children: [{ value: "fish & chips <3" }] });
    expect(toText(runs)).toBe("Dr. <Who>: fish & chips <3\nSpeaker 2: late\n");
  });
});

describe("webhook URLs", () => {
  it("deployments: https to public hosts only, no credentials", () => {
    expect(checkWebhookUrl("https://hooks.example.com/x?y=1", false).href).toBe("https://hooks.example.com/x?y=1");
    for (const bad of [
      "http://hooks.example.com/",
      "https://user:pw@hooks.example.com/",
      "https://localhost/",
      "https://api.localhost/",
      "https://127.0.0.1/",
      "https://0x7f.1/", // 127.0.0.1 in disguise: the URL parser normalizes it
      "https://10.1.2.3/",
      "https://172.16.0.1/",
      "https://192.168.1.1/",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/",
      "https://0.0.0.0/",
      "https://[::1]/",
      "https://[fd00::1]/",
      "https://[fe80::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://intranet/",
      "https://printer.local/",
      "ftp://hooks.example.com/",
      "not a url",
      `https://example.com/${"a".repeat(2100)}`,
    ]) {
      expect(() => checkWebhookUrl(bad, false), bad).toThrow();
    }
    expect(isInternalHost("8.8.8.8")).toBe(false);
    expect(isInternalHost("172.32.0.1")).toBe(false);
  });

  it("local development (WEBHOOK_ALLOW_LOCAL_URLS): http and loopback, still no credentials", () => {
    expect(checkWebhookUrl("http://127.0.0.1:9999/hook", true).hostname).toBe("127.0.0.1");
    expect(() => checkWebhookUrl("http://u:p@127.0.0.1/", true)).toThrow(/credentials/);
    expect(() => checkWebhookUrl("ws://127.0.0.1/", true)).toThrow();
  });
});

describe("webhook signatures and schedule", () => {
  it("the reference library signs the Standard Webhooks published test vector", () => {
    // From the Standard Webhooks specification's reference implementations' tests.
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const signature = new Webhook(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", new Date(1614265330 * 1000), '{"test": 2432232314}');
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("one webhook-id per job and event; waits grow 4x from the base, capped at the queue's 12 h", () => {
    expect(webhookEventId("job_abc", "enhancement.completed")).toBe("msg_abc_completed");
    expect(webhookEventId("job_abc", "enhancement.failed")).toBe("msg_abc_failed");
    expect([2, 3, 4, 5, 6, 7, 8].map((n) => retryDelaySeconds(n, 10))).toEqual([10, 40, 160, 640, 2560, 10240, 40960]);
    expect(retryDelaySeconds(9, 10)).toBe(43_200);
  });
});
