/**
 * `/v1/listen` (Deepgram's API) in the OpenAPI document: parameters generated
 * from the route's validators, descriptions and bodies declared here. The
 * full mapping is README "Using a Deepgram client".
 */
import { deepgramLiveSchema, deepgramPrerecordedSchema, MAX_DEEPGRAM_CHANNELS } from "../../protocol/deepgram/params";
import { MAX_SYNC_AUDIO_SECONDS, SYNC_WAIT_SECONDS } from "../routes/listen";
import { queryParameters } from "./parameters";

const DESCRIPTIONS: Record<string, string> = {
  model: "A Deepgram model name (nova-3, nova-2, …) runs this service's default model; a configured model may be named in full. Anything else → 400.",
  language: "Language code; `multi` means detect (this service's `auto`).",
  encoding: "linear16, mulaw or alaw (raw audio). Containers and compressed codecs are refused (400).",
  sample_rate: "Rate of the raw audio.",
  channels: `At most ${MAX_DEEPGRAM_CHANNELS} (multichannel is not transcribed per channel).`,
  multichannel: "Accepted; with one channel it changes nothing.",
  interim_results: "Send interim `Results` (is_final=false).",
  punctuate: "Transcripts keep punctuation and case (words carry `punctuated_word` either way).",
  smart_format: "As punctuate.",
  endpointing: "`false` turns `speech_final` off; a number of milliseconds is accepted (the engine's own endpointing decides).",
  utterance_end_ms: "Send `UtteranceEnd` at the engine's end of each utterance.",
  vad_events: "Send `SpeechStarted`.",
  detect_language: "Add `detected_language` to the channel.",
  diarize: "Words and utterances carry `speaker` (diarization always runs in the enhancement).",
  utterances: "Add `results.utterances`.",
  callback: "Answer `{request_id}` at once and POST the result here when done (https; retried with backoff).",
  enhance_on_end: "This service: create an enhancement job when the live session ends (its id is in the closing Metadata).",
  enhance_llm_cleanup: "This service: LLM cleanup in the enhancement.",
  enhance_emotions: "This service: emotion labels in the enhancement.",
  num_speakers: "This service: diarization hint.",
  api_key: "API key where no header can be set (prefer the `token` subprotocol).",
  token: "One-use token from POST /v1/auth/tokens.",
};

const deepgramError = (description: string) => ({
  description,
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["err_code", "err_msg", "request_id"],
        properties: { err_code: { type: "string" }, err_msg: { type: "string" }, request_id: { type: "string" } },
        additionalProperties: false,
      },
    },
  },
});

const loose = (description: string, required: string[]) => ({
  description,
  content: { "application/json": { schema: { type: "object", required, additionalProperties: true } } },
});

const credentials = [{ deepgramToken: [] }, { bearer: [] }, { apiKeyQuery: [] }, { tokenQuery: [] }];

export function listenPaths(): Record<string, unknown> {
  const describe = (name: string) => DESCRIPTIONS[name] ?? "";
  return {
    "/v1/listen": {
      get: {
        tags: ["deepgram"],
        operationId: "deepgramLive",
        summary: "Deepgram live transcription (WebSocket): an ordinary session on Deepgram's wire",
        description: [
          "Send `Upgrade: websocket`. Credentials: `Authorization: Token <key>` or `Bearer`, or the subprotocols `token, <key>` / `bearer, <token>` (the server answers with the scheme).",
          "Client → server: binary audio; `{\"type\":\"KeepAlive\"}`, `{\"type\":\"Finalize\"}`, `{\"type\":\"CloseStream\"}`.",
          "Server → client: `Results`, `SpeechStarted`, `UtteranceEnd`, and after CloseStream `Metadata` (with `session_id` and `enhancement_job_id`), then close 1000.",
          "Malformed input: `Error` then close 1008 `DATA-0000` (1009 for an oversized frame); idle: close 1011 `NET-0001`.",
        ].join("\n"),
        security: credentials,
        parameters: [{ name: "Upgrade", in: "header", required: true, schema: { type: "string", const: "websocket" } }, ...queryParameters(deepgramLiveSchema, describe)],
        responses: {
          "101": { description: "Switching Protocols; `dg-request-id` is the session id." },
          "400": deepgramError("Invalid parameter (`err_code` INVALID_QUERY_PARAMETER)."),
          "401": deepgramError("Missing or invalid credentials (INVALID_AUTH)."),
          "403": deepgramError("The key lacks the `realtime` scope."),
          "426": deepgramError("A plain GET without `Upgrade: websocket`."),
          "429": deepgramError("Too many live sessions for this key."),
        },
      },
      post: {
        tags: ["deepgram"],
        operationId: "deepgramPrerecorded",
        summary: "Deepgram prerecorded transcription: an upload job answered in Deepgram's JSON",
        description: `A WAV body (any Content-Type; the SDK sends application/octet-stream). \`{"url": …}\` is refused (400): no outbound fetches. Without \`callback\` the request waits for the enhancement, up to ${MAX_SYNC_AUDIO_SECONDS} s of audio and ${SYNC_WAIT_SECONDS} s of waiting.`,
        security: credentials,
        parameters: queryParameters(deepgramPrerecordedSchema, describe),
        requestBody: {
          required: true,
          content: { "application/octet-stream": { schema: { type: "string", contentMediaType: "audio/wav" } }, "audio/wav": { schema: { type: "string" } } },
        },
        responses: {
          "200": loose("Deepgram's prerecorded response (`metadata`, `results`), or `{request_id}` when `callback` was given.", []),
          "400": deepgramError("Invalid parameter, a `url` body, or no audio."),
          "401": deepgramError("Missing or invalid credentials."),
          "403": deepgramError("The key lacks the `jobs:write` scope."),
          "413": deepgramError(`Larger than MAX_UPLOAD_BYTES, or longer than ${MAX_SYNC_AUDIO_SECONDS} s without callback.`),
          "415": deepgramError("Not a WAV the service can decode."),
          "500": deepgramError("The transcription failed."),
          "503": deepgramError("Not finished in time (the message names the job to poll), or storage unavailable."),
        },
      },
    },
  };
}
