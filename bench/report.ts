/** Renders the benchmark results as BENCHMARKS.md. Every figure comes from the run. */
import { AUDIO_DESCRIPTION } from "./audio";
import type { ConcurrentEndResult } from "./concurrent-end";
import type { PacedResult } from "./paced";
import type { ResumeResult } from "./resume";
import { renderLocalEngine, type LocalEngineResult } from "./local-engine";
import type { PipelineResult } from "./pipeline";
import type { FastSessionResult } from "./recording";
import { fmt, table } from "./stats";
import type { Contention, MachineInfo, MemKb } from "./sys";

export interface RelayLevel {
  sessions: number;
  direct: PacedResult;
  service: PacedResult;
  contention: Contention;
}

export interface RampStep {
  sessions: number;
  direct: PacedResult;
  service: PacedResult;
  addedP99All: number;
  addedP99Live: number;
  passAll: boolean;
  passLive: boolean;
  reasons: string[];
  contention: Contention | null;
  attempt: number;
}

export interface CostRun {
  sessions: number;
  windowSeconds: number;
  audioMinutes: number;
  processes: { pid: number; role: string; cpuS: number; rssIdleKb: number; rssOpenKb: number; rssOpenMaxKb: number }[];
  nodeCpuS: number;
  lostFrames: number;
  engineReconnects: number;
  latencyP99: number;
}

type Fast = Omit<FastSessionResult, never>;

export interface BenchResults {
  command: string;
  date: string;
  machine: MachineInfo;
  revision: string;
  dirtyPaths: number;
  vars: Record<string, string>;
  workerd: { pid: number; role: string }[];
  clkTck: number;
  notes: string[];
  relay: RelayLevel[];
  relayShort: RelayLevel[];
  settings: {
    relaySeconds: number;
    relayShortSeconds: number;
    warmupSeconds: number;
    rampServiceSeconds: number;
    rampDirectSeconds: number;
    costSeconds: number;
  };
  ramp: { steps: RampStep[]; maxAll: number | null; maxLive: number | null; stoppedBecause: string };
  cost: CostRun[];
  recording: {
    pids: { pid: number; role: string }[];
    ingest: Fast;
    oneMinute: Fast[];
    sixty: Fast;
    rssBeforeKb: number[];
    rssAfterEndKb: number[];
    rssAfterSettleKb: number[];
    second: Fast;
    paused: Fast;
    rssAfterSecondKb: number[];
    mem: { before: MemKb[]; afterEnd: MemKb[]; afterSecond: MemKb[] };
  } | null;
  pipeline: { jobs: PipelineResult[]; available: boolean; note: string } | null;
  /** Section 6: one session ending alone (baseline), then many ending within the same second. */
  concurrentEnds: ConcurrentEndResult[];
  /** Section 7: reconnect after a destroyed connection. */
  resume: ResumeResult | null;
  /** Section 8: the local PocketSphinx engine, measured directly. */
  localEngine: LocalEngineResult | null;
  errors: { phase: string; message: string }[];
  wallSeconds: number;
  contention: Contention | null;
}

const p3 = (s: { p50: number; p95: number; p99: number }) => `${fmt(s.p50)} / ${fmt(s.p95)} / ${fmt(s.p99)}`;
const added = (a: { p50: number; p95: number; p99: number }, b: { p50: number; p95: number; p99: number }) =>
  `${fmt(a.p50 - b.p50)} / ${fmt(a.p95 - b.p95)} / ${fmt(a.p99 - b.p99)}`;
const MiB = (kb: number) => fmt(kb / 1024, 1);
const load = (c: Contention | null) => (c ? `${fmt(c.otherShare * 100, 0)} %` : "n/a");
const yes = (ok: boolean) => (ok ? "**met**" : "**not met**");

