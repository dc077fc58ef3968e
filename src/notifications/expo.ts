import type { Config } from "../env";
import { OutboundTimeout, outboundFetch } from "../lib/outbound";

/**
 * Expo's push API (https://docs.expo.dev/push-notifications/sending-notifications/): POST …/push/send
 * with at most 100 messages answers one ticket per message, in order; POST …/push/getReceipts with
 * ticket ids answers receipts later (Expo's SDK asks for 300 at a time). 429 and 5xx are temporary
 * and retried with backoff; other 4xx mean the request itself is wrong and retrying cannot help.
 */
export const EXPO_SEND_CHUNK = 100;
export const EXPO_RECEIPT_CHUNK = 300;
const TIMEOUT_MS = 15_000;

export type ExpoMessage = {
  to: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  sound: "default" | null;
  priority: "high" | "normal";
  channelId: string;
  ttl: number;
  badge?: number;
};

export type ExpoError = { status: "error"; message?: string; details?: { error?: string } };
export type ExpoTicket = { status: "ok"; id: string } | ExpoError;
export type ExpoReceipt = { status: "ok" } | ExpoError;

/** Worth retrying later: Expo or the network failed, or asked us to slow down. */
export class ExpoTemporaryError extends Error {
  override name = "ExpoTemporaryError";
  readonly retryAfterSeconds?: number;
  constructor(message: string, retryAfterSeconds?: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Expo refused the request as such (4xx other than 429); the same request will fail again. */
export class ExpoRejectedError extends Error {
  override name = "ExpoRejectedError";
}

/** Ticket/receipt error codes that mean "try this message again later" rather than "give up". */
export const RETRYABLE_EXPO_ERRORS = new Set([
  "MessageRateExceeded",
  "ProviderError",
  "PushServiceError",
  "RetryAfterSpecified",
  "UnknownError",
]);

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function receiptsUrl(sendUrl: string): string {
  const u = new URL(sendUrl);
  u.pathname = u.pathname.replace(/\/send\/?$/, "/getReceipts");
  return u.toString();
}

async function post(config: Pick<Config, "EXPO_ACCESS_TOKEN">, url: string, body: unknown): Promise<unknown> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json",
    "accept-encoding": "gzip, deflate",
  };
  if (config.EXPO_ACCESS_TOKEN) headers.authorization = `Bearer ${config.EXPO_ACCESS_TOKEN}`;
  let res: Response;
  try {
    res = await outboundFetch(url, { method: "POST", headers, body: JSON.stringify(body) }, { timeoutMs: TIMEOUT_MS });
  } catch (err) {
    if (err instanceof OutboundTimeout) throw new ExpoTemporaryError("Expo did not answer in time");
    throw new ExpoTemporaryError(`Expo unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.text();
  if (res.status === 429 || res.status >= 500) {
    const ra = Number(res.headers.get("retry-after"));
    throw new ExpoTemporaryError(`Expo answered ${res.status}`, Number.isFinite(ra) && ra > 0 ? ra : undefined);
  }
  if (!res.ok) throw new ExpoRejectedError(`Expo answered ${res.status}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new ExpoTemporaryError("Expo answered with something that is not JSON");
  }
}

/** Sends at most 100 messages; returns their tickets in message order. */
export async function sendExpoMessages(
  config: Pick<Config, "EXPO_PUSH_URL" | "EXPO_ACCESS_TOKEN">,
  messages: ExpoMessage[],
): Promise<ExpoTicket[]> {
  if (messages.length > EXPO_SEND_CHUNK) throw new Error(`at most ${EXPO_SEND_CHUNK} messages per Expo request`);
  const parsed = (await post(config, config.EXPO_PUSH_URL, messages)) as { data?: unknown };
  const data = Array.isArray(parsed.data) ? parsed.data : null;
  if (!data || data.length !== messages.length) throw new ExpoTemporaryError("Expo answered without one ticket per message");
  return data as ExpoTicket[];
}

/** Receipts for at most 300 ticket ids; ids Expo does not know (yet, or any more) are absent. */
export async function getExpoReceipts(
  config: Pick<Config, "EXPO_PUSH_URL" | "EXPO_ACCESS_TOKEN">,
  ids: string[],
): Promise<Record<string, ExpoReceipt>> {
  const parsed = (await post(config, receiptsUrl(config.EXPO_PUSH_URL), { ids })) as { data?: unknown };
  return parsed.data && typeof parsed.data === "object" ? (parsed.data as Record<string, ExpoReceipt>) : {};
}
