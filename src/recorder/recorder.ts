/**
 * Records a session's audio to R2 as a 16 kHz 16-bit mono WAV without holding
 * the session in memory (DESIGN §8).
 *
 * Audio (already converted to 16 kHz s16le) is buffered in memory for at most
 * `bufferMs`, then appended to a spool table in the Durable Object's SQLite
 * storage, which survives eviction and restarts. Full parts are uploaded to an
 * R2 multipart upload in the background as soon as they are spooled, so ending
 * only ever uploads the last part and part 1.
 *
 * Part geometry: every part is exactly `partBytes` long except the last. Part 1
 * is the 44-byte WAV header followed by the first `partBytes - 44` bytes of
 * PCM; the header needs the final length, so part 1 is uploaded last.
 * Part n ≥ 2 covers PCM bytes [(n-1)·P − 44, n·P − 44).
 */
import { WAV_HEADER_BYTES, wavHeader } from "../audio/wav";
import { STREAM_BYTES_PER_MS, streamSeconds } from "../audio/format";

export interface RecorderOptions {
  /** R2 object key of the finished WAV. */
  key: string;
  /** Custom metadata stored on the R2 object. */
  metadata: Record<string, string>;
  /**
   * Audio held in memory before it is written to SQLite.
   * @default 1000
   */
  bufferMs?: number;
  /**
   * Size of every multipart part but the last; R2 wants ≥ 5 MiB, all equal.
   * @default 5 MiB
   */
  partBytes?: number;
  /** Called with a message when a part upload fails and will be retried. */
  onRetry?: (message: string) => void;
  /**
   * Called inside the transaction that writes audio to the spool, so the
   * caller's own SQL writes (how much of its input that audio covers) commit
   * with it, or not at all.
   */
  onSpool?: () => void;
}

export interface RecordingSummary {
  key: string;
  /** PCM bytes in the data chunk. */
  dataBytes: number;
  durationSeconds: number;
  parts: number;
}

const BYTES_PER_MS = STREAM_BYTES_PER_MS;
/** SQLite rows in a Durable Object are capped at 2 MB; stay well clear. */
const MAX_ROW_BYTES = 1024 * 1024;
const UPLOAD_ATTEMPTS = 5;
/** Parts uploaded at once, in the background and at the end. */
const UPLOAD_CONCURRENCY = 3;

interface RecorderMeta {
  spooled: number;
  uploadId: string | null;
  finished: number;
}

export class Recorder {
  #sql: SqlStorage;
  #storage: DurableObjectStorage;
  #bucket: R2Bucket;
  #options: Required<Omit<RecorderOptions, "onRetry" | "onSpool">> & Pick<RecorderOptions, "onRetry" | "onSpool">;
  #buffer: Uint8Array[] = [];
  #bufferBytes = 0;
  #bufferLimit: number;
  #spoolTimer: ReturnType<typeof setTimeout> | null = null;
  /** Part uploads in flight, by part number: at most UPLOAD_CONCURRENCY × partBytes in memory. */
  #inFlight = new Map<number, Promise<void>>();
  /** The next full part the background pump may claim (parts ≥ 2; part 1 goes last). */
  #nextToClaim: number | null = null;
  #upload: Promise<R2MultipartUpload> | null = null;
  /** A background upload failed after its retries: the pump stops and finish() uploads what is missing. */
  #pumpFailed = false;
  /** Bytes in the spool table: a copy of rec_meta.spooled, so the per-frame path never queries SQLite. */
  #spooled: number;