export function renderReport(r: BenchResults): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`# Benchmarks

Written by \`${r.command}\` (\`bench/run.ts\`) from one run on the machine below. Every figure is as measured
in that run; none is estimated or carried over. Re-running overwrites this file.

| | |
|---|---|
| Command | \`${r.command}\` |
| Date | ${r.date} |
| Machine | ${m.nproc} CPUs (\`nproc\`), ${m.cpuModel}, ${fmt(m.memTotalMiB / 1024, 1)} GiB RAM, ${m.kernel} |
| Node | ${m.node} |
| wrangler | ${m.wrangler} |
| workerd | ${m.workerd} |
| Code | HEAD \`${r.revision.slice(0, 12)}\` plus ${r.dirtyPaths} uncommitted path(s) in the working tree, run from a snapshot copy (see Setup) |
| Worker vars set by the benchmark | ${Object.entries(r.vars).map(([k, v]) => `\`${k}=${v}\``).join(", ")} (everything else as in \`wrangler.toml\`) |
| Run time | ${fmt(r.wallSeconds / 60, 1)} min |
| Other load on the machine | ${r.contention ? `${fmt(r.contention.otherCpuS, 0)} CPU-s used by processes outside the benchmark over the run, ${fmt(r.contention.otherShare * 100, 0)} % of the machine's capacity${r.contention.topOthers.length ? ` (largest at the end: ${r.contention.topOthers.join(", ")})` : ""}` : "n/a"} |

## Setup

\`startStack\` (tools/stack/stack.ts) runs redis-server, the Upstash REST bridge, the engine emulator and
\`wrangler dev --local\`, all on 127.0.0.1 with free ports. The emulator runs inside the benchmark's own Node
process, next to the load-generating clients, so a frame's send time (client, \`performance.now()\` right
before \`ws.send\`) and its arrival time at the engine (the emulator's \`onFrameArrival\` hook, the same clock)
need no clock sync. \`wrangler dev\` runs two workerd processes: **entry** (wrangler's proxy worker, which owns
the public port and forwards every request and WebSocket message) and **worker** (the Worker and its Durable
Objects); figures for "workerd" cover both unless a column says otherwise. The stack runs from a copy of the
working tree taken when the benchmark starts (\`bench/snapshot.ts\`): \`wrangler dev\` restarts the worker
whenever a source file changes, which would drop every session of a measurement if the tree is edited while
the benchmark runs. "Other load" columns give the share of the machine's CPU capacity used by processes that
are not part of the benchmark (/proc/stat busy time minus the benchmark's process groups) during that
measurement: this machine is shared, and figures taken while it was busy are noisier. Audio: ${AUDIO_DESCRIPTION},
with ±2 LSB deterministic dither so every stretch of the stream is unique (see section 1).
`);

  /* ---------------------------------- 1 ---------------------------------- */
  out.push(`## 1. Relay overhead (client → engine, one way)

**How measured.** N clients each send one 20 ms frame (640 bytes of 16 kHz s16le) every 20 ms: a first
frame alone (held until it reached the engine, i.e. until the engine link was open), ${r.settings.warmupSeconds} s of warm-up, then
${r.settings.relaySeconds} s of measured frames. Session starts are spread over 1 s (golden-ratio offsets, so sends are spread over
the 20 ms period as independent clients' would be). First N clients connect straight to the
emulator's \`/v1/realtime\` (with their own \`session_id\`), then N clients go through the service
(\`ws://…/v1/audio/transcriptions/stream\` → gateway → session Durable Object → engine link → emulator, which
sees the service's \`session_id=sess_…\`). A frame's latency is the time from its send to the first moment the
engine has its last byte. Frames are matched per session by their place in the stream: by order while the
engine's input continues where it left off, and by content (the dithered audio is unique) when it jumps, which
happens when the service's engine link reconnects and re-sends unfinalized audio. The first frame and the
warm-up are excluded.
"Added" is service minus direct, percentile by percentile. "Live" frames are those the engine received as
their own relayed frame; the others reached it inside a re-sent backlog after an engine-link reconnect.
`);
  if (r.relay.length === 0) out.push("Not measured (the phase failed; see Errors).\n");
  else {
    out.push(
      table(
        ["Sessions", "Frames (direct / service)", "Direct p50 / p95 / p99 (ms)", "Service p50 / p95 / p99 (ms)", "Added p50 / p95 / p99 (ms)", "Service max (ms)", "Other load"],
        r.relay.map((l) => [
          l.sessions,
          `${l.direct.latency.n} / ${l.service.latency.n}`,
          p3(l.direct.latency),
          p3(l.service.latency),
          added(l.service.latency, l.direct.latency),
          fmt(l.service.latency.max),
          load(l.contention),
        ]),
      ),
    );
    out.push("\nThe same service runs, split by how frames reached the engine:\n");
    out.push(
      table(
        ["Sessions", "Engine reconnects (sessions)", "Re-sent bytes", "Lost frames", "Live frames", "Live p50 / p95 / p99 (ms)", "Added, live only, p50 / p95 / p99 (ms)", "Recorder-spool frames p50 / p99 (ms)", "Other live frames p50 / p99 (ms)"],
        r.relay.map((l) => [
          l.sessions,
          `${l.service.engineReconnects} (${l.service.sessionsWithReconnects})`,
          l.service.duplicateBytes,
          l.service.lostFrames,
          l.service.latencyLive.n,
          p3(l.service.latencyLive),
          added(l.service.latencyLive, l.direct.latency),
          `${fmt(l.service.latencySpoolFrames.p50)} / ${fmt(l.service.latencySpoolFrames.p99)}`,
          `${fmt(l.service.latencyOtherFrames.p50)} / ${fmt(l.service.latencyOtherFrames.p99)}`,
        ]),
      ),
    );
    out.push(
      '\n"Recorder-spool frames" are every 50th frame of a session: with `RECORDER_BUFFER_MS=1000` the recorder writes its buffer to SQLite while handling that frame, before relaying it.\n',
    );
    const at50 = r.relay.find((l) => l.sessions === 50);
    if (at50) {
      const a = at50.service.latency.p99 - at50.direct.latency.p99;
      const live = at50.service.latencyLive.p99 - at50.direct.latency.p99;
      out.push(
        `Target: p99 added ≤ 5 ms at 50 sessions — ${yes(a <= 5)}: ${fmt(a)} ms over all frames (${fmt(live)} ms over live frames only).\n`,
      );
    }
    if (r.relayShort.length) {
      const reconnecting = r.relay.filter((l) => l.service.engineReconnects > 0);
      out.push(`### Diagnostic: ${r.settings.relayShortSeconds} s sessions

In ${reconnecting.map((l) => `the ${l.sessions}-session run ${l.service.sessionsWithReconnects} of ${l.service.connected} service sessions`).join(", ")} had
their engine link reconnected (${reconnecting.map((l) => l.service.engineReconnects).join(", ")} reconnects; the service then re-sends unfinalized audio, and
frames sent meanwhile reach the engine late). The same measurement with ${r.settings.relayShortSeconds} s of measured frames (plus the
first frame and warm-up), to see the relay without reconnects if they only come with age:
`);
      out.push(
        table(
          ["Sessions", "Frames (direct / service)", "Engine reconnects", "Direct p50 / p95 / p99 (ms)", "Service p50 / p95 / p99 (ms)", "Added p50 / p95 / p99 (ms)", "Service max (ms)", "Spool frames p50 / p99 (ms)", "Other frames p50 / p99 (ms)", "Other load"],
          r.relayShort.map((l) => [
            l.sessions,
            `${l.direct.latency.n} / ${l.service.latency.n}`,
            l.service.engineReconnects,
            p3(l.direct.latency),
            p3(l.service.latency),
            added(l.service.latency, l.direct.latency),
            fmt(l.service.latency.max),
            `${fmt(l.service.latencySpoolFrames.p50)} / ${fmt(l.service.latencySpoolFrames.p99)}`,
            `${fmt(l.service.latencyOtherFrames.p50)} / ${fmt(l.service.latencyOtherFrames.p99)}`,
            load(l.contention),
          ]),
        ),
      );
      out.push("");
    }
    const warn = r.relay.flatMap((l) => l.service.warningSamples).filter((w, i, all) => all.indexOf(w) === i);
    if (warn.length) out.push(`Warnings the service sent its clients during these runs: ${warn.map((w) => `\`${w}\``).join("; ")}.\n`);
  }

  /* ---------------------------------- 2 ---------------------------------- */
  out.push(`## 2. Concurrency

