/**
 * Issue 19 items 1, 2 and 7: the Workers AI realtime adapter against the
 * shapes Cloudflare documents (and the alternatives where the documents are
 * ambiguous). Sources are cited beside each fixture (fixtures/realtime/).
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import * as flux from "./fixtures/realtime/flux-live";
import { FLUX, NOVA3, openLink, playAndCollect } from "./fixtures/realtime/link";
import * as nova from "./fixtures/realtime/nova3-live";
import { settle, waitFor } from "./fixtures/realtime/stand-in-ai";

type FluxMessage = (typeof flux.FULL_TURN)[number];
const schemaShape = (m: FluxMessage) => ("event" in m ? flux.asWorkersAiSchema(m) : m);

let warn: MockInstance<typeof console.warn>;
let info: MockInstance<typeof console.log>;
beforeEach(() => {
  warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  info = vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

/** Structured log lines with this event name. */
function logged(spy: { mock: { calls: unknown[][] } }, event: string): Array<Record<string, unknown>> {
  return spy.mock.calls
    .map((args) => JSON.parse(String(args[0])) as Record<string, unknown>)
    .filter((line) => line.event === event);
}

describe("Flux messages: dispatched on `event`, `type` accepted too (issue 19 item 1)", () => {
  const shapes: Array<[string, (m: FluxMessage) => unknown]> = [
    ["as the Workers AI schema documents them (event, no type)", schemaShape],
    ["as Deepgram's /v2/listen wraps them (type TurnInfo + event)", (m) => m],
    ["with the event name in type and no event field", (m) => ("event" in m ? flux.asBareType(m) : m)],
  ];
  it.each(shapes)("maps a full turn %s", async (_shape, reshape) => {
    const { ai, l } = await openLink({ model: FLUX });
    await playAndCollect(ai, l, flux.FULL_TURN.map(reshape), flux.FULL_TURN_EVENTS.length);
    expect(l.events).toEqual(flux.FULL_TURN_EVENTS);
    expect(logged(warn, "engine.unrecognised_message")).toEqual([]);
    l.link.close();
  });

  it("logs the first message's shape, and once per link a shape it does not recognise (field names only)", async () => {
    const { ai, l } = await openLink({ model: FLUX });
    const schemaUpdate = flux.asWorkersAiSchema(flux.turn("Update", 0, [0, 0.24], ""));
    ai.play([schemaUpdate, { type: "TurnInfo", transcript: "no event" }, { kind: "Mystery" }]);
    ai.server!.send("not json");
    ai.play(flux.FULL_TURN.slice(2).map(schemaShape));
    await waitFor(() => l.events.length >= flux.FULL_TURN_EVENTS.length, "the turn");
    await settle();
    expect(l.events).toEqual(flux.FULL_TURN_EVENTS);
    const first = logged(info, "engine.first_message");
    expect(first).toEqual([{ level: "info", event: "engine.first_message", session_id: "sess_test", model: FLUX, shape: expect.objectContaining({ event: "Update" }) }]);
    expect(first[0]!.shape).not.toHaveProperty("type");
    const unrecognised = logged(warn, "engine.unrecognised_message");
    expect(unrecognised).toHaveLength(1);
    expect(unrecognised[0]).toMatchObject({ model: FLUX, shape: { keys: ["transcript", "type"], type: "TurnInfo" } });
    // Values never reach the log: they may hold speech.
    expect(JSON.stringify(unrecognised[0])).not.toContain("no event");
    l.link.close();
  });

  it("nova-3 logs an unrecognised message type once and keeps mapping the rest", async () => {
    const { ai, l } = await openLink({ model: NOVA3 });
    ai.play([{ type: "Warning", description: "x" }, { type: "Warning", description: "y" }]);
    await playAndCollect(ai, l, nova.NOISY_UTTERANCE, 4);
    expect(l.events.map((e) => e.type)).toEqual(["vad.speech_start", "transcript.partial", "transcript.final", "vad.speech_end"]);
    expect(logged(warn, "engine.unrecognised_message")).toEqual([
      { level: "warn", event: "engine.unrecognised_message", session_id: "sess_test", model: NOVA3, shape: { keys: ["description", "type"], type: "Warning" } },
    ]);
    l.link.close();
  });
});

describe("Flux flush: no undocumented control message by default (issue 19 item 2)", () => {
  it("closes the open turn on our side, sends nothing, and cuts the closed words from Flux's later messages", async () => {
    const { ai, l } = await openLink({ model: FLUX });
    await playAndCollect(ai, l, flux.OPEN_TURN.map(schemaShape), 2);
    l.link.flush();
    expect(l.events.slice(2)).toEqual([
      { type: "transcript.final", text: "One more", start: 3.04, end: 3.44, confidence: 0.85 },
      { type: "vad.speech_end", timestamp: 3.44 },
    ]);
    await playAndCollect(ai, l, flux.TURN_AFTER_LOCAL_FLUSH.map(flux.asWorkersAiSchema), 8);
    expect(l.events.slice(4)).toEqual([
      { type: "vad.speech_start", timestamp: 3.44 },
      { type: "transcript.partial", text: "thing", start: 3.44, end: 3.68 },
      { type: "transcript.final", text: "thing.", start: 3.44, end: 3.92, confidence: 0.6 },
      { type: "vad.speech_end", timestamp: 3.92 },
    ]);
    expect(ai.controls()).toEqual([]);
    l.link.close();
  });

  it("does nothing between turns, and a Flux EndOfTurn that only repeats the closed words adds nothing", async () => {
    const { ai, l } = await openLink({ model: FLUX });
    l.link.flush();
    await playAndCollect(ai, l, flux.OPEN_TURN, 2);
    l.link.flush();
    ai.play(flux.FORCED_END); // EndOfTurn "One more" for the turn already closed here
    await settle();
    expect(l.events.map((e) => e.type)).toEqual(["vad.speech_start", "transcript.partial", "transcript.final", "vad.speech_end"]);
    expect(ai.controls()).toEqual([]);
    l.link.close();
  });

  it("nova-3 flush still sends Deepgram's documented Finalize", async () => {
    const { ai, l } = await openLink({ model: NOVA3 });
    l.link.flush();
    await waitFor(() => ai.controls().length === 1, "the Finalize");
    expect(ai.controls()).toEqual(["Finalize"]);
    l.link.close();
  });
});

describe("AI.run inputs in the schema's types (issue 19 item 7)", () => {
  it("flux gets the strings its input schema declares; nova-3 booleans and numbers", async () => {
    const { ai: fluxAi, l: f } = await openLink({ model: FLUX }, { eotThreshold: 0.7, eotTimeoutMs: 4000 });
    // Ai_Cf_Deepgram_Flux_Input: sample_rate, eot_threshold, eot_timeout_ms are `string`.
    expect(fluxAi.calls[0]!.params).toEqual({ encoding: "linear16", sample_rate: "16000", eot_threshold: "0.7", eot_timeout_ms: "4000" });
    f.link.close();

    const { ai: novaAi, l: n } = await openLink({ model: NOVA3, language: "auto" });
    const params = novaAi.calls[0]!.params;
    // Ai_Cf_Deepgram_Nova_3_Input: interim_results, punctuate, smart_format, vad_events boolean; channels number.
    for (const key of ["interim_results", "punctuate", "smart_format", "vad_events"]) expect(typeof params[key]).toBe("boolean");
    expect(params.channels).toBe(1);
    expect(params.endpointing).toBe("300");
    n.link.close();
  });
});
