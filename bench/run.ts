/**
 * `npm run bench`: measures the service on this machine against the local
 * stack (redis + Upstash bridge + engine emulator + `wrangler dev`, started
 * in-process with startStack) and writes BENCHMARKS.md.
 *
 * Sections: relay overhead, concurrency, per-session cost, recording, and the
 * enhancement pipeline. Progress goes to stderr, a summary to stdout.
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { findFreePort } from "../tools/stack/redis";
import type { Stack } from "../tools/stack/stack";
import { speechLike } from "./audio";
import { concurrentEnds } from "./concurrent-end";
import { resumeDrops } from "./resume";
import { conversation, pcmBytes } from "../tools/fixtures/synth";
import { startProfile } from "./profile";
import { FRAME_MS, runPaced, type PacedResult } from "./paced";
import { pipelineJob, type PipelineResult } from "./pipeline";
import { fastSession } from "./recording";
import { localEngineBench } from "./local-engine";
import { renderReport, renderTargeted, withTargeted, type BenchResults, type CostRun, type RampStep, type RelayLevel } from "./report";
import { ROOT, takeSnapshot, type Snapshot } from "./snapshot";
import { fmt, median } from "./stats";
import {
  CLK_TCK,
  contentionBetween,
  contentionMark,
  cpuTicks,
  findWorkerd,
  machineInfo,
  memKb,
  ownPgid,
  rssKb,
  type WranglerProcesses,
} from "./sys";
import { ArrivalTracker, sleep } from "./tracker";

/* ------------------------------- settings ------------------------------- */

/** Worker vars for the run (everything else is wrangler.toml's). */
const VARS: Record<string, string> = {
  // Long sessions (the 60-minute recording) must not hit the audio cap.
  MAX_SESSION_SECONDS: "100000",
  IDLE_TIMEOUT_SECONDS: "120",
  // The local stack runs without API keys, like `npm run dev`.
  AUTH_MODE: "off",
  // The per-session message limit (default 200/s) would drop frames of the
  // deliberately flat-out ingest test; real-time sessions send 50/s.
  MAX_MESSAGES_PER_SECOND: "1000000",
};
const RELAY_LEVELS = [1, 10, 50];
const RELAY_FRAMES = 1000; // per session: 20 s
/** Diagnostic: sessions short enough that no engine link reaches 10 s (see BENCHMARKS.md section 1). */
const RELAY_SHORT_LEVELS = [10, 50];
const RELAY_SHORT_FRAMES = 350; // 7 s
const RAMP_STEPS = [25, 50, 100, 150, 200, 300, 400, 500];
const RAMP_SERVICE_FRAMES = 1000; // 20 s
const RAMP_DIRECT_FRAMES = 400; // 8 s baseline
const RAMP_P99_LIMIT_MS = 20;
const RAMP_BUDGET_MS = 330_000;
const COST_FRAMES = 1500; // 30 s
const WARMUP_FRAMES = 25; // 0.5 s per session, excluded
const CONCURRENT_END_SESSIONS = [50];
const CONCURRENT_END_AUDIO_S = 6;
const RESUME_DROPS = 60;
const TOTAL_BUDGET_MS = 14 * 60_000;
/**
 * `npm run bench -- --only <phase>` runs the warm-up and one phase (its slug: the phase name in lower
 * case with dashes, e.g. `concurrent-ends`), prints its figures and leaves BENCHMARKS.md as it is.
 */
const ONLY = (() => {
  const at = process.argv.indexOf("--only");
  return at >= 0 ? (process.argv[at + 1] ?? "") : null;
})();
/** `--profile`: a CPU profile of the worker isolate over each phase, in .artifacts/profile-<phase>.cpuprofile. */
const PROFILE = process.argv.includes("--profile");
const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
const HARD_LIMIT_MS = 25 * 60_000;

