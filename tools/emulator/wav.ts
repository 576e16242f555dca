/**
 * Minimal RIFF/WAVE reader for the batch API. Only 16-bit PCM is accepted
 * (mono or stereo, any rate): that is what the service records, and anything
 * else should surface as a clear 422 rather than as garbage text.
 */

export class WavError extends Error {}

export interface DecodedWav {
  sampleRate: number;
  channels: number;
  /** Mono samples (stereo is averaged). */
  samples: Int16Array;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

export function parseWav(bytes: Uint8Array): DecodedWav {
  if (bytes.length < 12 || fourcc(bytes, 0) !== "RIFF" || fourcc(bytes, 8) !== "WAVE") {
    throw new WavError("not a RIFF/WAVE file");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  let data: { at: number; size: number } | null = null;

  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = fourcc(bytes, at);
    let size = view.getUint32(at + 4, true);
    const body = at + 8;
    // Streaming writers leave 0 or 0xFFFFFFFF in the data size: trust the file length.
    if (id === "data" && (size === 0 || body + size > bytes.length)) size = bytes.length - body;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) throw new WavError("truncated fmt chunk");
      let format = view.getUint16(body, true);
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 26) format = view.getUint16(body + 24, true);
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      data = { at: body, size };
      break;
    }
    at = body + size + (size & 1); // chunks are word-aligned
  }

  if (!fmt) throw new WavError("missing fmt chunk");
  if (!data) throw new WavError("missing data chunk");
  if (fmt.format !== WAVE_FORMAT_PCM) throw new WavError(`unsupported WAV format ${fmt.format} (only PCM)`);
  if (fmt.bits !== 16) throw new WavError(`unsupported bit depth ${fmt.bits} (only 16-bit)`);
  if (fmt.channels !== 1 && fmt.channels !== 2) {
    throw new WavError(`unsupported channel count ${fmt.channels} (mono or stereo only)`);
  }
  if (fmt.rate < 1000 || fmt.rate > 192000) throw new WavError(`unsupported sample rate ${fmt.rate}`);

  const frameBytes = 2 * fmt.channels;
  const frames = Math.floor(data.size / frameBytes);
  const samples = new Int16Array(frames);
  if (fmt.channels === 1) {
    for (let i = 0; i < frames; i++) samples[i] = view.getInt16(data.at + 2 * i, true);
  } else {
    for (let i = 0; i < frames; i++) {
      const p = data.at + 4 * i;
      samples[i] = (view.getInt16(p, true) + view.getInt16(p + 2, true)) >> 1;
    }
  }
  return { sampleRate: fmt.rate, channels: fmt.channels, samples };
}
