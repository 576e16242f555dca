/** The converted upload's way into R2 (see {@link WavWriter}). */
import { wavHeader, WAV_HEADER_BYTES } from "../audio/wav";
import { MIN_PART_BYTES } from "../config";

/**
 * Writes a WAV of unknown final length to R2 without holding it: equal-sized
 * multipart parts (R2 requires all but the last to be the same size), part 1
 * — which starts with the header — kept back and uploaded last, once the
 * length is known. A file that fits in one part is a single put.
 */
export class WavWriter {
  #bucket: R2Bucket;
  #key: string;
  #partBytes: number;
  #buffer: Uint8Array;
  #fill = WAV_HEADER_BYTES;
  #firstPart: Uint8Array | null = null;
  #upload: R2MultipartUpload | null = null;
  #parts: R2UploadedPart[] = [];
  #nextPart = 2;
  #dataBytes = 0;

  constructor(bucket: R2Bucket, key: string, partBytes: number) {
    this.#bucket = bucket;
    this.#key = key;
    this.#partBytes = Math.max(MIN_PART_BYTES, partBytes);
    this.#buffer = new Uint8Array(this.#partBytes);
  }

  async write(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      const take = Math.min(bytes.length - at, this.#partBytes - this.#fill);
      this.#buffer.set(bytes.subarray(at, at + take), this.#fill);
      this.#fill += take;
      this.#dataBytes += take;
      at += take;
      if (this.#fill === this.#partBytes) await this.#partFull();
    }
  }

  async #partFull(): Promise<void> {
    if (this.#firstPart === null) {
      this.#firstPart = this.#buffer;
      this.#buffer = new Uint8Array(this.#partBytes);
    } else {
      const upload = await this.#multipart();
      this.#parts.push(await upload.uploadPart(this.#nextPart++, this.#buffer));
    }
    this.#fill = 0;
  }

  async #multipart(): Promise<R2MultipartUpload> {
    this.#upload ??= await this.#bucket.createMultipartUpload(this.#key, { httpMetadata: { contentType: "audio/wav" } });
    return this.#upload;
  }

  async finish(): Promise<void> {
    const header = wavHeader({ dataBytes: this.#dataBytes });
    if (this.#firstPart === null) {
      this.#buffer.set(header, 0);
      await this.#bucket.put(this.#key, this.#buffer.subarray(0, this.#fill), { httpMetadata: { contentType: "audio/wav" } });
      return;
    }
    this.#firstPart.set(header, 0);
    const upload = await this.#multipart();
    this.#parts.push(await upload.uploadPart(1, this.#firstPart));
    if (this.#fill > 0) this.#parts.push(await upload.uploadPart(this.#nextPart++, this.#buffer.subarray(0, this.#fill)));
    await upload.complete(this.#parts);
  }

  async abort(): Promise<void> {
    await this.#upload?.abort().catch(() => undefined);
  }
}
