/**
 * Machine facts and /proc readings for the benchmark: workerd's pids, CPU
 * ticks, RSS, and how busy the rest of the machine was meanwhile.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalMiB: number;
  kernel: string;
  node: string;
  wrangler: string;
  workerd: string;
}

function tryExec(file: string, args: string[]): string | null {
  try {
    return execFileSync(file, args, { stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).toString().trim();
  } catch {
    return null;
  }
}

export function clockTicksPerSecond(): number {
  const v = Number(tryExec("getconf", ["CLK_TCK"]));
  return Number.isFinite(v) && v > 0 ? v : 100;
}

export const CLK_TCK = clockTicksPerSecond();

export function machineInfo(workerdExe?: string): MachineInfo {
  const nproc = Number(tryExec("nproc", [])) || os.availableParallelism();
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const wrangler = (JSON.parse(readFileSync(path.join(ROOT, "node_modules/wrangler/package.json"), "utf8")) as { version: string }).version;
  let workerdPkg = "unknown";
  try {
    workerdPkg = (JSON.parse(readFileSync(path.join(ROOT, "node_modules/workerd/package.json"), "utf8")) as { version: string }).version;
  } catch {
    // Not installed at the top level.
  }
  const exe = workerdExe ?? path.join(ROOT, "node_modules/@cloudflare/workerd-linux-64/bin/workerd");
  const workerdBin = tryExec(exe, ["--version"]) ?? "unknown";
  return {
    nproc,
    cpuModel,
    memTotalMiB: Math.round(memKb / 1024),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    wrangler,
    workerd: `${workerdBin} (npm workerd ${workerdPkg})`,
  };
}

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  pgid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < 0) return null;
  const rest = text.slice(close + 2).split(" ");
  // rest[0] = state (field 3), so field n is rest[n - 3].
  return {
    pid,
    comm: text.slice(open + 1, close),
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    ticks: Number(rest[11]) + Number(rest[12]),
  };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

function allPids(): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

export interface WorkerdProcess {
  pid: number;
  /** "entry" serves the public port (wrangler's proxy worker); "worker" runs the Worker and its Durable Objects. */
  role: "entry" | "worker";
  exe: string;
}

export interface WranglerProcesses {
  wranglerPid: number;
  workerd: WorkerdProcess[];
}

/**
 * The `wrangler dev` started by startStack on `port` runs in its own process
 * group (pgid = its pid); workerd processes are the ones of that group named
 * `workerd`.
 */
export function findWorkerd(port: number): WranglerProcesses {
  let wranglerPid = -1;
  for (const pid of allPids()) {
    const cmd = cmdline(pid);
    if (!/wrangler\.js dev /.test(cmd) || !cmd.includes(`--port ${port} `)) continue;
    const st = readStat(pid);
    if (st && st.pgid === pid) {
      wranglerPid = pid;
      break;
    }
  }
  if (wranglerPid < 0) throw new Error(`no wrangler dev process group for port ${port}`);
  const workerd: WorkerdProcess[] = [];
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (!st || st.pgid !== wranglerPid || st.comm !== "workerd") continue;
    let exe = "";
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      // Gone meanwhile.
    }
    workerd.push({ pid, role: cmdline(pid).includes(`entry=127.0.0.1:${port} `) ? "entry" : "worker", exe });
  }
  if (workerd.length === 0) throw new Error(`no workerd in process group ${wranglerPid}`);
  workerd.sort((a, b) => (a.role === b.role ? a.pid - b.pid : a.role === "entry" ? -1 : 1));
  return { wranglerPid, workerd };
}

export function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** VmRSS split into anonymous memory (heaps), file-backed pages (mapped files) and shared memory, in kB. */
export interface MemKb {
  rss: number;
  anon: number;
  file: number;
  shmem: number;
}

export function memKb(pid: number): MemKb {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
    return { rss: field("VmRSS"), anon: field("RssAnon"), file: field("RssFile"), shmem: field("RssShmem") };
  } catch {
    return { rss: NaN, anon: NaN, file: NaN, shmem: NaN };
  }
}

export function cpuTicks(pid: number): number {
  return readStat(pid)?.ticks ?? NaN;
}

/** Busy and total ticks of all CPUs since boot (/proc/stat). */
export function systemTicks(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** Ticks used by every live process in these process groups. */
export function groupTicks(pgids: Set<number>): number {
  let sum = 0;
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (st && pgids.has(st.pgid)) sum += st.ticks;
  }
  return sum;
}

export function ownPgid(): number {
  return readStat(process.pid)?.pgid ?? process.pid;
}

/**
 * Snapshot for "how much CPU did processes other than the benchmark's use":
 * machine busy ticks minus the ticks of the benchmark's process groups (this
 * process, its children such as redis, and wrangler/workerd).
 */
export interface ContentionMark {
  at: number;
  busy: number;
  total: number;
  mine: number;
  /** Ticks of every process outside the benchmark's groups, by pid. */
  others: Map<number, { ticks: number; comm: string }>;
}

export function contentionMark(pgids: Set<number>): ContentionMark {
  const { busy, total } = systemTicks();
  let mine = 0;
  const others = new Map<number, { ticks: number; comm: string }>();
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (!st) continue;
    if (pgids.has(st.pgid)) mine += st.ticks;
    else others.set(pid, { ticks: st.ticks, comm: st.comm });
  }
  return { at: performance.now(), busy, total, mine, others };
}

export interface Contention {
  wallSeconds: number;
  /** CPU-seconds used on the whole machine. */
  machineBusyCpuS: number;
  /** CPU-seconds used by the benchmark's own processes. */
  benchCpuS: number;
  /** CPU-seconds used by everything else (other users of the machine). */
  otherCpuS: number;
  /** otherCpuS as a share of the machine's capacity over the interval (0..1). */
  otherShare: number;
  /** The largest other consumers seen alive at the end ("comm: CPU-s"). */
  topOthers: string[];
}

export function contentionBetween(a: ContentionMark, b: ContentionMark): Contention {
  const busy = (b.busy - a.busy) / CLK_TCK;
  const capacity = (b.total - a.total) / CLK_TCK;
  const mine = (b.mine - a.mine) / CLK_TCK;
  const other = Math.max(0, busy - mine);
  const byComm = new Map<string, number>();
  for (const [pid, now] of b.others) {
    const d = now.ticks - (a.others.get(pid)?.ticks ?? 0);
    if (d > 0) byComm.set(now.comm, (byComm.get(now.comm) ?? 0) + d / CLK_TCK);
  }
  const topOthers = [...byComm.entries()]
    .filter(([, s]) => s >= 0.5)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 4)
    .map(([comm, s]) => `${comm}: ${s.toFixed(1)} CPU-s`);
  return {
    wallSeconds: (b.at - a.at) / 1000,
    machineBusyCpuS: busy,
    benchCpuS: mine,
    otherCpuS: other,
    otherShare: capacity > 0 ? other / capacity : 0,
    topOthers,
  };
}
