/**
 * RIFF/WAVE: the header the recorder writes (DESIGN §8) and a parser for WAV
 * files clients send or tests read back. Pure TypeScript, no Node APIs.
 */

/** Size of the canonical header {@link wavHeader} writes: RIFF + `fmt ` (16 bytes) + `data` chunk headers. */
export const WAV_HEADER_BYTES = 44;

/** Sample formats {@link parseWav} understands. Multi-byte formats are little-endian. */
export type WavFormat =
  | "pcm_u8"
  | "pcm_s16le"
  | "pcm_s24le"
  | "pcm_s32le"
  | "pcm_f32le"
  | "pcm_f64le"
  | "mulaw"
  | "alaw";

/** What a WAV file's header says about its audio. */
export interface WavInfo {
  format: WavFormat;
  sampleRate: number;
  channels: number;
  /** Container bits per sample (for WAVE_FORMAT_EXTENSIBLE this may exceed the valid bits). */
  bitsPerSample: number;
  /** Bytes per frame (one sample of every channel). */
  blockAlign: number;
  /** Offset of the first audio byte in the file. */
  dataOffset: number;
  /** Length of the audio data in bytes, a whole number of frames. */
  dataBytes: number;
}

/** What {@link parseWavHeader} can tell from a prefix of the file. */
export interface WavHeaderInfo extends Omit<WavInfo, "dataBytes"> {
  /**
   * Declared length of the audio data, or `undefined` when the writer did not
   * know it (size `0xFFFFFFFF`, as streaming encoders write): read to the end.
   */
  dataBytes: number | undefined;
}

/** Why a WAV could not be read; lets callers answer 400 vs 415 without parsing messages. */
export type WavErrorCode = "truncated" | "malformed" | "unsupported";

/** A WAV file that is truncated, malformed, or uses a format this module does not decode. */
export class WavError extends Error {
  override readonly name = "WavError";
  readonly code: WavErrorCode;

