/**
 * Seeding for the round-trip table's bookings, payments and realtime rows (round-trips.test.ts).
 * Each helper makes fresh accounts, so rows never depend on each other, and answers with the
 * request the row measures.
 */
import { SELF } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { type ApiResponse, api, istSlot, seedListing, seedUser, testDb } from "../harness";
import { type CallbackForm, orderStub, payAtPaytm, providerWithListing } from "../payments/support";
import { seedBooking } from "../realtime/fixtures";
import type { RoundTripRequest, RoundTripRow } from "./table";

export async function exec(q: ReturnType<typeof sql>) {
  const db = testDb();
  try {
    return (await db.http.execute(q)).rows as Record<string, unknown>[];
  } finally {
    await db.close();
  }
}

/** Sends a request as the row would (to seed: a first attempt, a previous step of a flow). */
async function send(method: string, req: RoundTripRequest): Promise<ApiResponse> {
  const r = await api(method, req.path, { token: req.token, body: req.body, rawBody: req.rawBody, headers: req.headers });
  if (r.status >= 300) throw new Error(`seeding ${method} ${req.path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Bookings

/** A customer's booking request for a new listing, as the user app sends it. */
export async function newBooking(headers?: Record<string, string>): Promise<RoundTripRequest> {
  const { providerServiceId } = await seedListing();
  const customer = await seedUser("user");
  return {
    path: "/api/bookings",
    token: customer.token,
    headers,
    body: { providerServiceId, selectedService: "tap-installation", selectedServices: ["tap-installation"], ...istSlot(3, 10) },
  };
}

/** The same booking request sent a second time (the apps retry POST), after the first created it. */
export async function retriedBooking(headers?: Record<string, string>): Promise<RoundTripRequest> {
  const req = await newBooking(headers);
  await send("POST", req);
  return req;
}

/** A booking in `status` and a request about it by its customer. */
export async function asCustomer(status: "pending" | "accepted" | "completed", path: (id: string) => string, body?: unknown) {
  const b = await seedBooking({ status });
  return { path: path(b.bookingId), token: b.customer.token, body };
}

/** A booking in `status` and a request about it by its provider. */
export async function asProvider(status: "pending" | "accepted" | "completed", path: (id: string) => string, body?: unknown) {
  const b = await seedBooking({ status });
  return { path: path(b.bookingId), token: b.provider.token, body };
}

/** A request already answered once (a rating sent again). */
export async function sentTwice(req: RoundTripRequest): Promise<RoundTripRequest> {
  await send("POST", req);
  return req;
}

/** A booking whose update neither side has seen yet (both badges count it). */
export async function unseenBooking() {
  const b = await seedBooking({ status: "accepted" });
  await exec(sql`update bookings set viewed_by_customer = false, viewed_by_provider = false where id = ${b.bookingId}`);
  return b;
}

/** A provider's report about the customer of one of their bookings. */
export async function customerReport(): Promise<RoundTripRequest> {
  const b = await seedBooking({ status: "completed" });
  return {
    path: "/api/providers/report-customer",
    token: b.provider.token,
    body: { customerName: b.customer.fullName, incidentDate: "2026-01-10", incidentType: "Other", description: "Rude", evidence: [] },
  };
}

// ---------------------------------------------------------------------------------------------
// Payments (the Paytm sandbox started by the global setup)

/** A provider's listing-fee payment, as the provider app starts it. */
export async function listingInitiate(): Promise<RoundTripRequest> {
  const s = await providerWithListing();
  return {
    path: "/api/payments/initiate-paytm",
    token: s.provider.token,
    body: { providerServiceId: s.providerServiceId, amount: "99", serviceCategory: "plumber", serviceName: "Plumber" },
  };
}

/** A customer's labour-access payment, as the user app starts it. */
export async function labourInitiate(headers?: Record<string, string>): Promise<RoundTripRequest> {
  return {
    path: "/api/payments/initiate-labour-payment",
    token: (await seedUser("user")).token,
    headers,
    body: { amount: 99, serviceName: "labors", paymentMethod: "paytm" },
  };
}

/** The same initiate sent again while its order is open (the app's second attempt). */
export async function initiatedBefore(req: RoundTripRequest): Promise<RoundTripRequest> {
  await send("POST", req);
  return req;
}

type PaytmOutcome = "success" | "failure" | "pending";

/**
 * An order opened through the API and settled at the sandbox with `outcome` (Postgres still has it
 * pending: only verify, the callback or the webhook tell the worker): the app's verify of it, and
 * the callback form Paytm hands the WebView.
 */
async function settledOrder(purpose: "listing" | "labour", outcome: PaytmOutcome) {
  const initiate = purpose === "listing" ? await listingInitiate() : await labourInitiate();
  const { orderId } = (await send("POST", initiate)).body;
  const form = await payAtPaytm(orderId, outcome);
  const { providerServiceId } = initiate.body as { providerServiceId?: string };
  const verify: RoundTripRequest =
    purpose === "listing"
      ? { path: "/api/payments/verify-paytm", token: initiate.token, body: { orderId, providerServiceId } }
      : { path: "/api/payments/verify-labour-payment", token: initiate.token, body: { orderId } };
  return { verify, form };
}

const callbackRequest = (form: CallbackForm): RoundTripRequest => ({
  path: "/api/payments/paytm-callback",
  rawBody: form.formBody,
  headers: { "content-type": "application/x-www-form-urlencoded" },
});

/** The verify of an order Paytm settled with `outcome` that the worker has not heard of yet. */
export const verifyAfter = async (purpose: "listing" | "labour", outcome: PaytmOutcome) => (await settledOrder(purpose, outcome)).verify;

/** The verify of an order Paytm's callback already applied (the app verifies when the WebView lands on it). */
export async function verifyOfPaid(purpose: "listing" | "labour"): Promise<RoundTripRequest> {
  const { verify, form } = await settledOrder(purpose, "success");
  await send("POST", callbackRequest(form));
  return verify;
}

/** The WebView's form POST of Paytm's callback for a labour order settled with `outcome`; `delivered`: posted once before. */
export async function paytmCallback(outcome: PaytmOutcome, opts: { delivered?: boolean } = {}): Promise<RoundTripRequest> {
  const req = callbackRequest((await settledOrder("labour", outcome)).form);
  if (opts.delivered) await send("POST", req);
  return req;
}

/** The order a payment call is about: in the answer (initiate), the JSON body (verify) or Paytm's form (callback). */
function orderIdOf(req: RoundTripRequest, r: ApiResponse): string {
  if (req.rawBody) return new URLSearchParams(req.rawBody).get("ORDERID")!;
  return ((req.body as { orderId?: string }).orderId ?? r.body.orderId) as string;
}

/**
 * The round trips of the order's PaymentOrder object for the call: those of its last `op` (none
 * recorded when the object never ran one, which fails the row).
 */
export const paymentOrder = (op: string, roundTrips: number): RoundTripRow["object"] => ({
  name: "PaymentOrder object",
  roundTrips,
  measure: async (req, r) => (await orderStub(orderIdOf(req, r)).inspect()).dbRoundTrips[op],
});

/** A customer whose labour access is active, and a paid order in their history. */
export async function labourCustomer(): Promise<string> {
  const req = await verifyAfter("labour", "success");
  await send("POST", req);
  return req.token!;
}

// ---------------------------------------------------------------------------------------------
// Realtime (Engine.IO v4 over long-polling, as socket.io-client 4.8.1 starts every connection)

export const ENGINE = "/socket.io/?EIO=4&transport=polling";

/** An Engine.IO session after its polling handshake: its sid. */
export async function engineSession(): Promise<string> {
  const res = await SELF.fetch(`http://127.0.0.1${ENGINE}`);
  const open = await res.text();
  if (res.status !== 200 || !open.startsWith("0{")) throw new Error(`handshake: ${res.status} ${open}`);
  return JSON.parse(open.slice(1)).sid as string;
}

/** A long-poll POST of Engine.IO packets (separated by the record separator, as engine.io-client sends them). */
export const enginePost = (sid: string, ...packets: string[]): RoundTripRequest => ({
  path: `${ENGINE}&sid=${sid}`,
  rawBody: packets.join("\x1e"),
  headers: { "content-type": "text/plain;charset=UTF-8" },
});

/** A Socket.IO CONNECT packet (in an Engine.IO message): the call socket's carries the access token. */
export const connectPacket = (token?: string) => (token ? `40${JSON.stringify({ token })}` : "40");

/** A session whose Socket.IO CONNECT was sent (its answer waits for the next poll). */
export async function connectedSession(token?: string): Promise<string> {
  const sid = await engineSession();
  await send("POST", enginePost(sid, connectPacket(token)));
  return sid;
}

export const sidOf = (req: RoundTripRequest) => new URL(req.path, "http://127.0.0.1").searchParams.get("sid")!;

/** The session's next long-poll answer (immediate when a packet is queued). */
export async function nextPoll(sid: string): Promise<string> {
  const res = await SELF.fetch(`http://127.0.0.1${ENGINE}&sid=${sid}`);
  return res.text();
}