**How measured.** Steps of N real-time sessions (same clients and audio as section 1): first N direct clients
for ${r.settings.rampDirectSeconds} s as the baseline, then N service sessions for ${r.settings.rampServiceSeconds} s (each after the first frame and
${r.settings.warmupSeconds} s of warm-up), each ended with \`end\` and checked after \`session.end\`. A step passes when
every session connected, got \`session.end\` and no error, every frame sent reached the engine (per session,
by stream position), and the p99 added latency (service p99 − direct p99) is ≤ 20 ms. When the engine link
reconnects the engine receives some audio twice, so "received / sent" is shown as its own column, and the
p99 criterion is judged both over all frames (the criterion as specified) and over live-relayed frames only. A step that fails on live frames is run once more (the machine is shared); the ramp stops when both
attempts fail, when the load generator cannot keep pace, or when its time budget is used.
`);
  if (r.ramp.steps.length === 0) out.push("Not measured (the phase failed; see Errors).\n");
  else {
    out.push(
      table(
        ["Sessions (attempt)", "Frames sent", "Lost frames", "Engine bytes received / sent", "Engine reconnects", "Errors", "session.end", "Direct p99 (ms)", "Service p99 all / live (ms)", "Added p99 all / live (ms)", "Sender lag p99 (ms)", "Other load", "Result all / live"],
        r.ramp.steps.map((s) => [
          `${s.sessions} (${s.attempt})`,
          s.service.framesSent,
          s.service.lostFrames,
          `${s.service.bytesReceived} / ${s.service.bytesSent}`,
          s.service.engineReconnects,
          s.service.errors,
          `${s.service.sessionEnds}/${s.service.connected}`,
          fmt(s.direct.latency.p99),
          `${fmt(s.service.latency.p99)} / ${fmt(s.service.latencyLive.p99)}`,
          `${fmt(s.addedP99All)} / ${fmt(s.addedP99Live)}`,
          fmt(s.service.lag.p99),
          load(s.contention),
          `${s.passAll ? "pass" : "fail"} / ${s.passLive ? "pass" : "fail"}`,
        ]),
      ),
    );
    out.push(`
Largest passing count: **${r.ramp.maxAll ?? "none of the steps"}** with the criterion over all frames;
**${r.ramp.maxLive ?? "none of the steps"}** over live-relayed frames only. The ramp stopped because ${r.ramp.stoppedBecause}.
`);
    const failed = r.ramp.steps.filter((s) => s.reasons.length);
    if (failed.length) out.push(failed.map((s) => `- ${s.sessions} sessions (attempt ${s.attempt}): ${s.reasons.join("; ")}`).join("\n") + "\n");
  }

  /* ---------------------------------- 3 ---------------------------------- */
  out.push(`## 3. Per-session cost

**How measured.** \`wrangler dev\` is restarted first (a fresh workerd), one short session warms it up, and
idle RSS is the median of three \`VmRSS\` readings (/proc/<pid>/status) 1 s apart. Then N real-time service
sessions run (as in section 1). Over the window in which all N are past their warm-up and none has finished,
CPU time is utime + stime from /proc/<pid>/stat (clock ticks of 1/${r.clkTck} s) of each workerd process
(found as the processes named \`workerd\` in the process group of the \`wrangler dev\` started on the stack's
port), and RSS is sampled every second (median reported). CPU per audio minute = workerd CPU-seconds ÷ (N ×
window length ÷ 60). Memory per session = (RSS with N open − idle RSS) ÷ N, summed over both processes.
`);
  if (r.cost.length === 0) out.push("Not measured (the phase failed; see Errors).\n");
  else {
    out.push(
      table(
        ["Sessions", "Window (s)", "Audio (min)", "workerd CPU-s entry / worker / total", "CPU-s per audio minute", "CPU per session (% of a core)", "RSS idle → open, entry (MiB)", "RSS idle → open, worker (MiB)", "RSS per session (MiB)", "Lost frames"],
        r.cost.map((c) => {
          const total = c.processes.reduce((a, p) => a + p.cpuS, 0);
          const byRole = (role: string) => c.processes.filter((p) => p.role === role);
          const cpuOf = (role: string) => fmt(byRole(role).reduce((a, p) => a + p.cpuS, 0));
          const rssOf = (role: string) => {
            const ps = byRole(role);
            return `${MiB(ps.reduce((a, p) => a + p.rssIdleKb, 0))} → ${MiB(ps.reduce((a, p) => a + p.rssOpenKb, 0))}`;
          };
          const perSession = c.processes.reduce((a, p) => a + (p.rssOpenKb - p.rssIdleKb), 0) / c.sessions;
          return [
            c.sessions,
            fmt(c.windowSeconds, 1),
            fmt(c.audioMinutes, 1),
            `${cpuOf("entry")} / ${cpuOf("worker")} / ${fmt(total)}`,
            fmt(total / c.audioMinutes, 3),
            fmt((total / c.windowSeconds / c.sessions) * 100, 2),
            rssOf("entry"),
            rssOf("worker"),
            fmt(perSession / 1024, 2),
            c.lostFrames,
          ];
        }),
      ),
    );
    out.push(
      `\nFor scale: the benchmark's own Node process (clients + emulator) used ${r.cost.map((c) => `${fmt(c.nodeCpuS)} CPU-s at ${c.sessions} sessions`).join(", ")} over the same windows.\n`,
    );
  }

  /* ---------------------------------- 4 ---------------------------------- */
  out.push(`## 4. Recording

**How measured.** After a restart of \`wrangler dev\` and one 30 s warm-up session, each session sends its first
32 KB frame alone and waits until the engine has it (the engine link is open; streaming flat out into a link
that is still connecting would overflow its 60 s queue and end live text for the session), then streams the
rest in 32 KB frames as fast as the socket drains (at most 32 frames handed to the socket and not yet written).
\`{"type":"end"}\` is sent as soon as the last frame has been written to the socket, as a client streaming a file
would, and \`end\`→\`session.end\` is the time from sending it to receiving \`session.end\` (meanwhile the service
takes in whatever audio is still in flight, lets the engine finish, completes the R2 multipart upload and writes
the live transcript and the store record). Ingest throughput = audio streamed after the first frame ÷ (its first
send → the engine has received its last byte). RSS is workerd's \`VmRSS\` (both processes summed)
right before the 60-minute session, right after its \`session.end\`, and 5 s later; the peak is the largest
reading of 4 per second while it ran; a second, identical 60-minute session follows to tell memory the
process keeps per session from memory it only reuses. Local R2, Queues and Durable Object storage are
Miniflare simulations served by the same workerd processes, so their memory is part of these figures. Bytes
recorded are the session record's \`bytes_recorded\`.
`);
  if (!r.recording) out.push("Not measured (the phase failed; see Errors).\n");
  else {
    const rec = r.recording;
    const row = (label: string, f: Fast) => {
      const streamed = (f.bytesSent - f.frameBytes) / 32000;
      return [
        label,
        fmt(f.audioSeconds / 60, 1),
        f.frames,
        fmt(f.clientWrittenS, 2),
        fmt(f.engineReceivedS, 2),
        fmt(streamed / f.engineReceivedS, 1),
        fmt(f.endToSessionEndMs, 0),
        fmt(f.engineAllAfterEndMs, 0),
        f.gotSessionEnd ? "yes" : "**no**",
        `${f.engineFramesMissing} / ${f.engineReconnects}`,
        f.bytesRecorded === null ? "n/a" : `${f.bytesRecorded}${f.bytesRecorded === f.bytesSent ? " (= sent)" : ` (**sent ${f.bytesSent}**)`}`,
        f.errors ? `${f.errors}: ${f.errorSamples.join("; ").slice(0, 160)}` : "0",
      ];
    };
    out.push(
      table(
        ["Session", "Audio (min)", "Frames", "Client write (s)", "Engine has all (s)", "Throughput (audio-s per s)", "end→session.end (ms)", "Engine had all audio, ms after end", "session.end", "Engine missing frames / reconnects", "Bytes recorded", "Errors"],
        [row("ingest", rec.ingest), ...rec.oneMinute.map((o, i) => row(`1 min #${i + 1}`, o)), row("60 min", rec.sixty), row("60 min, again", rec.second), row(`60 min, end ${fmt(rec.paused.pauseBeforeEndMs / 1000, 0)} s after the last write`, rec.paused)],
      ),
    );
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const before = sum(rec.rssBeforeKb);
    const afterEnd = sum(rec.rssAfterEndKb);
    const settle = sum(rec.rssAfterSettleKb);
    const peak = sum(rec.sixty.peakRssKb);
    const growth = afterEnd - before;
    const w = rec.pids.findIndex((p) => p.role === "worker");
    out.push("\nworkerd RSS around the 60-minute session (entry + worker):\n");
    out.push(
      table(
        ["Before (MiB)", "Peak while streaming/ending (MiB)", "After session.end (MiB)", "5 s later (MiB)", "Growth, after end − before (MiB)", "After a second 60-minute session (MiB)"],
        [[MiB(before), MiB(peak), MiB(afterEnd), MiB(settle), MiB(growth), MiB(sum(rec.rssAfterSecondKb))]],
      ),
    );
    const memRow = (label: string, ms: MemKb[]) => [
      label,
      ...rec.pids.map((p, i) => `${MiB(ms[i]!.rss)} = ${MiB(ms[i]!.anon)} + ${MiB(ms[i]!.file)} + ${MiB(ms[i]!.shmem)}`),
    ];
    out.push("\nThe same readings split as VmRSS = RssAnon (heaps) + RssFile (mapped files) + RssShmem (shared memory), MiB:\n");
    out.push(
      table(
        ["When", ...rec.pids.map((p) => `${p.role} (pid ${p.pid})`)],
        [memRow("before the 60-minute session", rec.mem.before), memRow("after its session.end", rec.mem.afterEnd), memRow("after the second 60-minute session", rec.mem.afterSecond)],
      ),
    );
    out.push(`
Per process before → after end: ${rec.pids.map((p, i) => `${p.role} ${MiB(rec.rssBeforeKb[i]!)} → ${MiB(rec.rssAfterEndKb[i]!)} MiB`).join(", ")}.

A second, identical 60-minute session moved the total from ${MiB(afterEnd)} to ${MiB(sum(rec.rssAfterSecondKb))} MiB
(${MiB(sum(rec.rssAfterSecondKb) - afterEnd)} MiB); RssAnon of the worker process went ${MiB(rec.mem.before[w]?.anon ?? NaN)} → ${MiB(rec.mem.afterEnd[w]?.anon ?? NaN)} → ${MiB(rec.mem.afterSecond[w]?.anon ?? NaN)} MiB.
With \`end\` sent ${fmt(rec.paused.pauseBeforeEndMs / 1000, 0)} s after the last write, \`end\`→\`session.end\` of the 60-minute session was ${fmt(rec.paused.endToSessionEndMs, 0)} ms
(against ${fmt(rec.sixty.endToSessionEndMs, 0)} and ${fmt(rec.second.endToSessionEndMs, 0)} ms with \`end\` right after it).

Targets: RSS growth < 10 MB over the 60-minute session — ${yes(growth * 1024 < 10e6)} (${fmt((growth * 1024) / 1e6, 1)} MB);
\`end\`→\`session.end\` < 500 ms — 1 minute: ${yes(rec.oneMinute.every((o) => o.endToSessionEndMs < 500))} (${rec.oneMinute.map((o) => fmt(o.endToSessionEndMs, 0)).join(", ")} ms),
60 minutes: ${yes(rec.sixty.endToSessionEndMs < 500)} (${fmt(rec.sixty.endToSessionEndMs, 0)} ms).
`);
  }

  /* ---------------------------------- 5 ---------------------------------- */
  out.push(`## 5. Enhancement pipeline

**How measured.** A session with \`enhance_on_end=true\` streams 1, 10 and 60 minutes of the audio above as in
section 4; the job id comes from \`session.end\`, and \`GET /v1/audio/transcriptions/{job_id}\` is polled every
200 ms until \`completed\` or \`failed\`. The time is \`session.end\` → the first poll that saw \`completed\`
(so up to 200 ms late). "Queued" and "run" come from the job's own \`created_at\`/\`started_at\`/\`completed_at\`.
The batch engine and LLM are the emulator's (section 3 of DESIGN.md), so this measures the service's pipeline
plumbing (R2 reads, uploads to the engine, stages, result writes), not a real speech model.
`);
  const pipe = r.pipeline;
  if (!pipe || pipe.jobs.length === 0) out.push(`Not measured: ${pipe?.note || "the phase failed (see Errors)"}.\n`);
  else if (!pipe.available) {
    out.push(`Not measured: pipeline not available in this build (${pipe.jobs.map((j) => `${j.audioMinutes} min: ${j.finalStatus}${j.error ? ` — ${j.error}` : ""}`).join("; ")}). ${pipe.note}\n`);
  } else {
    out.push(
      table(
        ["Audio (min)", "Status", "session.end → completed (s)", "Queued (s)", "Run (s)", "Last stage", "Error"],
        pipe.jobs.map((j) => [
          fmt(j.audioMinutes, 0),
          j.finalStatus,
          j.endToCompletedS === null ? "n/a" : fmt(j.endToCompletedS, 2),
          fmt(j.queuedS, 2),
          fmt(j.runS, 2),
          j.finalStage ?? "n/a",
          j.error ?? "",
        ]),
      ),
    );
    if (pipe.note) out.push(`\n${pipe.note}\n`);
  }

  /* ---------------------------------- 6 ---------------------------------- */
  out.push(renderConcurrentEnds(r.concurrentEnds));

  /* ---------------------------------- 7 ---------------------------------- */
  out.push(renderResume(r.resume));

  /* ---------------------------------- 8 ---------------------------------- */
  out.push(renderLocalEngine(r.localEngine));

  /* -------------------------------- notes -------------------------------- */
  if (r.notes.length || r.errors.length) {
    out.push("## Notes and errors\n");
    for (const n of r.notes) out.push(`- ${n}`);
    for (const e of r.errors) out.push(`- Phase "${e.phase}" failed: ${e.message}`);
    out.push("");
  }
  return out.join("\n") + "\n";
}