const started = performance.now();
const elapsed = () => performance.now() - started;
const log = (line: string) => process.stderr.write(`[bench ${(elapsed() / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

let stack: Stack | null = null;
let snapshot: Snapshot | null = null;
let stopping: Promise<void> | null = null;
const stopAll = (): Promise<void> =>
  (stopping ??= (async () => {
    if (stack) {
      await stack.stop().catch((err: unknown) => log(`stack.stop failed: ${String(err)}`));
      // The run's own Miniflare state (hundreds of MB of recordings).
      rmSync(stack.persistTo, { recursive: true, force: true });
    }
    snapshot?.remove();
  })());

const hardLimit = setTimeout(() => {
  log(`hard time limit (${HARD_LIMIT_MS / 60000} min) reached: stopping everything`);
  void stopAll().finally(() => process.exit(2));
}, HARD_LIMIT_MS);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping everything`);
    void stopAll().finally(() => process.exit(130));
  });
}

async function main(): Promise<BenchResults> {
  const date = new Date().toISOString();
  snapshot = await takeSnapshot();
  log(`snapshot of the working tree at ${snapshot.dir} (HEAD ${snapshot.revision.slice(0, 12)}, ${snapshot.dirtyPaths} changed paths)`);
  // Every line the stack logs (the session object's JSON log lines among them), for diagnosis.
  mkdirSync(path.join(ROOT, ".artifacts"), { recursive: true });
  const stackLog = createWriteStream(path.join(ROOT, ".artifacts", "bench-stack.log"));
  const port = await findFreePort();
  log(`starting the stack (wrangler dev on 127.0.0.1:${port})`);
  stack = await snapshot.startStack({
    port,
    redisPort: 0,
    bridgePort: 0,
    emulatorPort: 0,
    vars: VARS,
    verbose: true,
    log: (line) => {
      stackLog.write(`${line}\n`);
      if (/error|fail/i.test(line) && !line.startsWith("[redis]") && !line.includes('"level":"info"')) log(line);
    },
  });
  const st = stack;
  const tracker = new ArrivalTracker();
  st.emulator.setFrameArrivalHook(tracker.hook);
  let procs = findWorkerd(port);
  const groups = () => new Set([ownPgid(), procs.wranglerPid]);
  const results: BenchResults = {
    command: "npm run bench",
    date,
    machine: machineInfo(procs.workerd[0]?.exe),
    revision: snapshot.revision,
    dirtyPaths: snapshot.dirtyPaths,
    vars: VARS,
    workerd: procs.workerd.map((p) => ({ pid: p.pid, role: p.role })),
    clkTck: CLK_TCK,
    notes: [],
    relay: [],
    relayShort: [],
    settings: {
      relaySeconds: (RELAY_FRAMES * FRAME_MS) / 1000,
      relayShortSeconds: (RELAY_SHORT_FRAMES * FRAME_MS) / 1000,
      warmupSeconds: (WARMUP_FRAMES * FRAME_MS) / 1000,
      rampServiceSeconds: (RAMP_SERVICE_FRAMES * FRAME_MS) / 1000,
      rampDirectSeconds: (RAMP_DIRECT_FRAMES * FRAME_MS) / 1000,
      costSeconds: (COST_FRAMES * FRAME_MS) / 1000,
    },
    ramp: { steps: [], maxAll: null, maxLive: null, stoppedBecause: "" },
    cost: [],
    recording: null,
    pipeline: null,
    concurrentEnds: [],
    resume: null,
    localEngine: null,
    errors: [],
    wallSeconds: 0,
    contention: null,
  };
  const runMark = contentionMark(groups());
  const relayAudio = speechLike(60, { dither: true });
  const base = {
    audio: relayAudio,
    serviceWsBase: st.wsUrl,
    emulatorWsUrl: st.emulator.wsUrl,
    emulatorStats: () => st.emulator.stats(),
    tracker,
    log,
    warmupFrames: WARMUP_FRAMES,
  };
  const checkReload = (phase: string) => {
    try {
      const now = findWorkerd(port);
      const same = now.workerd.map((p) => p.pid).join() === procs.workerd.map((p) => p.pid).join();
      if (!same) {
        results.notes.push(`workerd was restarted during "${phase}" (pids ${procs.workerd.map((p) => p.pid).join(",")} → ${now.workerd.map((p) => p.pid).join(",")}); its figures may include a reload.`);
        procs = now;
      }
    } catch (err) {
      results.notes.push(`could not find workerd after "${phase}": ${(err as Error).message}`);
    }
  };
  const phase = async (name: string, fn: () => Promise<void>) => {
    if (ONLY !== null && name !== "warm-up" && slug(name) !== ONLY) return;
    log(`── ${name}`);
    const profiling = PROFILE && name !== "warm-up" ? await startProfile(st.inspectorUrl()).catch((err: unknown) => (log(`profiler: ${String(err)}`), null)) : null;
    try {
      await fn();
      if (profiling) {
        const { profile, top } = await profiling.stop();
        const file = path.join(ROOT, ".artifacts", `profile-${slug(name)}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        log(`profile of "${name}" in ${file}; heaviest (self time):`);
        for (const t of top.slice(0, 20)) log(`  ${fmt(t.selfMs, 1).padStart(9)} ms ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.fn}`);
      }
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`${name} failed: ${message}`);
      results.errors.push({ phase: name, message: message.split("\n").slice(0, 3).join(" | ") });
    }
    checkReload(name);
  };

  /* -------------------------------- warm-up -------------------------------- */
  await phase("warm-up", async () => {
    // JIT, module loading and the first Durable Object: not measured.
    await runPaced({ ...base, target: "service", sessions: 5, frames: 100, label: "warmup" });
    await runPaced({ ...base, target: "direct", sessions: 5, frames: 100, label: "warmup" });
  });

  /* ---------------------------- 1. relay overhead --------------------------- */
  await phase("relay overhead", async () => {
    for (const n of RELAY_LEVELS) {
      const mark = contentionMark(groups());
      const direct = await runPaced({ ...base, target: "direct", sessions: n, frames: RELAY_FRAMES, label: `relay-direct-${n}` });
      const service = await runPaced({ ...base, target: "service", sessions: n, frames: RELAY_FRAMES, label: `relay-service-${n}` });
      const level: RelayLevel = { sessions: n, direct, service, contention: contentionBetween(mark, contentionMark(groups())) };
      results.relay.push(level);
      log(
        `relay ${n}: direct p99 ${fmt(direct.latency.p99)} ms, service p50/p95/p99 ${fmt(service.latency.p50)}/${fmt(service.latency.p95)}/${fmt(service.latency.p99)} ms (live frames p99 ${fmt(service.latencyLive.p99)}), reconnects ${service.engineReconnects}`,
      );
    }
  });

  await phase("relay overhead, short sessions", async () => {
    // Only needed to separate the effect of engine-link reconnects, if there were any.
    if (!results.relay.some((l) => l.service.engineReconnects > 0)) {
      log("no engine-link reconnects in the relay runs: short-session diagnostic skipped");
      return;
    }
    for (const n of RELAY_SHORT_LEVELS) {
      const mark = contentionMark(groups());
      const direct = await runPaced({ ...base, target: "direct", sessions: n, frames: RELAY_SHORT_FRAMES, label: `short-direct-${n}` });
      const service = await runPaced({ ...base, target: "service", sessions: n, frames: RELAY_SHORT_FRAMES, label: `short-service-${n}` });
      results.relayShort.push({ sessions: n, direct, service, contention: contentionBetween(mark, contentionMark(groups())) });
      log(`short ${n}: service p50/p95/p99 ${fmt(service.latency.p50)}/${fmt(service.latency.p95)}/${fmt(service.latency.p99)} ms, reconnects ${service.engineReconnects}`);
    }
  });

  /* ------------------------------ 2. concurrency ---------------------------- */
  await phase("concurrency ramp", async () => {
    const rampStart = performance.now();
    let stopped = `all steps up to ${RAMP_STEPS[RAMP_STEPS.length - 1]} ran`;
    for (const n of RAMP_STEPS) {
      if (performance.now() - rampStart > RAMP_BUDGET_MS) {
        stopped = `time budget for the ramp (${RAMP_BUDGET_MS / 1000} s) used up before ${n} sessions`;
        break;
      }
      // A step that fails is run once more (the machine is shared): it fails only if both attempts do.
      let step: RampStep | null = null;
      for (let attempt = 1; attempt <= 2; attempt++) {
        const mark = contentionMark(groups());
        const direct = await runPaced({ ...base, target: "direct", sessions: n, frames: RAMP_DIRECT_FRAMES, label: `ramp-direct-${n}`, connectConcurrency: 32 });
        const service = await runPaced({ ...base, target: "service", sessions: n, frames: RAMP_SERVICE_FRAMES, label: `ramp-service-${n}`, connectConcurrency: 32 });
        step = judgeStep(n, direct, service);
        step.attempt = attempt;
        step.contention = contentionBetween(mark, contentionMark(groups()));
        results.ramp.steps.push(step);
        log(`ramp ${n} (attempt ${attempt}): ${step.passAll ? "PASS" : "fail"} (all frames) / ${step.passLive ? "PASS" : "fail"} (live frames): ${step.reasons.join("; ") || "ok"}`);
        if (step.passLive) break;
        await sleep(2000);
      }
      if (!step) break;
      if (step.passAll) results.ramp.maxAll = n;
      if (step.passLive) results.ramp.maxLive = n;
      if (!step.passLive) {
        stopped = `${n} sessions failed (${step.reasons.join("; ")})`;
        break;
      }
      if (step.direct.lag.p99 > FRAME_MS) {
        stopped = `the load generator could not keep real-time pace at ${n} sessions (send lag p99 ${fmt(step.direct.lag.p99)} ms)`;
        break;
      }
      await sleep(2000);
    }
    results.ramp.stoppedBecause = stopped;
  });

  /* ---------------------------- 3. per-session cost ------------------------- */
  await phase("per-session cost", async () => {
    const cap = results.ramp.maxLive ?? 50;
    const levels = [50, 100].filter((n) => n <= Math.max(50, cap));
    for (const n of levels) {
      log(`restarting wrangler dev for a clean baseline`);
      await st.restartWorker();
      procs = findWorkerd(port);
      await runPaced({ ...base, target: "service", sessions: 1, frames: 100, label: `cost-warmup-${n}` });
      await sleep(3000);
      const idle: number[][] = procs.workerd.map(() => []);
      for (let i = 0; i < 3; i++) {
        procs.workerd.forEach((p, j) => idle[j]!.push(rssKb(p.pid)));
        await sleep(1000);
      }
      const open: number[][] = procs.workerd.map(() => []);
      let ticks0: number[] = [];
      let ticks1: number[] = [];
      let sampler: NodeJS.Timeout | null = null;
      const r = await runPaced({
        ...base,
        target: "service",
        sessions: n,
        frames: COST_FRAMES,
        label: `cost-${n}`,
        connectConcurrency: 32,
        window: {
          onStart: () => {
            ticks0 = procs.workerd.map((p) => cpuTicks(p.pid));
            sampler = setInterval(() => procs.workerd.forEach((p, j) => open[j]!.push(rssKb(p.pid))), 1000);
          },
          onEnd: () => {
            ticks1 = procs.workerd.map((p) => cpuTicks(p.pid));
            if (sampler) clearInterval(sampler);
          },
        },
      });
      if (sampler) clearInterval(sampler);
      const cpuS = procs.workerd.map((_, j) => ((ticks1[j] ?? NaN) - (ticks0[j] ?? NaN)) / CLK_TCK);
      const run: CostRun = {
        sessions: n,
        windowSeconds: r.windowSeconds,
        audioMinutes: (n * r.windowSeconds) / 60,
        processes: procs.workerd.map((p, j) => ({
          pid: p.pid,
          role: p.role,
          cpuS: cpuS[j]!,
          rssIdleKb: median(idle[j]!),
          rssOpenKb: median(open[j]!),
          rssOpenMaxKb: Math.max(...open[j]!),
        })),
        nodeCpuS: r.nodeCpuS,
        lostFrames: r.lostFrames,
        engineReconnects: r.engineReconnects,
        latencyP99: r.latency.p99,
      };
      results.cost.push(run);
      const total = cpuS.reduce((a, b) => a + b, 0);
      log(`cost ${n}: workerd ${fmt(total)} CPU-s over ${fmt(run.audioMinutes)} audio-min = ${fmt(total / run.audioMinutes, 3)} CPU-s per audio minute`);
    }
  });

  /* ------------------------------- 4. recording ------------------------------ */
  await phase("recording", async () => {
    log(`restarting wrangler dev for a clean baseline`);
    await st.restartWorker();
    procs = findWorkerd(port);
    const long = speechLike(3600, { dither: true });
    const pids = () => procs.workerd.map((p) => p.pid);
    const common = { serviceUrl: st.url, wsBase: st.wsUrl, frameBytes: 32768, tracker };
    // Warm-up session (not reported).
    await fastSession({ ...common, pcm: long.subarray(0, 30 * 32000) });
    log(`ingest: 10 minutes of audio in 32 KB frames`);
    const ingest = await fastSession({ ...common, pcm: long.subarray(0, 600 * 32000), watchPids: pids() });
    log(`ingest: ${fmt(ingest.audioSeconds / ingest.engineReceivedS, 1)} audio-s per wall-s; end→session.end ${fmt(ingest.endToSessionEndMs)} ms`);
    const oneMinute: Awaited<ReturnType<typeof fastSession>>[] = [];
    for (let i = 0; i < 3; i++) oneMinute.push(await fastSession({ ...common, pcm: long.subarray(0, 60 * 32000) }));
    log(`1-minute end→session.end: ${oneMinute.map((r) => fmt(r.endToSessionEndMs)).join(", ")} ms`);
    await sleep(3000);
    const before = pids().map(rssKb);
    const memBefore = pids().map(memKb);
    log(`60-minute session (${(long.byteLength / 1e6).toFixed(0)} MB)`);
    const sixty = await fastSession({ ...common, pcm: long, watchPids: pids(), endTimeoutMs: 180_000 });
    const afterEnd = pids().map(rssKb);
    const memAfterEnd = pids().map(memKb);
    await sleep(5000);
    const afterSettle = pids().map(rssKb);
    log(`60-minute: end→session.end ${fmt(sixty.endToSessionEndMs)} ms; worker RSS ${before.join("/")} → ${afterEnd.join("/")} → ${afterSettle.join("/")} kB`);
    // Diagnostic: does a second identical session grow RSS again (held memory) or reuse it (allocator high-water mark)?
    const second = await fastSession({ ...common, pcm: long, watchPids: pids(), endTimeoutMs: 180_000 });
    const afterSecond = pids().map(rssKb);
    const memAfterSecond = pids().map(memKb);
    log(`second 60-minute session: end→session.end ${fmt(second.endToSessionEndMs)} ms; worker RSS → ${afterSecond.join("/")} kB`);
    // The same, with `end` sent only after the service has had 5 s to catch up (background part uploads):
    // what is left is the work `end` itself does.
    const paused = await fastSession({ ...common, pcm: long, endTimeoutMs: 180_000, pauseBeforeEndMs: 5000 });
    log(`60-minute session, end 5 s after the last write: end→session.end ${fmt(paused.endToSessionEndMs)} ms`);
    const strip = <T extends { endMessage?: unknown; sessionId?: unknown }>(r: T) => {
      const { endMessage: _e, sessionId: _s, ...rest } = r;
      return rest;
    };
    results.recording = {
      pids: procs.workerd.map((p) => ({ pid: p.pid, role: p.role })),
      ingest: strip(ingest),
      oneMinute: oneMinute.map((o) => strip(o)),
      sixty: strip(sixty),
      rssBeforeKb: before,
      rssAfterEndKb: afterEnd,
      rssAfterSettleKb: afterSettle,
      second: strip(second),
      paused: strip(paused),
      rssAfterSecondKb: afterSecond,
      mem: { before: memBefore, afterEnd: memAfterEnd, afterSecond: memAfterSecond },
    };
  });

  /* ------------------------------- 5. pipeline ------------------------------- */
  await phase("pipeline", async () => {
    const jobs: PipelineResult[] = [];
    const long = speechLike(3600, { dither: true });
    results.pipeline = { jobs, available: false, note: "" };
    for (const minutes of [1, 10, 60]) {
      const left = TOTAL_BUDGET_MS - elapsed();
      if (left < (minutes === 60 ? 150_000 : 30_000)) {
        results.pipeline.note += `${minutes}-minute job skipped: time budget used up. `;
        continue;
      }
      const timeoutMs = Math.min(minutes === 1 ? 120_000 : 300_000, left - 20_000);
      log(`pipeline: ${minutes} minute(s) of audio, enhance_on_end=true (waiting up to ${Math.round(timeoutMs / 1000)} s)`);
      const job = await pipelineJob({ serviceUrl: st.url, wsBase: st.wsUrl, pcm: long.subarray(0, minutes * 60 * 32000), tracker, timeoutMs });
      jobs.push(job);
      log(`pipeline ${minutes} min: ${job.finalStatus} ${job.endToCompletedS !== null ? `after ${fmt(job.endToCompletedS)} s` : ""}`);
      if (job.finalStatus === "completed") results.pipeline.available = true;
      else if (minutes === 1) {
        results.pipeline.note += `the 1-minute job did not complete (status ${job.finalStatus}); longer jobs not tried. `;
        break;
      }
    }
  });

  /* ---------------------------- 6. concurrent ends --------------------------- */
  await phase("concurrent ends", async () => {
    const audio = speechLike(CONCURRENT_END_AUDIO_S, { dither: true });
    const runs = [
      { target: "service" as const, sessions: 1 },
      ...CONCURRENT_END_SESSIONS.filter((n) => n > 1).flatMap((n) => [{ target: "direct" as const, sessions: n }, { target: "service" as const, sessions: n }]),
    ];
    for (const { target, sessions: n } of runs) {
      const run = await concurrentEnds({ target, wsBase: st.wsUrl, emulatorWsUrl: st.emulator.wsUrl, serviceUrl: st.url, sessions: n, pcm: audio, jobTimeoutMs: 180_000 });
      results.concurrentEnds.push(run);
      const e = run.endToSessionEnd;
      log(
        `concurrent ends ${target} ${n}: end→session.end p50/p95/p99/max ${fmt(e.p50)}/${fmt(e.p95)}/${fmt(e.p99)}/${fmt(e.max)} ms (spread ${fmt(run.endSpreadMs)} ms), ${run.missingEnds} without session.end, ${run.warnings} warnings, jobs ${run.jobs.completed}/${run.jobs.total} completed`,
      );
      await sleep(2000);
    }
  });

  /* --------------------------------- 7. resume -------------------------------- */
  await phase("resume", async () => {
    // Two turns; the connection is destroyed halfway through the second.
    const pcm = pcmBytes(conversation({ turns: [{ f0: 110, seconds: 1.2 }, { f0: 220, seconds: 1.2 }], gapSeconds: 0.6 }));
    const cutAt = Math.floor((pcm.byteLength * 0.7) / 2) * 2;
    results.resume = await resumeDrops({ wsBase: st.wsUrl, pcm, cutAt, drops: RESUME_DROPS });
    const r = results.resume;
    log(`resume: ${r.drops} drops, ${r.failed} failed; reconnect→session.resumed p50/p99 ${fmt(r.toResumed.p50)}/${fmt(r.toResumed.p99)} ms, →next final ${fmt(r.toNextFinal.p50)}/${fmt(r.toNextFinal.p99)} ms`);
  });

  /* ---------------------------- 8. local engine ----------------------------- */
  await phase("local engine", async () => {
    results.localEngine = await localEngineBench(log);
  });

  results.contention = contentionBetween(runMark, contentionMark(groups()));
  results.wallSeconds = elapsed() / 1000;
  return results;
}

function judgeStep(n: number, direct: PacedResult, service: PacedResult): RampStep {
  const reasons: string[] = [];
  const fatal: string[] = [];
  if (service.connected < n) fatal.push(`${n - service.connected} sessions could not connect`);
  if (service.probeFailures > 0) fatal.push(`${service.probeFailures} engine links never opened`);
  if (service.lostFrames > 0) fatal.push(`${service.lostFrames} frames never reached the engine (${service.sessionsWithLoss} sessions)`);
  if (service.sessionEnds < service.connected) fatal.push(`${service.connected - service.sessionEnds} sessions got no session.end`);
  if (service.errors > 0) fatal.push(`${service.errors} error messages`);
  const addedAll = service.latency.p99 - direct.latency.p99;
  const addedLive = service.latencyLive.p99 - direct.latency.p99;
  if (service.bytesReceived !== service.bytesSent) {
    reasons.push(`engine received ${service.bytesReceived} bytes for ${service.bytesSent} sent (${service.duplicateBytes} re-sent after ${service.engineReconnects} engine reconnects)`);
  }
  const allOk = fatal.length === 0 && addedAll <= RAMP_P99_LIMIT_MS;
  const liveOk = fatal.length === 0 && addedLive <= RAMP_P99_LIMIT_MS;
  if (addedAll > RAMP_P99_LIMIT_MS) reasons.push(`p99 added ${fmt(addedAll)} ms (all frames)`);
  if (addedLive > RAMP_P99_LIMIT_MS) reasons.push(`p99 added ${fmt(addedLive)} ms (live frames)`);
  return {
    sessions: n,
    direct,
    service,
    addedP99All: addedAll,
    addedP99Live: addedLive,
    passAll: allOk,
    passLive: liveOk,
    attempt: 1,
    reasons: [...fatal, ...reasons],
    contention: null,
  };
}

let exitCode = 0;
try {
  const results = await main();
  clearTimeout(hardLimit);
  await stopAll();
  stack = null;
  if (ONLY === null) {
    writeFileSync(path.join(ROOT, "BENCHMARKS.md"), renderReport(results));
    log(`wrote BENCHMARKS.md (${(results.wallSeconds / 60).toFixed(1)} min)`);
  } else {
    const out = path.join(ROOT, ".artifacts", `bench-${ONLY}.json`);
    writeFileSync(out, JSON.stringify(results, null, 2));
    const block = renderTargeted(results, ONLY);
    const file = path.join(ROOT, "BENCHMARKS.md");
    if (block) {
      writeFileSync(file, withTargeted(existsSync(file) ? readFileSync(file, "utf8") : "", ONLY, block));
      log(`--only ${ONLY}: its block in BENCHMARKS.md replaced (the full run's figures are left as they are); results in ${out}`);
    } else log(`--only ${ONLY}: BENCHMARKS.md left as it is; results in ${out}`);
  }
  process.stdout.write(summaryText(results));
  if (results.errors.length > 0) exitCode = 1;
} catch (err) {
  log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  exitCode = 1;
} finally {
  clearTimeout(hardLimit);
  await stopAll();
}
process.exit(exitCode);

function summaryText(r: BenchResults): string {
  const lines: string[] = ["", "Benchmark summary (details in BENCHMARKS.md)", ""];
  for (const l of r.relay) {
    lines.push(
      `relay ${String(l.sessions).padStart(3)} sessions: p50/p95/p99 direct ${fmt(l.direct.latency.p50)}/${fmt(l.direct.latency.p95)}/${fmt(l.direct.latency.p99)} ms, service ${fmt(l.service.latency.p50)}/${fmt(l.service.latency.p95)}/${fmt(l.service.latency.p99)} ms, added p99 ${fmt(l.service.latency.p99 - l.direct.latency.p99)} ms`,
    );
  }
  for (const l of r.relayShort) {
    lines.push(
      `relay ${String(l.sessions).padStart(3)} sessions, ${r.settings.relayShortSeconds} s sessions: added p50/p95/p99 ${fmt(l.service.latency.p50 - l.direct.latency.p50)}/${fmt(l.service.latency.p95 - l.direct.latency.p95)}/${fmt(l.service.latency.p99 - l.direct.latency.p99)} ms, engine reconnects ${l.service.engineReconnects}`,
    );
  }
  lines.push(`concurrency: largest passing step ${r.ramp.maxAll ?? "none"} (all frames), ${r.ramp.maxLive ?? "none"} (live frames only); stopped: ${r.ramp.stoppedBecause}`);
  for (const c of r.cost) {
    const cpu = c.processes.reduce((a, p) => a + p.cpuS, 0);
    const mem = c.processes.reduce((a, p) => a + (p.rssOpenKb - p.rssIdleKb), 0) / c.sessions;
    lines.push(`cost at ${c.sessions} sessions: ${fmt(cpu / c.audioMinutes, 3)} workerd CPU-s per audio minute, ${fmt(mem / 1024, 2)} MiB RSS per session`);
  }
  if (r.recording) {
    const rec = r.recording;
    const streamed = (rec.ingest.bytesSent - rec.ingest.frameBytes) / 32000;
    lines.push(`ingest: ${fmt(streamed / rec.ingest.engineReceivedS, 1)} audio-s per wall-s`);
    lines.push(`end→session.end: 1 min ${rec.oneMinute.map((o) => fmt(o.endToSessionEndMs, 0)).join("/")} ms, 60 min ${fmt(rec.sixty.endToSessionEndMs, 0)} ms`);
    const growth = rec.rssAfterEndKb.reduce((a, b) => a + b, 0) - rec.rssBeforeKb.reduce((a, b) => a + b, 0);
    lines.push(`workerd RSS growth over the 60-minute session: ${fmt(growth / 1024, 1)} MiB`);
  }
  if (r.pipeline) {
    for (const j of r.pipeline.jobs) lines.push(`pipeline ${j.audioMinutes} min: ${j.finalStatus}${j.endToCompletedS !== null ? ` in ${fmt(j.endToCompletedS)} s` : ""}`);
  }
  for (const c of r.concurrentEnds) {
    const e = c.endToSessionEnd;
    lines.push(`${c.target}: ${c.sessions} session(s) ending together: end→session.end p50/p99 ${fmt(e.p50)}/${fmt(e.p99)} ms, ${c.warnings} warnings, ${c.missingEnds} without session.end`);
  }
  if (r.resume) {
    const m = r.resume;
    lines.push(`resume over ${m.drops} drops: reconnect→session.resumed p50/p99 ${fmt(m.toResumed.p50)}/${fmt(m.toResumed.p99)} ms, →next final ${fmt(m.toNextFinal.p50)}/${fmt(m.toNextFinal.p99)} ms`);
  }
  for (const s of r.localEngine?.stream ?? []) {
    lines.push(`local engine ×${s.sessions}: partial p50/p99 ${fmt(s.partial.p50, 0)}/${fmt(s.partial.p99, 0)} ms, final p50/p99 ${fmt(s.final.p50, 0)}/${fmt(s.final.p99, 0)} ms, live WER ${fmt(s.werMean * 100, 1)} %`);
  }
  for (const e of r.errors) lines.push(`phase "${e.phase}" failed: ${e.message}`);
  lines.push("");
  return lines.join("\n");
}
