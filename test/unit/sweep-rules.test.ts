/** What the sweeper does with a job whose lease expired (README "Stalled jobs"). */
import { describe, expect, it } from "vitest";
import { STALLED_ERROR_CODE, sweepAction } from "../../src/pipeline/sweep-rules";
import { jobParameters, pendingJob, type JobRecord } from "../../src/store/records";

const rules = { maxRequeues: 3, leaseSeconds: 1200 };
const job = (fields: Partial<JobRecord> = {}): JobRecord => ({
  ...pendingJob({
    id: "job_00000000000000000000000000000001",
    owner: "anonymous",
    created_at: "2026-01-01T00:00:00.000Z",
    source: "session",
    source_session_id: "sess_00000000000000000000000000000001",
    parameters: jobParameters({ llm_cleanup: false, emotions: false, num_speakers: null, language: "auto" }),
    audio_key: "sessions/sess_00000000000000000000000000000001/audio.wav",
  }),
  ...fields,
});

describe("sweeper rules", () => {
  it("re-queues a pending or processing job until it has been re-queued maxRequeues times", () => {
    expect(sweepAction(job(), rules)).toEqual({ kind: "requeue", attempt: 1 });
    expect(sweepAction(job({ status: "processing", stage: "transcribe", requeues: 1 }), rules)).toEqual({ kind: "requeue", attempt: 2 });
    expect(sweepAction(job({ requeues: 2 }), rules)).toEqual({ kind: "requeue", attempt: 3 });
  });

  it("fails the job once its last re-queue went unanswered, saying how long, how often and where it stopped", () => {
    const action = sweepAction(
      job({ status: "processing", stage: "speakers", requeues: 3, error: { code: "engine_unavailable", message: "LLM answered 503" } }),
      rules,
    );
    expect(action).toEqual({
      kind: "fail",
      error: {
        code: STALLED_ERROR_CODE,
        message: "enhancement stalled: no progress for 1200 s after 3 re-queues (last stage: speakers); last error: LLM answered 503",
      },
    });
    const neverStarted = sweepAction(job({ requeues: 3 }), rules);
    expect(neverStarted).toMatchObject({ kind: "fail", error: { message: expect.stringContaining("(it never started)") } });
    expect(sweepAction(job({ requeues: 1 }), { ...rules, maxRequeues: 1 })).toMatchObject({ kind: "fail" });
  });

  it("leaves finished jobs and vanished records alone, only dropping their lease", () => {
    expect(sweepAction(job({ status: "completed" }), rules)).toEqual({ kind: "forget", reason: "finished" });
    expect(sweepAction(job({ status: "failed", requeues: 9 }), rules)).toEqual({ kind: "forget", reason: "finished" });
    expect(sweepAction(null, rules)).toEqual({ kind: "forget", reason: "no_record" });
  });

  it("treats a record written before re-queues were counted as never re-queued", () => {
    const old = job() as Partial<JobRecord>;
    delete old.requeues;
    expect(sweepAction(old as JobRecord, rules)).toEqual({ kind: "requeue", attempt: 1 });
  });
});
