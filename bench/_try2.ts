import { findFreePort } from "../tools/stack/redis";
import { takeSnapshot } from "./snapshot";
import { ArrivalTracker } from "./tracker";
import { speechLike } from "./audio";
import { fastSession } from "./recording";
import { pipelineJob } from "./pipeline";
import { findWorkerd, rssKb } from "./sys";
const log = (l: string) => process.stderr.write(l + "\n");
const snap = await takeSnapshot();
const t = performance.now();
const big = speechLike(Number(process.argv[2] ?? 600), { dither: true });
console.log("audio gen", ((performance.now() - t) / 1000).toFixed(1), "s");
const port = await findFreePort();
const stack = await snap.startStack({ port, redisPort: 0, bridgePort: 0, emulatorPort: 0, vars: { MAX_SESSION_SECONDS: "100000", AUTH_MODE: "off" }, log: (l) => { if (/error|fail|warn/i.test(l) && !l.startsWith("[redis]")) log(l); } });
try {
  const tracker = new ArrivalTracker();
  stack.emulator.setFrameArrivalHook(tracker.hook);
  const procs = findWorkerd(port);
  const pids = procs.workerd.map((p) => p.pid);
  console.log("rss", pids.map(rssKb));
  const r = await fastSession({ serviceUrl: stack.url, wsBase: stack.wsUrl, pcm: big, frameBytes: 32768, tracker, watchPids: pids });
  const { endMessage, ...rest } = r;
  console.log(JSON.stringify(rest), "rss", pids.map(rssKb));
  const p = await pipelineJob({ serviceUrl: stack.url, wsBase: stack.wsUrl, pcm: big.subarray(0, 60 * 32000), tracker, timeoutMs: 180_000 });
  console.log(JSON.stringify(p));
} finally { await stack.stop(); snap.remove(); }
process.exit(0);
