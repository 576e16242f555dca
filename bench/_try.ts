import { startStack } from "../tools/stack/stack";
import { findFreePort } from "../tools/stack/redis";
import { ArrivalTracker } from "./tracker";
import { runPaced } from "./paced";
import { speechLike } from "./audio";
import { findWorkerd, cpuTicks, rssKb } from "./sys";
const log = (l: string) => process.stderr.write(l + "\n");
const port = await findFreePort();
const stack = await startStack({ port, redisPort: 0, bridgePort: 0, emulatorPort: 0, vars: { MAX_SESSION_SECONDS: "100000" }, log: (l) => { if (/error|fail/i.test(l) && !l.startsWith("[redis]")) log(l); } });
try {
  const tracker = new ArrivalTracker();
  stack.emulator.setFrameArrivalHook(tracker.hook);
  const audio = speechLike(60);
  const procs = findWorkerd(port);
  console.log(procs);
  for (const [n, frames] of [[1, 200], [10, 200], [50, 250], [150, 250]] as const) {
    for (const target of ["direct", "service"] as const) {
      const c0 = procs.workerd.map((p) => cpuTicks(p.pid));
      const t = performance.now();
      const r = await runPaced({ target, sessions: n, frames, warmupFrames: 25, audio, serviceWsBase: stack.wsUrl, emulatorWsUrl: stack.emulator.wsUrl, tracker, label: `t${n}`, log });
      const c1 = procs.workerd.map((p) => cpuTicks(p.pid));
      console.log(target, n, JSON.stringify({ ...r, errorSamples: r.errorSamples }), "wall", ((performance.now() - t) / 1000).toFixed(1), "cpu", c1.map((v, i) => v - c0[i]!), procs.workerd.map(p => rssKb(p.pid)));
    }
  }
} finally { await stack.stop(); }
process.exit(0);
