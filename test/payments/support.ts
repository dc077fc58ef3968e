/**
 * Paytm sandbox controls (scripts/paytm/sandbox.ts, started by the global setup) and payment helpers.
 * Sandbox state is shared by every test file, so assertions use per-order stats and filter
 * webhooks by orderId; nothing here resets the sandbox or takes other tests' webhooks.
 */

import { env, runInDurableObject } from "cloudflare:test";
import { createRequire } from "node:module";
import { sql } from "drizzle-orm";
import type { FaultSpec } from "../../scripts/paytm/sandbox.ts";
import type { PaymentOrder } from "../../src/payments/payment-order";
import { generateSignature } from "../../src/paytm/checksum";
import { api, config, type SeededUser, seedUser, testDb } from "../harness";

type Webhook = { id: number; kind: string; orderId: string; status: string; contentType: string; body: string };
export type CallbackForm = { callbackUrl: string; fields: Record<string, string>; formBody: string; status: string };

export async function sandbox<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${config().PAYTM_HOST}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox ${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** A Paytm fault for the sandbox to inject (scope it with orderId or custId: the sandbox is shared). */
export const injectFault = (fault: FaultSpec) => sandbox("POST", "/__sandbox/faults", fault);

/** The tester's click on the sandbox payment page: settles the order, returns the signed callback form. */
export const payAtPaytm = (orderId: string, outcome: "success" | "failure" | "pending" = "success") =>
  sandbox<CallbackForm>("POST", `/__sandbox/orders/${encodeURIComponent(orderId)}/pay`, { outcome });

export async function callsFor(orderId: string): Promise<Record<string, number>> {
  const s = await sandbox<{ callsByOrder: Record<string, Record<string, number>> }>("GET", "/__sandbox/stats");
  return s.callsByOrder[orderId] ?? {};
}

/** S2S webhooks the sandbox queued for this order (no webhook URL is configured in tests). */
export async function webhooksFor(orderId: string): Promise<Webhook[]> {
  const w = await sandbox<{ pending: Webhook[] }>("GET", "/__sandbox/webhooks");
  return w.pending.filter((x) => x.orderId === orderId);
}

export function postForm(path: string, formBody: string, headers: Record<string, string> = {}) {
  return api("POST", path, { rawBody: formBody, headers: { "content-type": "application/x-www-form-urlencoded", ...headers } });
}

export const postCallback = (formBody: string) => postForm("/api/payments/paytm-callback", formBody);
export const postWebhook = (w: { body: string; contentType: string }, headers: Record<string, string> = {}) =>
  api("POST", "/api/payments/paytm-webhook", { rawBody: w.body, headers: { "content-type": w.contentType, ...headers } });

/** Callback fields re-signed with `key` (the merchant key by default): what a forger or Paytm would send. */
export async function signedForm(fields: Record<string, string>, key = config().PAYTM_MERCHANT_KEY): Promise<string> {
  const { CHECKSUMHASH: _drop, ...rest } = fields;
  const CHECKSUMHASH = await generateSignature(rest, key);
  return new URLSearchParams({ ...rest, CHECKSUMHASH }).toString();
}

export type ListingSetup = { provider: SeededUser; providerServiceId: string; serviceId: string };

export async function providerWithListing(opts: { feePaise?: number } = {}): Promise<ListingSetup> {
  const provider = await seedUser("provider");
  const listing = await seedFeeListing(provider, opts);
  return { provider, ...listing };
}

export async function initiateListing(s: ListingSetup, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return api("POST", "/api/payments/initiate-paytm", {
    token: s.provider.token,
    body: { providerServiceId: s.providerServiceId, amount: "99", serviceCategory: "plumber", serviceName: "Plumber", ...extra },
    headers,
  });
}

export async function listingRow(providerServiceId: string) {
  const { rows } = await testDb().http.execute<{ status: string; activated_at: string | null; expires_at: string | null }>(
    sql`select status, activated_at, expires_at from provider_services where id = ${providerServiceId}`,
  );
  return rows[0]!;
}

export async function ordersFor(where: { providerServiceId?: string; userId?: string }) {
  const db = testDb();
  const { rows } = await db.http.execute<{
    id: string;
    paytm_order_id: string;
    status: string;
    amount_paise: number;
    granted_from: string | null;
    granted_until: string | null;
  }>(
    where.providerServiceId
      ? sql`select * from payment_orders where provider_service_id = ${where.providerServiceId} order by created_at`
      : sql`select * from payment_orders where user_id = ${where.userId!} order by created_at`,
  );
  return rows;
}

export async function securityEvents(paytmOrderId: string) {
  const { rows } = await testDb().http.execute<{ kind: string; details: Record<string, unknown> }>(
    sql`select kind, details from payment_security_events where paytm_order_id = ${paytmOrderId} order by created_at`,
  );
  return rows;
}

export function orderStub(paytmOrderId: string): DurableObjectStub<PaymentOrder> {
  return env.PAYMENT_ORDER.get(env.PAYMENT_ORDER.idFromName(paytmOrderId));
}

/**
 * Time passes for the order's Durable Object: its last Paytm status answer is made older than the
 * window in which a verify reuses it (STATUS_REUSE_MS in src/payments/payment-order.ts), so the next
 * verify asks Paytm again, without the test sleeping through the window.
 */
export async function ageLastStatusRead(paytmOrderId: string): Promise<void> {
  const aged = await runInDurableObject(
    orderStub(paytmOrderId),
    (_order, state) =>
      state.storage.sql.exec("UPDATE state SET last_status_at = last_status_at - 600000 WHERE id = 1 AND last_status_at IS NOT NULL")
        .rowsWritten,
  );
  if (aged !== 1) throw new Error(`order ${paytmOrderId} has no status answer to age`);
}

export const DAY_MS = 86_400_000;

// ------------------------------------------------------------------------------------------------
// Listings for payment tests, inserted directly (no dependency on the marketplace API's timing).

/**
 * A provider profile (if missing) and a `pending` listing of that provider. Without `feePaise` the
 * listing is in the seeded `plumber` category (₹99 / 30 days); with it, in a new hidden category
 * (is_active = false, so catalogue reads of other tests never see it) priced as asked.
 */
export async function seedFeeListing(
  provider: SeededUser,
  opts: { feePaise?: number; validityDays?: number; free?: boolean } = {},
): Promise<{ providerServiceId: string; serviceId: string }> {
  const db = testDb();
  let serviceId: string;
  if (opts.feePaise === undefined && !opts.free) {
    const { rows } = await db.http.execute<{ id: string }>(sql`select id from services_master where name = 'plumber'`);
    serviceId = rows[0]!.id;
  } else {
    const slug = `test-fee-${Math.random().toString(36).slice(2, 10)}`;
    const fee = opts.free ? 0 : opts.feePaise!;
    const { rows } = await db.http.execute<{ id: string }>(
      sql`insert into services_master (name, is_paid, listing_fee_paise, listing_validity_days, is_active)
          values (${slug}, ${!opts.free}, ${fee}, ${opts.validityDays ?? 30}, false) returning id`,
    );
    serviceId = rows[0]!.id;
  }
  await db.http.execute(sql`insert into provider_profiles (user_id) values (${provider.id}) on conflict (user_id) do nothing`);
  const { rows } = await db.http.execute<{ id: string }>(
    sql`insert into provider_services (provider_id, service_id, status)
        select id, ${serviceId}, 'pending' from provider_profiles where user_id = ${provider.id} returning id`,
  );
  return { providerServiceId: rows[0]!.id, serviceId };
}

// The official npm `paytmchecksum` (see checksum-oracle.test.ts for its workerd base64 quirk).
interface Official {
  generateSignature(params: string | Record<string, string>, key: string): Promise<string>;
  verifySignature(params: string | Record<string, string>, key: string, checksum: string): boolean;
  calculateChecksum(params: string, key: string, salt: string): string;
}
export const officialPaytmChecksum = () => createRequire(import.meta.url)("paytmchecksum") as Official;

/** The official output's bytes, decoding each padded segment workerd produced. */
export function repairWorkerdBase64(text: string): string {
  const segments = text.match(/[^=]+=*/g) ?? [];
  const bytes = segments.flatMap((s) => [...atob(s)]).join("");
  return btoa(bytes);
}
