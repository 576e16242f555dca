/**
 * Saved stage outputs in R2 (`r2Keys.jobStage`): a stage whose output exists
 * is not run again, so a retried job resumes after the last saved stage (and
 * the transcribe stage after its last saved chunk).
 */
import { r2Keys } from "../store/keys";

export class StageStore {
  #bucket: R2Bucket;
  #jobId: string;

  constructor(bucket: R2Bucket, jobId: string) {
    this.#bucket = bucket;
    this.#jobId = jobId;
  }

  key(stage: string): string {
    return r2Keys.jobStage(this.#jobId, stage);
  }

  async load<T>(stage: string): Promise<T | null> {
    const object = await this.#bucket.get(this.key(stage));
    return object ? ((await object.json()) as T) : null;
  }

  async save(stage: string, value: unknown): Promise<void> {
    await this.#bucket.put(this.key(stage), JSON.stringify(value), {
      httpMetadata: { contentType: "application/json" },
    });
  }

  /** Best effort: leftovers only cost storage. */
  async delete(stages: readonly string[]): Promise<void> {
    for (let i = 0; i < stages.length; i += 1000) {
      await this.#bucket.delete(stages.slice(i, i + 1000).map((s) => this.key(s)));
    }
  }
}

/** Name of the saved output of transcription chunk `index`. */
export const chunkStage = (index: number) => `transcribe-chunk-${String(index).padStart(4, "0")}`;