  constructor(code: WavErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface WavHeaderOptions {
  /** Length of the audio data that follows the header, in bytes. */
  dataBytes: number;
  /** @default 16000 */
  sampleRate?: number;
  /** @default 1 */
  channels?: number;
  /** @default 16 */
  bitsPerSample?: 8 | 16 | 24 | 32;
}

const MAX_U32 = 0xffffffff;
const UNKNOWN_SIZE = 0xffffffff;

/**
 * The canonical 44-byte PCM WAV header (format tag 1).
 *
 * RIFF requires chunks to be padded to an even length; when `dataBytes` is odd
 * (only possible with 8-bit mono) the RIFF size counts the pad byte and the
 * caller must append one zero byte after the data.
 *
 * @throws RangeError if a field does not fit the format or `dataBytes` is not a whole number of frames.
 */
export function wavHeader({
  dataBytes,
  sampleRate = 16000,
  channels = 1,
  bitsPerSample = 16,
}: WavHeaderOptions): Uint8Array {
  if (![8, 16, 24, 32].includes(bitsPerSample)) {
    throw new RangeError(`bitsPerSample must be 8, 16, 24 or 32, got ${bitsPerSample}`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 0xffff) {
    throw new RangeError(`channels must be an integer from 1 to 65535, got ${channels}`);
  }
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > MAX_U32) {
    throw new RangeError(`sampleRate must be a positive integer, got ${sampleRate}`);
  }
  const blockAlign = channels * (bitsPerSample / 8);
  const byteRate = sampleRate * blockAlign;
  if (blockAlign > 0xffff || byteRate > MAX_U32) {
    throw new RangeError(`${channels} channels at ${sampleRate} Hz do not fit a WAV header`);
  }
  const pad = dataBytes % 2;
  if (!Number.isInteger(dataBytes) || dataBytes < 0 || 36 + dataBytes + pad > MAX_U32) {
    throw new RangeError(`dataBytes must be an integer from 0 to ${MAX_U32 - 36}, got ${dataBytes}`);
  }
  if (dataBytes % blockAlign !== 0) {
    throw new RangeError(`dataBytes ${dataBytes} is not a whole number of ${blockAlign}-byte frames`);
  }

  const header = new Uint8Array(WAV_HEADER_BYTES);
  const view = new DataView(header.buffer);
  writeTag(header, 0, "RIFF");
  view.setUint32(4, 36 + dataBytes + pad, true);
  writeTag(header, 8, "WAVE");
  writeTag(header, 12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // WAVE_FORMAT_PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, byteRate, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, bitsPerSample, true);
  writeTag(header, 36, "data");
  view.setUint32(40, dataBytes, true);
  return header;
}

/**
 * Reads a complete WAV file held in memory: walks the chunks (skipping `LIST`,
 * `fact` and anything else before `data`), and checks the data is all there.
 * A data size of `0xFFFFFFFF` (streaming writers) means "to the end of the input".
 *
 * @throws WavError if the file is truncated, malformed, or in an unsupported format.
 */
export function parseWav(bytes: Uint8Array): WavInfo {
  const header = scanHeader(bytes);
  if (header === null) {
    throw new WavError("truncated", `WAV truncated: no complete header and data chunk in ${bytes.length} bytes`);
  }
  const available = bytes.length - header.dataOffset;
  let dataBytes = header.dataBytes;
  if (dataBytes === undefined) {
    // Unknown length: take every whole frame present; a cut-off last frame is not audio we can use.
    dataBytes = available - (available % header.blockAlign);
  } else if (dataBytes > available) {
    throw new WavError(
      "truncated",
      `WAV truncated: data chunk declares ${dataBytes} bytes but only ${available} follow the header`,
    );
  }
  return { ...header, dataBytes };
}

/**
 * Reads the header from the first bytes of a WAV stream, before the data has
 * arrived. Returns `null` when `prefix` ends before the start of the data chunk
 * (call again with more bytes); throws as soon as the bytes seen are invalid.
 *
 * @throws WavError if the bytes seen so far are malformed or an unsupported format.
 */
export function parseWavHeader(prefix: Uint8Array): WavHeaderInfo | null {
  return scanHeader(prefix);
}

/* ------------------------------------------------------------------ */

interface FmtInfo {
  format: WavFormat;
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  blockAlign: number;
}

function scanHeader(bytes: Uint8Array): WavHeaderInfo | null {
  // Check the magic as soon as it arrives, so a non-WAV stream fails on its first frame.
  const riff = readTag(bytes, 0);
  if (riff === null) {
    const seen = String.fromCharCode(...bytes);
    if (!["RIFF", "RIFX", "RF64"].some((magic) => magic.startsWith(seen))) {
      throw new WavError("malformed", "not a WAV file: missing RIFF header");
    }
    return null;
  }
  if (riff !== "RIFF") {
    if (riff === "RIFX") throw new WavError("unsupported", "big-endian WAV (RIFX) is not supported");
    if (riff === "RF64") throw new WavError("unsupported", "RF64 WAV (over 4 GiB) is not supported");
    throw new WavError("malformed", "not a WAV file: missing RIFF header");
  }
  const wave = readTag(bytes, 8);
  if (wave === null) return null;
  if (wave !== "WAVE") throw new WavError("malformed", `not a WAV file: RIFF form type is "${wave}", not "WAVE"`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: FmtInfo | undefined;
  let offset = 12;
  for (;;) {
    if (offset + 8 > bytes.length) return null;
    const id = readTag(bytes, offset)!;
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "data") {
      if (fmt === undefined) throw new WavError("malformed", "WAV data chunk comes before the fmt chunk");
      if (size === UNKNOWN_SIZE) return { ...fmt, dataOffset: body, dataBytes: undefined };
      if (size % fmt.blockAlign !== 0) {
        throw new WavError(
          "malformed",
          `WAV data chunk size ${size} is not a whole number of ${fmt.blockAlign}-byte frames`,
        );
      }
      return { ...fmt, dataOffset: body, dataBytes: size };
    }
    if (id === "fmt ") {
      if (body + size > bytes.length) return null;
      fmt = parseFmt(new DataView(bytes.buffer, bytes.byteOffset + body, size));
    }
    // Chunk bodies are padded to an even length; the pad byte is not counted in `size`.
    offset = body + size + (size & 1);
  }
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID derived from a format tag (xxxxxxxx-0000-0010-8000-00aa00389b71). */
const SUBTYPE_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

function parseFmt(fmt: DataView): FmtInfo {
  if (fmt.byteLength < 16) {
    throw new WavError("malformed", `WAV fmt chunk is ${fmt.byteLength} bytes, expected at least 16`);
  }
  let tag = fmt.getUint16(0, true);
  const channels = fmt.getUint16(2, true);
  const sampleRate = fmt.getUint32(4, true);
  const blockAlign = fmt.getUint16(12, true);
  const bitsPerSample = fmt.getUint16(14, true);

  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (fmt.byteLength < 40 || fmt.getUint16(16, true) < 22) {
      throw new WavError("malformed", "WAVE_FORMAT_EXTENSIBLE fmt chunk is too short");
    }
    for (let i = 0; i < SUBTYPE_GUID_TAIL.length; i++) {
      if (fmt.getUint8(26 + i) !== SUBTYPE_GUID_TAIL[i]) {
        throw new WavError("unsupported", "WAVE_FORMAT_EXTENSIBLE with a non-standard SubFormat GUID is not supported");
      }
    }
    tag = fmt.getUint16(24, true);
  }

  const format = formatOf(tag, bitsPerSample);
  if (channels < 1) throw new WavError("malformed", "WAV declares 0 channels");
  if (sampleRate < 1) throw new WavError("malformed", "WAV declares a sample rate of 0");
  const expectedAlign = channels * (bitsPerSample / 8);
  if (blockAlign !== expectedAlign) {
    throw new WavError(
      "malformed",
      `WAV block align is ${blockAlign}, expected ${expectedAlign} for ${channels} × ${bitsPerSample}-bit`,
    );
  }
  return { format, sampleRate, channels, bitsPerSample, blockAlign };
}

function formatOf(tag: number, bits: number): WavFormat {
  const bad = (name: string, allowed: string) =>
    new WavError("unsupported", `${bits}-bit ${name} WAV is not supported (${allowed})`);
  switch (tag) {
    case WAVE_FORMAT_PCM:
      if (bits === 8) return "pcm_u8";
      if (bits === 16) return "pcm_s16le";
      if (bits === 24) return "pcm_s24le";
      if (bits === 32) return "pcm_s32le";
      throw bad("PCM", "8, 16, 24 or 32 bits");
    case WAVE_FORMAT_IEEE_FLOAT:
      if (bits === 32) return "pcm_f32le";
      if (bits === 64) return "pcm_f64le";
      throw bad("float", "32 or 64 bits");
    case WAVE_FORMAT_ALAW:
      if (bits === 8) return "alaw";
      throw bad("A-law", "8 bits");
    case WAVE_FORMAT_MULAW:
      if (bits === 8) return "mulaw";
      throw bad("μ-law", "8 bits");
    default:
      throw new WavError(
        "unsupported",
        `WAV format tag 0x${tag.toString(16).padStart(4, "0")} is not supported (PCM, float, A-law and μ-law are)`,
      );
  }
}

function readTag(bytes: Uint8Array, offset: number): string | null {
  if (offset + 4 > bytes.length) return null;
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

function writeTag(bytes: Uint8Array, offset: number, tag: string): void {
  for (let i = 0; i < 4; i++) bytes[offset + i] = tag.charCodeAt(i);
}
