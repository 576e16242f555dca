/**
 * `npm run keys -- create --name <name> [--scopes realtime,jobs:read]`,
 * `npm run keys -- list`, `npm run keys -- revoke <key_id>`.
 *
 * Talks to the Redis named by UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN:
 * a deployment's Upstash database, or (by default) the local dev bridge.
 */
import { parseArgs } from "node:util";
import { Redis } from "@upstash/redis/cloudflare";
import { AuthStore, SCOPES, type Scope } from "../src/store/auth";

const USAGE = `usage:
  npm run keys -- create --name <name> [--scopes ${SCOPES.join(",")}]
  npm run keys -- list
  npm run keys -- revoke <key_id>

Redis: UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN (default: the local dev bridge of \`npm run dev\`).
Default scopes: realtime,jobs:read,jobs:write.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: "string" },
    scopes: { type: "string", default: "realtime,jobs:read,jobs:write" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

const [command, ...rest] = positionals;
if (values.help || !command) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}

const url = process.env.UPSTASH_REDIS_REST_URL ?? "http://127.0.0.1:8079";
const token = process.env.UPSTASH_REDIS_REST_TOKEN ?? "local-dev-token";
const store = new AuthStore(
  new Redis({ url, token, enableTelemetry: false, automaticDeserialization: false, retry: { retries: 1 } }),
);

try {
  switch (command) {
    case "create": {
      if (!values.name) fail("create needs --name");
      const scopes = values.scopes.split(",").map((s) => s.trim()).filter(Boolean);
      const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
      if (unknown.length > 0) fail(`unknown scope(s): ${unknown.join(", ")}; known: ${SCOPES.join(", ")}`);
      const { secret, record } = await store.createKey(values.name, scopes as Scope[]);
      if (values.json) console.log(JSON.stringify({ ...record, key: secret }));
      else {
        console.log(`created ${record.id} (${record.name}) with scopes ${record.scopes.join(", ")}`);
        console.log(`key: ${secret}`);
        console.log("Store it now: only its SHA-256 hash is kept, it cannot be shown again.");
      }
      break;
    }
    case "list": {
      const keys = await store.listKeys();
      if (values.json) console.log(JSON.stringify(keys));
      else if (keys.length === 0) console.log("no keys");
      else for (const k of keys) console.log(`${k.id}  ${k.created_at}  ${k.scopes.join(",")}  ${k.name}`);
      break;
    }
    case "revoke": {
      const id = rest[0];
      if (!id) fail("revoke needs a key id (see `list`)");
      if (!(await store.revokeKey(id))) fail(`no key ${id}`);
      console.log(`revoked ${id}`);
      break;
    }
    default:
      fail(`unknown command '${command}'\n${USAGE}`);
  }
} catch (err) {
  fail(`cannot reach Redis at ${url}: ${(err as Error).message}${url.includes("127.0.0.1") ? " (is `npm run dev` running?)" : ""}`);
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
