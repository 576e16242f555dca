/**
 * audio.ack accounting (DESIGN §4.3.1): acks count bytes of the client's own
 * stream, in its encoding and rate, while the recording is 16 kHz s16. For
 * every encoding and a spread of rates: the acks only go forward, reach what
 * was sent, and the last one, right before session.end, is exactly it.
 */
import { describe, expect, it } from "vitest";
import { encodeAlaw, encodeMulaw, f32ArrayToS16 } from "../../src/audio";
import { AUDIO_ENCODINGS, type AudioEncoding, type ServerMessage } from "../../src/protocol/messages";
import { eventually, openSession } from "./client";

/** `seconds` of a 440 Hz tone at `rate`, in `encoding`. */
function tone(encoding: AudioEncoding, rate: number, seconds: number): Uint8Array {
  const n = Math.round(seconds * rate);
  const f32 = new Float32Array(n);
  for (let i = 0; i < n; i++) f32[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate);
  switch (encoding) {
    case "pcm_f32le":
      return new Uint8Array(f32.buffer);
    case "pcm_s16le":
      return new Uint8Array(f32ArrayToS16(f32).buffer);
    case "mulaw":
      return encodeMulaw(f32ArrayToS16(f32));
    case "alaw":
      return encodeAlaw(f32ArrayToS16(f32));
  }
}

const acks = (messages: ServerMessage[]) => messages.flatMap((m) => (m.type === "audio.ack" ? [m.bytes] : []));

describe("audio.ack accounting", () => {
  for (const encoding of AUDIO_ENCODINGS) {
    for (const rate of [8000, 16000, 44100, 48000]) {
      it(`${encoding} at ${rate} Hz: acks count the client's bytes and end exactly at what was sent`, async () => {
        const audio = tone(encoding, rate, 1.5);
        const s = await openSession(`encoding=${encoding}&sample_rate=${rate}`);
        await s.next("session.begin");
        const frame = Math.round(rate * 0.02) * (audio.byteLength / Math.round(1.5 * rate));
        for (let at = 0; at < audio.byteLength; at += frame) s.ws.send(audio.subarray(at, Math.min(audio.byteLength, at + frame)));
        // Every frame handled and durable (acks follow the spool, RECORDER_BUFFER_MS) before `end`:
        // this pool may deliver events out of order (DESIGN §9), and `end` must not overtake audio.
        await eventually(async () => acks(s.messages).includes(audio.byteLength));
        s.sendJson({ type: "end" });
        const end = await s.next("session.end");
        const seen = acks(s.messages);
        for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
        expect(seen.every((b) => b <= audio.byteLength)).toBe(true);
        expect(s.messages[s.messages.indexOf(end) - 1]).toEqual({ type: "audio.ack", bytes: audio.byteLength });
        // The recording is the canonical stream: 1.5 s of 16 kHz s16, whatever came in.
        expect(Math.abs(end.total_duration - 1.5)).toBeLessThanOrEqual(0.001);
        expect(end.bytes_dropped).toBe(0);
      });
    }
  }
});