export const CONCURRENT_END_P99_TARGET_MS = 500;

function renderConcurrentEnds(runs: ConcurrentEndResult[]): string {
  const out = [
    `## 6. Concurrent ends

**How measured.** N sessions with \`enhance_on_end=true\` open together and stream the audio above at real-time
pace from one clock (100 ms frames), then all send \`end\` in the same moment (spread below). The figure is
\`end\` sent → \`session.end\` received, per session, as the client sees it. Warnings are counted: nothing fails
in this run, so any \`enhancement_deferred\` is spurious. Then every job is polled until it completes. The single
session, in the same run, is the baseline; so are the same sessions opened straight to the engine emulator
(\`direct\`: what the engine and the load generator take by themselves, with no worker in between).
`,
  ];
  if (runs.length === 0) return `${out[0]}\nNot measured (see Errors).\n`;
  out.push(
    table(
      ["Target", "Sessions", "Audio (s)", "end spread (ms)", "p50 (ms)", "p95 (ms)", "p99 (ms)", "max (ms)", "p99 / baseline p99", "No session.end", "Warnings", "Errors", "Jobs completed", "Last job done after (s)"],
      runs.map((c) => [
        c.target,
        String(c.sessions),
        fmt(c.audioSeconds, 1),
        fmt(c.endSpreadMs, 1),
        fmt(c.endToSessionEnd.p50, 1),
        fmt(c.endToSessionEnd.p95, 1),
        fmt(c.endToSessionEnd.p99, 1),
        fmt(c.endToSessionEnd.max, 1),
        fmt(c.endToSessionEnd.p99 / runs[0]!.endToSessionEnd.p99, 1),
        String(c.missingEnds),
        `${c.warnings}${c.warningSamples.length ? ` (${c.warningSamples[0]})` : ""}`,
        String(c.errors),
        c.target === "direct" ? "—" : `${c.jobs.completed}/${c.jobs.total}${c.jobs.failed ? `, ${c.jobs.failed} failed` : ""}`,
        fmt(c.jobs.lastCompletedS, 1),
      ]),
    ),
  );
  const many = runs.filter((c) => c.target === "service").pop()!;
  out.push(
    `\nTarget: p99 \`end\`→\`session.end\` ≤ ${CONCURRENT_END_P99_TARGET_MS} ms with ${many.sessions} sessions ending together, no spurious warning — ${yes(
      many.endToSessionEnd.p99 <= CONCURRENT_END_P99_TARGET_MS && many.warnings === 0 && many.missingEnds === 0,
    )} (${fmt(many.endToSessionEnd.p99, 0)} ms, ${many.warnings} warnings).\n`,
  );
  return out.join("\n");
}

