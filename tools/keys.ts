/**
 * `npm run keys -- create --name <name> [--scopes realtime,jobs:read] [--webhook-url <url>]`,
 * `npm run keys -- list`, `npm run keys -- revoke <key_id>`,
 * `npm run keys -- rotate-webhook-secret <key_id>`, `npm run keys -- set-webhook-url <key_id> [<url>]`.
 *
 * Talks to the Redis named by UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN:
 * a deployment's Upstash database, or (by default) the local dev bridge.
 */
import { parseArgs } from "node:util";
import { Redis } from "@upstash/redis/cloudflare";
import { checkWebhookUrl, WebhookUrlError } from "../src/delivery/webhook-url";
import { AuthStore, SCOPES, type Scope } from "../src/store/auth";

const USAGE = `usage:
  npm run keys -- create --name <name> [--scopes ${SCOPES.join(",")}] [--webhook-url <https url>]
  npm run keys -- list
  npm run keys -- revoke <key_id>
  npm run keys -- rotate-webhook-secret <key_id>
  npm run keys -- set-webhook-url <key_id> [<https url>]     (no url: clear it)

Each key gets a webhook signing secret (whsec_…), shown once at creation and on rotation.
--allow-local-url accepts http:// and loopback/private hosts (local development only).

Redis: UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN (default: the local dev bridge of \`npm run dev\`).
Default scopes: realtime,jobs:read,jobs:write.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: "string" },
    scopes: { type: "string", default: "realtime,jobs:read,jobs:write" },
    json: { type: "boolean", default: false },
    "webhook-url": { type: "string" },
    "allow-local-url": { type: "boolean", default: false },
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
      const webhookUrl = values["webhook-url"] === undefined ? null : webhookUrlArg(values["webhook-url"]);
      const { secret, webhookSecret, record } = await store.createKey(values.name, scopes as Scope[], webhookUrl);
      if (values.json) console.log(JSON.stringify({ ...record, key: secret, webhook_secret: webhookSecret, webhook_url: webhookUrl }));
      else {
        console.log(`created ${record.id} (${record.name}) with scopes ${record.scopes.join(", ")}`);
        console.log(`key: ${secret}`);
        console.log("Store it now: only its SHA-256 hash is kept, it cannot be shown again.");
        console.log(`webhook signing secret: ${webhookSecret}`);
        console.log(`Verify webhooks with it (Standard Webhooks). It is not shown again; rotate with \`npm run keys -- rotate-webhook-secret ${record.id}\`.`);
        if (webhookUrl) console.log(`default webhook URL: ${webhookUrl}`);
      }
      break;
    }
    case "rotate-webhook-secret": {
      const id = rest[0];
      if (!id) fail("rotate-webhook-secret needs a key id (see `list`)");
      const webhookSecret = await store.rotateWebhookSecret(id);
      if (!webhookSecret) fail(`no key ${id}`);
      if (values.json) console.log(JSON.stringify({ id, webhook_secret: webhookSecret }));
      else {
        console.log(`new webhook signing secret for ${id}: ${webhookSecret}`);
        console.log("Events signed from now on use it; the old one no longer verifies new events. It is not shown again.");
      }
      break;
    }
    case "set-webhook-url": {
      const id = rest[0];
      if (!id) fail("set-webhook-url needs a key id (see `list`)");
      const url = rest[1] === undefined ? null : webhookUrlArg(rest[1]);
      if (!(await store.setWebhookUrl(id, url))) fail(`no key ${id}`);
      console.log(url ? `webhooks of ${id} go to ${url} by default` : `${id} has no default webhook URL`);
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

/** The URL rules of the service (README "Webhooks"); exits with the reason when one is broken. */
function webhookUrlArg(raw: string): string {
  try {
    return checkWebhookUrl(raw, values["allow-local-url"]).href;
  } catch (err) {
    if (err instanceof WebhookUrlError) fail(`webhook URL ${raw}: ${err.message}`);
    throw err;
  }
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
