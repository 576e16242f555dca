/** The webhook URL a request names, checked against the URL rules (README "Webhooks") as a 400 naming the field. */
import { readConfig, type AppEnv } from "../config";
import { checkWebhookUrl, WebhookUrlError } from "../delivery/webhook-url";
import { ApiError } from "./errors";

export function checkedWebhookUrl(env: AppEnv, raw: string | undefined, param: string): string | null {
  if (raw === undefined) return null;
  try {
    return checkWebhookUrl(raw, readConfig(env).delivery.webhookAllowLocalUrls).href;
  } catch (err) {
    if (err instanceof WebhookUrlError) throw new ApiError("invalid_request", `${param}: ${err.message}`, param);
    throw err;
  }
}