function renderResume(rs: ResumeResult | null): string {
  const head = `## 7. Resume after a dropped connection

**How measured.** One session at a time streams a turn and 70 % of the next (as fast as the socket
takes it), waits for the first final, then its TCP connection is destroyed (no close frame). The
client reconnects at once to \`…/stream/{session_id}/resume\` with its \`resume_token\` and, after
\`session.resumed\`, sends the rest from \`bytes_received\`. Times from the reconnect's start.
`;
  if (!rs) return `${head}\nNot measured (see Errors).\n`;
  return `${head}\n${table(
    ["Drops", "Failed", "→ session.resumed p50 (ms)", "p99 (ms)", "→ next final p50 (ms)", "p99 (ms)"],
    [[String(rs.drops), String(rs.failed), fmt(rs.toResumed.p50, 1), fmt(rs.toResumed.p99, 1), fmt(rs.toNextFinal.p50, 1), fmt(rs.toNextFinal.p99, 1)]],
  )}${rs.failures.length ? `\n\nFailures: ${rs.failures.join("; ")}` : ""}\n`;
}

/**
 * One phase run on its own (\`npm run bench -- --only <phase>\`), as a block of
 * BENCHMARKS.md with its own date, machine and load: it replaces the block of
 * an earlier targeted run of the same phase and leaves the full run's figures
 * as they are.
 */