  constructor(storage: DurableObjectStorage, bucket: R2Bucket, options: RecorderOptions) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#bucket = bucket;
    this.#options = { bufferMs: 1000, partBytes: 5 * 1024 * 1024, ...options };
    this.#bufferLimit = Math.min(MAX_ROW_BYTES, Math.max(0, this.#options.bufferMs) * BYTES_PER_MS);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS rec_spool (offset INTEGER PRIMARY KEY, data BLOB NOT NULL)`);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS rec_parts (part INTEGER PRIMARY KEY, etag TEXT NOT NULL)`);
    this.#sql.exec(
      `CREATE TABLE IF NOT EXISTS rec_meta (id INTEGER PRIMARY KEY CHECK (id = 1), spooled INTEGER NOT NULL, upload_id TEXT, finished INTEGER NOT NULL)`,
    );
    this.#sql.exec(`INSERT OR IGNORE INTO rec_meta (id, spooled, upload_id, finished) VALUES (1, 0, NULL, 0)`);
    this.#spooled = this.#meta().spooled;
  }

  /** PCM bytes recorded so far, including what is still in the memory buffer. */
  get recordedBytes(): number {
    return this.#spooled + this.#bufferBytes;
  }

  get finished(): boolean {
    return this.#meta().finished === 1;
  }

  /** Append 16 kHz s16le PCM. Never blocks on R2. */
  append(pcm: Uint8Array): void {
    if (pcm.byteLength === 0) return;
    this.#buffer.push(pcm);
    this.#bufferBytes += pcm.byteLength;
    if (this.#bufferBytes >= this.#bufferLimit) {
      this.spool();
    } else if (this.#spoolTimer === null) {
      // A pending timer also keeps the object from hibernating with audio only in memory.
      this.#spoolTimer = setTimeout(() => this.spool(), Math.max(1, this.#options.bufferMs));
    }
  }

  /** Move the memory buffer into SQLite and start any part upload that is now possible. */
  spool(): void {
    if (this.#spoolTimer !== null) {
      clearTimeout(this.#spoolTimer);
      this.#spoolTimer = null;
    }
    if (this.#bufferBytes === 0) return;
    const chunk = this.#buffer.length === 1 ? this.#buffer[0]! : concat(this.#buffer, this.#bufferBytes);
    this.#buffer = [];
    this.#bufferBytes = 0;
    const spooled = this.#spooled;
    this.#storage.transactionSync(() => {
      this.#sql.exec(`INSERT INTO rec_spool (offset, data) VALUES (?, ?)`, spooled, chunk);
      this.#sql.exec(`UPDATE rec_meta SET spooled = ? WHERE id = 1`, spooled + chunk.byteLength);
      this.#options.onSpool?.();
    });
    this.#spooled = spooled + chunk.byteLength;
    this.#pumpUploads();
  }

  /**
   * Complete the recording: spool what is buffered, upload the last part and
   * part 1, and complete the multipart upload (or do one put for short
   * recordings). Idempotent; safe to call again after a failure or restart.
   */
  async finish(): Promise<RecordingSummary> {
    this.spool();
    const meta = this.#meta();
    const summary = this.#summary(meta.spooled);
    if (meta.finished === 1) return summary;
    await Promise.allSettled([...this.#inFlight.values()]);

    const P = this.#options.partBytes;
    if (meta.uploadId === null) {
      // Too short for multipart: one put of the whole file, so the key only ever holds a complete object.
      const body = new Uint8Array(WAV_HEADER_BYTES + meta.spooled);
      body.set(wavHeader({ dataBytes: meta.spooled }), 0);
      body.set(this.#readPcm(0, meta.spooled), WAV_HEADER_BYTES);
      await withRetries(() => this.#bucket.put(this.#options.key, body, this.#putOptions(meta.spooled)), this.#options.onRetry);
    } else {
      const upload = this.#bucket.resumeMultipartUpload(this.#options.key, meta.uploadId);
      // Everything still owed, side by side: full parts the pump did not get to
      // (a fast client, a failed upload, a restart), the short last part, and
      // part 1, whose header only now knows the length.
      const done = new Set(this.#uploadedParts());
      const jobs: (() => Promise<void>)[] = [];
      let part = 2;
      for (; partEnd(part, P) <= meta.spooled; part++) {
        const n = part;
        if (!done.has(n)) jobs.push(() => this.#uploadPart(upload, n));
      }
      if (partStart(part, P) < meta.spooled && !done.has(part)) {
        const last = part;
        jobs.push(() => this.#uploadPart(upload, last, meta.spooled));
      }
      jobs.push(async () => {
        const first = new Uint8Array(P);
        first.set(wavHeader({ dataBytes: meta.spooled }), 0);
        first.set(this.#readPcm(0, P - WAV_HEADER_BYTES), WAV_HEADER_BYTES);
        const etag = await withRetries(async () => (await upload.uploadPart(1, first)).etag, this.#options.onRetry);
        this.#sql.exec(`INSERT OR REPLACE INTO rec_parts (part, etag) VALUES (1, ?)`, etag);
      });
      await runLimited(jobs, UPLOAD_CONCURRENCY);
      const parts = this.#sql
        .exec<{ part: number; etag: string }>(`SELECT part, etag FROM rec_parts ORDER BY part`)
        .toArray()
        .map((row) => ({ partNumber: row.part, etag: row.etag }));
      await withRetries(() => upload.complete(parts), this.#options.onRetry);
    }
    this.#storage.transactionSync(() => {
      this.#sql.exec(`UPDATE rec_meta SET finished = 1 WHERE id = 1`);
      this.#sql.exec(`DELETE FROM rec_spool`);
    });
    return summary;
  }

  /**
   * The spooled PCM from `from` (or later, when older audio has already gone
   * to R2 or exceeds `maxBytes`) up to now, as one contiguous run. Used to
   * re-send unfinalized audio to a reconnected engine.
   */
  readTail(from: number, maxBytes: number): { start: number; bytes: Uint8Array } {
    this.spool();
    const end = this.#spooled;
    let start = Math.max(from, end - maxBytes);
    // Rows of uploaded parts are gone; walk back from the end while rows are contiguous.
    const rows = this.#sql
      .exec<{ offset: number; size: number }>(
        `SELECT offset, length(data) AS size FROM rec_spool WHERE offset + length(data) > ? ORDER BY offset DESC`,
        start,
      )
      .toArray();
    let contiguousFrom = end;
    for (const row of rows) {
      if (row.offset + row.size !== contiguousFrom) break;
      contiguousFrom = row.offset;
    }
    start = Math.max(start, contiguousFrom);
    start -= start % 2;
    return { start, bytes: this.#readPcm(start, end) };
  }

  /** Give up on an unfinished multipart upload so R2 does not keep its parts. */
  async abort(): Promise<void> {
    const { uploadId, finished } = this.#meta();
    if (uploadId === null || finished === 1) return;
    await this.#bucket.resumeMultipartUpload(this.#options.key, uploadId).abort();
    this.#sql.exec(`UPDATE rec_meta SET upload_id = NULL WHERE id = 1`);
    this.#upload = null;
  }

  #summary(dataBytes: number): RecordingSummary {
    return {
      key: this.#options.key,
      dataBytes,
      durationSeconds: streamSeconds(dataBytes),
      parts: Math.max(1, this.#uploadedParts().length),
    };
  }

  #putOptions(dataBytes: number): R2PutOptions {
    return {
      httpMetadata: { contentType: "audio/wav" },
      customMetadata: { ...this.#options.metadata, duration_seconds: streamSeconds(dataBytes).toFixed(3) },
    };
  }

  #meta(): RecorderMeta {
    const row = this.#sql
      .exec<{ spooled: number; upload_id: string | null; finished: number }>(
        `SELECT spooled, upload_id, finished FROM rec_meta WHERE id = 1`,
      )
      .one();
    return { spooled: row.spooled, uploadId: row.upload_id, finished: row.finished };
  }

  #uploadedParts(): number[] {
    return this.#sql.exec<{ part: number }>(`SELECT part FROM rec_parts ORDER BY part`).toArray().map((r) => r.part);
  }

  /** Upload full parts as soon as they are spooled, a few at a time, in the background. */
  #pumpUploads(): void {
    if (this.#pumpFailed) return;
    const P = this.#options.partBytes;
    if (this.#nextToClaim === null) {
      const uploaded = this.#uploadedParts().filter((p) => p > 1);
      this.#nextToClaim = (uploaded.at(-1) ?? 1) + 1;
    }
    while (this.#inFlight.size < UPLOAD_CONCURRENCY && partEnd(this.#nextToClaim, P) <= this.#spooled) {
      const part = this.#nextToClaim++;
      const task = (async () => {
        try {
          await this.#uploadPart(await this.#multipartUpload(), part);
        } catch {
          // finish() uploads whatever is missing from SQLite state; the relay path never waits on this.
          this.#pumpFailed = true;
        } finally {
          this.#inFlight.delete(part);
          this.#pumpUploads();
        }
      })();
      this.#inFlight.set(part, task);
    }
  }

  /** The multipart upload, created once (concurrent parts share the same promise). */
  #multipartUpload(): Promise<R2MultipartUpload> {
    this.#upload ??= (async () => {
      const { uploadId } = this.#meta();
      if (uploadId !== null) return this.#bucket.resumeMultipartUpload(this.#options.key, uploadId);
      const upload = await withRetries(
        () =>
          this.#bucket.createMultipartUpload(this.#options.key, {
            httpMetadata: { contentType: "audio/wav" },
            // Duration is unknown until the end and R2 cannot change metadata on completion.
            customMetadata: this.#options.metadata,
          }),
        this.#options.onRetry,
      );
      this.#sql.exec(`UPDATE rec_meta SET upload_id = ? WHERE id = 1`, upload.uploadId);
      return upload;
    })().catch((err: unknown) => {
      this.#upload = null;
      throw err;
    });
    return this.#upload;
  }

  /** Upload part `part` (n ≥ 2), ending at `end` for the last part, then free its spool rows. */
  async #uploadPart(upload: R2MultipartUpload, part: number, end?: number): Promise<void> {
    const P = this.#options.partBytes;
    const start = partStart(part, P);
    const stop = end ?? partEnd(part, P);
    const bytes = this.#readPcm(start, stop);
    const etag = await withRetries(async () => (await upload.uploadPart(part, bytes)).etag, this.#options.onRetry);
    this.#storage.transactionSync(() => {
      this.#sql.exec(`INSERT OR REPLACE INTO rec_parts (part, etag) VALUES (?, ?)`, part, etag);
      // Rows wholly inside this part are no longer needed (rows that straddle
      // two parts go at the end). Part 1's PCM stays: part 1 goes up last.
      this.#sql.exec(`DELETE FROM rec_spool WHERE offset >= ? AND offset + length(data) <= ?`, Math.max(start, P - WAV_HEADER_BYTES), stop);
    });
  }

  /** PCM bytes [start, end) from the spool. */
  #readPcm(start: number, end: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, end - start));
    const rows = this.#sql.exec<{ offset: number; data: ArrayBuffer }>(
      `SELECT offset, data FROM rec_spool WHERE offset < ? AND offset + length(data) > ? ORDER BY offset`,
      end,
      start,
    );
    let filled = 0;
    for (const row of rows) {
      const data = new Uint8Array(row.data);
      const from = Math.max(start, row.offset);
      const to = Math.min(end, row.offset + data.byteLength);
      out.set(data.subarray(from - row.offset, to - row.offset), from - start);
      filled += to - from;
    }
    if (filled !== out.byteLength) {
      throw new Error(`recording spool is missing ${out.byteLength - filled} bytes in [${start}, ${end})`);
    }
    return out;
  }
}

const partStart = (part: number, P: number) => (part - 1) * P - WAV_HEADER_BYTES;
const partEnd = (part: number, P: number) => part * P - WAV_HEADER_BYTES;

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

async function withRetries<T>(fn: () => Promise<T>, onRetry?: (message: string) => void): Promise<T> {
  let delay = 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= UPLOAD_ATTEMPTS) throw err;
      onRetry?.(`R2 write failed (attempt ${attempt}): ${err instanceof Error ? err.message : String(err)}`);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}

/** Run async jobs with at most `limit` at once; rejects with the first failure after all settle. */
async function runLimited(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      await job().catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
