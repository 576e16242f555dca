/**
 * Worker threads with loaded decoders, at most `limit` in use at once. A
 * released worker stays loaded (up to `spare` idle ones) so the next session
 * does not pay the model load.
 */
import { Worker } from "node:worker_threads";
import type { FromWorker, ToWorker } from "./worker";

export class PoolFullError extends Error {
  override name = "PoolFullError";
}

export interface PoolOptions {
  /** Most workers in use at once (realtime sessions + batch files). */
  limit: number;
  /** Loaded workers kept idle for the next job. */
  spare: number;
  log: (line: string) => void;
}

const WORKER_URL = new URL("./worker.ts", import.meta.url).href;

/**
 * Workers do not inherit tsx's loader hooks, so the entry is a tiny ES module
 * that imports worker.ts through tsx's API (a plain .js file when compiled).
 */
function spawnWorker(): Worker {
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import { tsImport } from ${JSON.stringify(tsx)};\nawait tsImport(${JSON.stringify(WORKER_URL)}, ${JSON.stringify(WORKER_URL)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
}

let jobCounter = 0;

/**
 * One job's exclusive use of a worker. A reused worker may still send results
 * of its previous job (audio queued before that job was dropped); they carry
 * the old job number and are ignored here.
 */
export class Lease {
  /** Put this in the job's `open` / `batch` message. */
  readonly job = ++jobCounter;
  #handler: ((m: FromWorker) => void) | null = null;
  #released = false;

  constructor(
    readonly worker: Worker,
    private readonly onRelease: (lease: Lease, reusable: boolean) => void,
  ) {}

  /** Replaces the message handler (worker failures arrive as `failed`). */
  onMessage(handler: (m: FromWorker) => void): void {
    this.#handler = handler;
  }

  deliver(m: FromWorker): void {
    if ("job" in m && m.job !== undefined && m.job !== this.job && m.job !== 0) return;
    this.#handler?.(m);
  }

  post(m: ToWorker): void {
    if (!this.#released) this.worker.postMessage(m);
  }

  /** `reusable: false` when the worker may be in a bad state (it is then terminated). */
  release(reusable = true): void {
    if (this.#released) return;
    this.#released = true;
    this.#handler = null;
    this.onRelease(this, reusable);
  }
}

export class WorkerPool {
  readonly limit: number;
  readonly #spare: number;
  readonly #log: (line: string) => void;
  readonly #idle: Worker[] = [];
  readonly #leases = new Map<Worker, Lease>();
  readonly #waiters: Array<() => void> = [];
  #closed = false;

  constructor(options: PoolOptions) {
    this.limit = options.limit;
    this.#spare = options.spare;
    this.#log = options.log;
  }

  get inUse(): number {
    return this.#leases.size;
  }

  get idle(): number {
    return this.#idle.length;
  }

  /** Loads `spare` workers now, so the first session starts without the model load. */
  async warm(): Promise<void> {
    const ready = Array.from({ length: this.#spare - this.#idle.length }, async () => {
      const worker = this.#spawn();
      await new Promise<void>((resolve, reject) => {
        worker.once("message", (m: FromWorker) => (m.type === "ready" ? resolve() : reject(new Error(m.type === "failed" ? m.message : "worker failed"))));
        worker.once("error", reject);
      });
      if (this.#closed) await worker.terminate();
      else this.#idle.push(worker);
    });
    await Promise.all(ready);
  }

  /** A worker now, or PoolFullError when `limit` are in use. */
  acquire(): Lease {
    if (this.#closed) throw new PoolFullError("the engine is shutting down");
    if (this.#leases.size >= this.limit) {
      throw new PoolFullError(`all ${this.limit} recognizer slots are in use (the documented session limit)`);
    }
    const worker = this.#idle.pop() ?? this.#spawn();
    const lease = new Lease(worker, (l, reusable) => this.#release(l, reusable));
    this.#leases.set(worker, lease);
    return lease;
  }

  /** Like acquire, but waits up to `timeoutMs` for a slot (batch files can wait; live audio cannot). */
  async acquireWithin(timeoutMs: number): Promise<Lease> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return this.acquire();
      } catch (err) {
        const left = deadline - Date.now();
        if (!(err instanceof PoolFullError) || left <= 0 || this.#closed) throw err;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, left);
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          this.#waiters.push(done);
        });
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#waiters.splice(0)) wake();
    const all = [...this.#idle.splice(0), ...this.#leases.keys()];
    this.#leases.clear();
    await Promise.all(all.map((w) => w.terminate()));
  }

  #spawn(): Worker {
    const worker = spawnWorker();
    worker.on("message", (m: FromWorker) => this.#leases.get(worker)?.deliver(m));
    worker.on("error", (err) => {
      this.#log(`[local-engine] recognizer thread failed: ${err.message}`);
      this.#leases.get(worker)?.deliver({ type: "failed", message: err.message });
    });
    worker.on("exit", () => {
      const i = this.#idle.indexOf(worker);
      if (i >= 0) this.#idle.splice(i, 1);
    });
    return worker;
  }

  #release(lease: Lease, reusable: boolean): void {
    this.#leases.delete(lease.worker);
    if (reusable && !this.#closed && this.#idle.length < this.#spare) {
      lease.worker.postMessage({ type: "reset" } satisfies ToWorker);
      this.#idle.push(lease.worker);
    } else void lease.worker.terminate();
    this.#waiters.shift()?.();
  }
}
