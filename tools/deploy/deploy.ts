/**
 * `npm run deploy [-- --check]`: check that the configuration is complete
 * (wrangler.toml vars, secrets on the Worker, bindings), say what is missing
 * with the command that fixes it, then run `wrangler deploy`.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { deployProblems } from "./check";

const { values } = parseArgs({ options: { check: { type: "boolean", default: false }, env: { type: "string" } } });
const root = path.resolve(import.meta.dirname, "../..");
const config = unstable_readConfig({ config: path.join(root, "wrangler.toml"), env: values.env });
const vars = Object.fromEntries(Object.entries(config.vars ?? {}).map(([k, v]) => [k, String(v)]));

const wrangler = path.join(root, "node_modules/wrangler/bin/wrangler.js");
const listed = spawnSync(process.execPath, [wrangler, "secret", "list", "--format", "json", ...(values.env ? ["--env", values.env] : [])], {
  cwd: root,
  encoding: "utf8",
});
let secrets: string[] | null = null;
if (listed.status === 0) {
  try {
    secrets = (JSON.parse(listed.stdout) as { name: string }[]).map((s) => s.name);
  } catch {
    secrets = null;
  }
}

// wrangler's config types are loose here; name the two shapes we read.
const buckets = (config.r2_buckets as { bucket_name?: string }[]).map((b) => b.bucket_name ?? "");
const queues = ((config.queues.producers ?? []) as { queue: string }[]).map((q) => q.queue);
const problems = deployProblems({ vars, secrets, r2Buckets: buckets, queues });

console.log(`Deploying "${config.name}" — configuration check`);
console.log(`  realtime ${vars.REALTIME_ENGINE}, batch ${vars.BATCH_ENGINE}, llm ${vars.LLM_ENGINE}, auth ${vars.AUTH_MODE}`);
console.log(`  R2 bucket ${buckets.join(", ")}; queues ${queues.join(", ")} (create them once: see README "Deploying")`);
if (secrets === null) {
  console.log("  secrets: could not be listed (not logged in, or the Worker does not exist yet) — run `npx wrangler login`; the first deploy creates the Worker, then set the secrets");
}
if (problems.length > 0) {
  console.log("\nMissing or wrong:");
  for (const p of problems) console.log(`  ✗ ${p.what}\n      fix: ${p.fix}`);
  process.exit(1);
}
console.log("  ✓ configuration complete");
if (values.check) process.exit(0);
const deployed = spawnSync(process.execPath, [wrangler, "deploy", ...(values.env ? ["--env", values.env] : [])], { cwd: root, stdio: "inherit" });
process.exit(deployed.status ?? 1);
