import { findFreePort } from "../tools/stack/redis";
import { takeSnapshot } from "./snapshot";
import { ArrivalTracker } from "./tracker";
import { runPaced } from "./paced";
import { speechLike } from "./audio";
import { findWorkerd, cpuTicks, rssKb, contentionMark, contentionBetween, ownPgid } from "./sys";
const log = (l: string) => process.stderr.write(l + "\n");
const snap = await takeSnapshot();
const audio = speechLike(60, { dither: true });
const f = (x: number) => x.toFixed(2);
for (const buf of (process.argv[2] ?? "1000").split(",")) {
  const port = await findFreePort();
  const stack = await snap.startStack({ port, redisPort: 0, bridgePort: 0, emulatorPort: 0, vars: { MAX_SESSION_SECONDS: "100000", AUTH_MODE: "off", RECORDER_BUFFER_MS: buf }, log: (l) => { if (/error|fail/i.test(l) && !l.startsWith("[redis]")) log(l); } });
  try {
    const tracker = new ArrivalTracker();
    stack.emulator.setFrameArrivalHook(tracker.hook);
    const procs = findWorkerd(port);
    const N = Number(process.argv[3] ?? 50), F = Number(process.argv[4] ?? 500);
    for (const target of (process.argv[5] ?? "direct,service").split(",") as ("direct"|"service")[]) {
      const m0 = contentionMark(new Set([ownPgid(), procs.wranglerPid]));
      const buckets = new Map<number, {n:number,max:number,sum:number}>();
      let tFirst = Infinity;
      const onFrame = (t: number, ms: number) => { tFirst = Math.min(tFirst, t); const b = Math.floor(t / 500); const e = buckets.get(b) ?? {n:0,max:0,sum:0}; e.n++; e.max = Math.max(e.max, ms); e.sum += ms; buckets.set(b, e); };
      const c0 = procs.workerd.map((p) => cpuTicks(p.pid));
      const r = await runPaced({ target, sessions: N, frames: F, warmupFrames: 25, audio, serviceWsBase: stack.wsUrl, emulatorWsUrl: stack.emulator.wsUrl, emulatorStats: () => stack.emulator.stats(), tracker, label: `t${N}`, log, onFrame });
      const c1 = procs.workerd.map((p) => cpuTicks(p.pid));
      const s = (x: any) => `n=${x.n} p50=${f(x.p50)} p95=${f(x.p95)} p99=${f(x.p99)} max=${f(x.max)}`;
      const { latency, latencyLive, latencySpoolFrames, latencyOtherFrames, lag, ...rest } = r;
      console.log(`buf=${buf} ${target} N=${N} all: ${s(latency)}\n   live: ${s(latencyLive)}\n   spool: ${s(latencySpoolFrames)}\n   other: ${s(latencyOtherFrames)}\n   lag ${s(lag)}\n   cpu=${c1.map((v, i) => v - c0[i]!)} rss=${procs.workerd.map((p) => rssKb(p.pid))}\n   ${JSON.stringify(rest)}`);
      console.log("   contention", JSON.stringify(contentionBetween(m0, contentionMark(new Set([ownPgid(), procs.wranglerPid])))));
      if (target === "service") console.log("   series(500ms buckets max/mean):", [...buckets.entries()].sort((a,b)=>a[0]-b[0]).map(([k,e]) => `${((k*500 - tFirst)/1000).toFixed(1)}:${e.max.toFixed(0)}/${(e.sum/e.n).toFixed(1)}`).join(" "));
    }
  } finally { await stack.stop(); }
}
snap.remove();
process.exit(0);
