/**
 * `npm test`: every suite (unit, pool, e2e) in one vitest run, then the plain
 * `N passed, N failed` line CI reads. redis-server is installed on demand by
 * the suites' own setup (tools/stack/redis.ts), like `npm run dev`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const report = path.join(root, ".artifacts", "vitest-report.json");
mkdirSync(path.dirname(report), { recursive: true });

const run = spawnSync(
  process.execPath,
  [
    path.join(root, "node_modules/vitest/vitest.mjs"),
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: "inherit", env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
);

let passed = 0;
let failed = 0;
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number; numTotalTestSuites: number; success: boolean };
  passed = json.numPassedTests;
  failed = json.numFailedTests;
  if (run.status !== 0 && failed === 0) failed = 1; // a suite that could not even start counts as a failure
} else {
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
