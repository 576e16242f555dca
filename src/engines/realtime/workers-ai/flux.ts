/**
 * Flux (Deepgram /v2/listen, turn-based, through Workers AI) onto the native
 * protocol. Messages are read by `event` (the Workers AI output schema) or
 * `type` (Deepgram's TurnInfo wrapper): see readFluxMessage in ./messages.ts.
 *  - `StartOfTurn` → `vad.speech_start` {audio_window_start}, then a partial
 *    when it already carries text.
 *  - `Update` / `EagerEndOfTurn` / `TurnResumed` → `transcript.partial` for the
 *    turn so far (start: the turn's first audio_window_start, end:
 *    audio_window_end); empty or unchanged transcripts are skipped (Flux sends
 *    an Update every ~0.25 s whether or not the text changed).
 *  - `EndOfTurn` → `transcript.final` (confidence: mean word confidence; words
 *    only when Flux sends word timings, which the Workers AI schema does not
 *    list) + `vad.speech_end` {audio_window_end}.
 *  - `Connected` is ignored; `Error` (fatal) → `error` event, then the close
 *    → onFailure("runtime").
 *  - Flux's CloseStream does not end the open turn (no EndOfTurn, no
 *    Metadata; the server just closes): the end of the stream emits the last
 *    Update of an open turn as its final (Deepgram's own advice), then
 *    `vad.speech_end`.
 *  - flush(), by `fluxFlush` (config WORKERS_AI_FLUX_FLUSH):
 *    "local" (default) closes the open turn on our side with the text so far
 *    and sends nothing: the Workers AI flux page documents no client control
 *    message. Flux keeps the turn open, so its later messages for that
 *    `turn_index` carry the closed words again; they are cut off (by word
 *    count) and only what follows becomes the next turn's text.
 *    "ForceEndTurn" sends Deepgram's ForceEndTurn (Flux answers with a normal
 *    EndOfTurn; documented for Deepgram's own API only). "none" does nothing.
 */
import type { FluxFlushMode, WorkersAiRealtimeSettings } from "../../../config";
import type { EngineEvent } from "../../../protocol/messages";
import type { RealtimeSessionOptions } from "../types";
import { engineError, num, round3, type FlushAction, type MapResult, type Mapper, type RunInputs } from "./mapper";
import { readFluxMessage, type FluxError, type FluxTurnInfo, type FluxWord, type RawMessage } from "./messages";

const FORCE_END_TURN = JSON.stringify({ type: "ForceEndTurn" });

interface OpenTurn {
  /** Flux's `turn_index`, or -1 when it sent none. */
  index: number;
  start: number;
  end: number;
  transcript: string;
  words: FluxWord[];
  /** Text of the last partial sent for this turn. */
  shown: string;
}

/** A Flux turn that flush() closed on our side while Flux kept it open. */
interface Cut {
  index: number;
  /** Words of Flux's transcript already finalized. */
  words: number;
  /** Where the closed part ended: the next part starts no earlier. */
  end: number;
}

export class FluxMapper implements Mapper {
  readonly inputs: RunInputs;
  readonly #interim: boolean;
  readonly #flushMode: FluxFlushMode;
  #turn: OpenTurn | null = null;
  #cut: Cut | null = null;

  constructor(options: RealtimeSessionOptions, settings: WorkersAiRealtimeSettings) {
    this.#interim = options.interimResults;
    this.#flushMode = settings.fluxFlush;
    // Flux on Workers AI is English-only and takes no language parameter. Its
    // input schema (`Ai_Cf_Deepgram_Flux_Input`) types these as strings.
    this.inputs = { encoding: "linear16", sample_rate: "16000" };
    if (settings.eotThreshold !== null) this.inputs.eot_threshold = String(settings.eotThreshold);
    if (settings.eotTimeoutMs !== null) this.inputs.eot_timeout_ms = String(settings.eotTimeoutMs);
  }