export function renderTargeted(r: BenchResults, phase: string): string | null {
  const sections: Record<string, () => string> = {
    "concurrent-ends": () => renderConcurrentEnds(r.concurrentEnds),
    resume: () => renderResume(r.resume),
    "local-engine": () => renderLocalEngine(r.localEngine),
  };
  const section = sections[phase]?.() ?? null;
  if (section === null) return null;
  const m = r.machine;
  const load = r.contention ? `${fmt(r.contention.otherShare * 100, 0)} % of the machine's capacity used by other processes` : "n/a";
  return [
    `<!-- targeted:${phase} -->`,
    `> Targeted run: \`npm run bench -- --only ${phase}\`, ${r.date}, ${m.nproc} CPUs ${m.cpuModel}, HEAD \`${r.revision.slice(0, 12)}\` (+${r.dirtyPaths} uncommitted), other load: ${load}. The rest of this file is from the full run above.`,
    "",
    section.replace(/^## (\d+)\./m, "## $1 (targeted run)."),
    `<!-- /targeted:${phase} -->`,
  ].join("\n");
}

/** BENCHMARKS.md with the targeted block for `phase` put in (replacing an earlier one). */
export function withTargeted(current: string, phase: string, block: string): string {
  const pattern = new RegExp(`<!-- targeted:${phase} -->[\\s\\S]*?<!-- /targeted:${phase} -->\\n?`);
  const kept = current.replace(pattern, "");
  return `${kept.trimEnd()}\n\n${block}\n`;
}