  flush(): FlushAction {
    switch (this.#flushMode) {
      case "ForceEndTurn":
        return { message: FORCE_END_TURN, events: [] };
      case "none":
        return { message: null, events: [] };
      case "local": {
        const turn = this.#turn;
        if (!turn) return { message: null, events: [] };
        this.#turn = null;
        const before = this.#cut?.index === turn.index ? this.#cut.words : 0;
        this.#cut = { index: turn.index, words: before + wordsOf(turn.transcript).length, end: turn.end };
        return { message: null, events: this.#close(turn) };
      }
    }
  }

  map(raw: RawMessage): MapResult {
    const message = readFluxMessage(raw);
    if (message === null) return { events: [], unrecognised: true };
    switch (message.type) {
      case "TurnInfo":
        return { events: this.#turnInfo(message) };
      case "Error":
        return { events: [engineError(fluxErrorText(message))] };
      case "Connected":
        return { events: [] };
    }
  }

  settle(): EngineEvent[] {
    const turn = this.#turn;
    if (!turn) return [];
    // Flux's CloseStream ends no turn: its last Update is the turn's final text.
    this.#turn = null;
    return this.#close(turn);
  }

  #turnInfo(info: FluxTurnInfo): EngineEvent[] {
    const windowStart = num(info.audio_window_start);
    const windowEnd = num(info.audio_window_end);
    if (windowStart === null || windowEnd === null) return [];
    const index = typeof info.turn_index === "number" ? info.turn_index : -1;
    const hasIndex = index !== -1;
    let transcript = typeof info.transcript === "string" ? info.transcript : "";
    let words = Array.isArray(info.words) ? info.words : [];
    let start = windowStart;
    const cut = this.#cut;
    if (cut && cut.index === index && info.event !== "StartOfTurn") {
      // Flux still runs the turn flush closed on our side: only the words after the cut are new.
      transcript = wordsOf(transcript).slice(cut.words).join(" ");
      words = words.slice(cut.words);
      start = Math.max(windowStart, cut.end);
      if (info.event === "EndOfTurn") this.#cut = null;
    } else {
      this.#cut = null;
    }
    const events: EngineEvent[] = [];

    let turn = this.#turn;
    if (turn && (info.event === "StartOfTurn" || (hasIndex && index !== turn.index))) {
      // A new turn while one is still open (its EndOfTurn never came): close the old one first.
      this.#turn = null;
      events.push(...this.#close(turn));
      turn = null;
    }
    const opens = info.event === "StartOfTurn" || transcript.trim() !== "";
    if (!turn && opens) {
      turn = { index, start: round3(start), end: round3(windowEnd), transcript: "", words: [], shown: "" };
      this.#turn = turn;
      events.push({ type: "vad.speech_start", timestamp: turn.start });
    }
    if (!turn) return events; // An empty Update between turns.

    turn.start = Math.min(turn.start, round3(start));
    turn.end = Math.max(turn.end, round3(windowEnd));
    turn.transcript = transcript;
    turn.words = words;

    if (info.event === "EndOfTurn") {
      this.#turn = null;
      events.push(...this.#close(turn));
      return events;
    }
    if (this.#interim && transcript.trim() !== "" && transcript !== turn.shown) {
      turn.shown = transcript;
      events.push({ type: "transcript.partial", text: transcript, start: turn.start, end: turn.end });
    }
    return events;
  }

  /** The final of a turn (or the retraction of its partial), then the end of its speech. */
  #close(turn: OpenTurn): EngineEvent[] {
    const events: EngineEvent[] = [];
    const words = turn.words;
    if (turn.transcript.trim() !== "") {
      const confidences = words.map((w) => num(w.confidence)).filter((c): c is number => c !== null);
      const confidence = confidences.length ? round3(confidences.reduce((a, b) => a + b, 0) / confidences.length) : 0;
      const timed = words.length > 0 && words.every((w) => num(w.start) !== null && num(w.end) !== null);
      events.push({
        type: "transcript.final",
        text: turn.transcript,
        start: turn.start,
        end: turn.end,
        confidence,
        ...(timed
          ? {
              words: words.map((w) => ({
                word: w.word,
                start: round3(w.start!),
                end: round3(w.end!),
                confidence: w.confidence,
              })),
            }
          : {}),
      });
    } else if (turn.shown !== "") {
      events.push({ type: "transcript.final", text: "", start: turn.start, end: turn.end, confidence: 0 });
    }
    events.push({ type: "vad.speech_end", timestamp: turn.end });
    return events;
  }
}

function wordsOf(text: string): string[] {
  const trimmed = text.trim();
  return trimmed === "" ? [] : trimmed.split(/\s+/);
}

function fluxErrorText(error: FluxError): string {
  const what = error.description || "unknown error";
  return error.code ? `${error.code}: ${what}` : what;
}
