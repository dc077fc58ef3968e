/**
 * Database round trips per call of the apps' contract (test/latency/table.ts): a read costs exactly
 * one (the session check travels with it), the writes the apps make at most two. One list of rows
 * per capability, each joined to ROWS (whose coverage test wants a row for every contract call) and
 * to the describe below.
 */
import { sql } from "drizzle-orm";
import { describe } from "vitest";
import { api, lastOtp, randomIp, randomPhone, seedListing, seedUser, signupViaApi, TEST_PASSWORD } from "../harness";
import { PNG } from "../marketplace/images";
import { seedBooking } from "../realtime/fixtures";
import {
  asCustomer,
  asProvider,
  connectedSession,
  connectPacket,
  customerReport,
  ENGINE,
  enginePost,
  engineSession,
  exec,
  initiatedBefore,
  labourCustomer,
  labourInitiate,
  listingInitiate,
  newBooking,
  nextPoll,
  paymentOrder,
  paytmCallback,
  retriedBooking,
  sentTwice,
  sidOf,
  unseenBooking,
  verifyAfter,
  verifyOfPaid,
} from "./fixtures";
import { coverageTest, type RoundTripRow, roundTripTable } from "./table";

// ---------------------------------------------------------------------------------------------
// Fixtures: each row seeds its own accounts, so rows never depend on each other (the bookings,
// payments and realtime rows' are in fixtures.ts).

/** An unread notification of the account, returning its id. */
async function seedNotification(userId: string): Promise<string> {
  const [n] = await exec(
    sql`insert into notifications (user_id, title, message, type) values (${userId}, 'Hello', 'A message', 'system') returning id`,
  );
  return n!.id as string;
}

const expoToken = () => `ExponentPushToken[${crypto.randomUUID().replace(/-/g, "").slice(0, 22)}]`;

/** An open report of a customer about the provider of a booking. */
async function seedReport(): Promise<string> {
  const b = await seedBooking({ status: "completed" });
  const [r] = await exec(
    sql`insert into user_reports_providers (booking_id, reporter_id, reported_provider_id, incident_date, incident_type, description)
        values (${b.bookingId}, ${b.customer.id}, ${b.provider.id}, current_date, 'No show', 'Did not come') returning id`,
  );
  return r!.id as string;
}

/** A public catalogue read twice: the second answer comes from the edge cache. */
async function warmed(path: string) {
  await api("GET", path);
  return { path };
}

/** A query parameter the route ignores, so the edge cache has never seen the URL. */
const fresh = () => `cacheBust=${crypto.randomUUID()}`;

const hit = (r: { headers: Headers }) => {
  if (r.headers.get("x-cache") !== "HIT") throw new Error(`expected a cache hit, got ${r.headers.get("x-cache")}`);
};
const miss = (r: { headers: Headers }) => {
  if (r.headers.get("x-cache") !== "MISS") throw new Error(`expected a cache miss, got ${r.headers.get("x-cache")}`);
};

const registration = {
  yearsOfExperience: 4,
  serviceDescription: "Pipes and taps",
  state: "Karnataka",
  city: "Bengaluru",
  fullAddress: "12 MG Road, Bengaluru",
  workingProofUrls: [],
  isEngineeringProvider: false,
  subServices: [{ serviceId: "tap-installation", price: 499 }],
};

// ---------------------------------------------------------------------------------------------
// Account: profile, addresses, sessions.

const account: RoundTripRow[] = [
  {
    call: "GET /api/users/profile",
    roundTrips: 1,
    request: async () => ({ path: "/api/users/profile", token: (await seedUser("user")).token }),
  },
  {
    call: "PUT /api/users/profile",
    variant: "profile save",
    roundTrips: 2,
    request: async () => {
      const u = await seedUser("user");
      return { path: "/api/users/profile", token: u.token, body: { fullName: "Renamed Person", email: `r.${u.phone}@example.com` } };
    },
  },
  {
    call: "PUT /api/users/profile",
    variant: "photo change",
    roundTrips: 2,
    request: async () => ({ path: "/api/users/profile", token: (await seedUser("user")).token, body: { profilePicUrl: PNG } }),
  },
  {
    call: "PUT /api/users/profile",
    variant: "photo removal",
    roundTrips: 2,
    request: async () => ({ path: "/api/users/profile", token: (await seedUser("user")).token, body: { profilePicUrl: "" } }),
  },
  {
    call: "GET /api/users/addresses",
    roundTrips: 1,
    request: async () => ({ path: "/api/users/addresses", token: (await seedUser("user")).token }),
  },
  {
    call: "POST /api/users/addresses",
    offContract: true,
    status: 201,
    roundTrips: 1,
    request: async () => ({
      path: "/api/users/addresses",
      token: (await seedUser("user")).token,
      body: { fullAddress: "42 MG Road, Indiranagar", state: "Karnataka", city: "Bengaluru" },
    }),
  },
  {
    call: "DELETE /api/users/delete-account",
    roundTrips: 1,
    request: async () => ({ path: "/api/users/delete-account", token: (await seedUser("user")).token }),
  },
  {
    call: "GET /api/auth/me",
    offContract: true,
    roundTrips: 1,
    request: async () => ({ path: "/api/auth/me", token: (await seedUser("user")).token }),
  },
  {
    call: "GET /api/auth/sessions",
    offContract: true,
    roundTrips: 1,
    request: async () => ({ path: "/api/auth/sessions", token: (await seedUser("user")).token }),
  },
];

// ---------------------------------------------------------------------------------------------
// Sign-up, login, password reset and refresh (no session check rides with them). Measured as they
// are; these flows were not merged into fewer round trips yet.

const fromIp = () => ({ "cf-connecting-ip": randomIp() });

async function pendingSignup(headers: Record<string, string>) {
  const phone = randomPhone();
  const r = await api("POST", "/api/auth/signup", {
    headers,
    body: { fullName: "Round Trip", email: `rt.${phone}@example.com`, phone, password: TEST_PASSWORD, role: "user" },
  });
  if (r.status !== 200) throw new Error(`signup failed: ${r.text}`);
  return phone;
}

/** A user with a password-reset OTP sent (its cooldown passed, so another may be asked for). */
async function resetRequested(headers: Record<string, string>) {
  const u = await seedUser("user");
  const r = await api("POST", "/api/auth/forgot-password", { headers, body: { phone: u.phone, role: "user" } });
  if (r.status !== 200) throw new Error(`forgot-password failed: ${r.text}`);
  return u;
}

const auth: RoundTripRow[] = [
  {
    call: "POST /api/auth/signup",
    roundTrips: 6,
    request: async () => {
      const phone = randomPhone();
      return {
        path: "/api/auth/signup",
        headers: fromIp(),
        body: { fullName: "Round Trip", email: `rt.${phone}@example.com`, phone, password: TEST_PASSWORD, role: "user" },
      };
    },
  },
  {
    call: "POST /api/auth/verify-otp",
    roundTrips: 15,
    request: async () => {
      const headers = fromIp();
      const phone = await pendingSignup(headers);
      return { path: "/api/auth/verify-otp", headers, body: { phone, otp: await lastOtp(phone, "signup") } };
    },
  },
  {
    call: "POST /api/auth/resend-otp",
    roundTrips: 5,
    request: async () => {
      const headers = fromIp();
      const phone = await pendingSignup(headers);
      await exec(sql`update otp_challenges set last_sent_at = now() - interval '1 minute' where phone = ${phone}`);
      return { path: "/api/auth/resend-otp", headers, body: { phone } };
    },
  },
  {
    call: "POST /api/auth/login",
    roundTrips: 2,
    request: async () => {
      const u = await seedUser("user");
      return { path: "/api/auth/login", headers: fromIp(), body: { phone: u.phone, password: u.password, role: "user" } };
    },
  },
  {
    call: "POST /api/auth/forgot-password",
    roundTrips: 6,
    request: async () => ({
      path: "/api/auth/forgot-password",
      headers: fromIp(),
      body: { phone: (await seedUser("user")).phone, role: "user" },
    }),
  },
  {
    call: "POST /api/auth/forgot-password/verify",
    roundTrips: 5,
    request: async () => {
      const headers = fromIp();
      const u = await resetRequested(headers);
      return { path: "/api/auth/forgot-password/verify", headers, body: { phone: u.phone, otp: await lastOtp(u.phone, "password_reset") } };
    },
  },
  {
    call: "POST /api/auth/forgot-password/reset",
    roundTrips: 9,
    request: async () => {
      const headers = fromIp();
      const u = await resetRequested(headers);
      const v = await api("POST", "/api/auth/forgot-password/verify", {
        headers,
        body: { phone: u.phone, otp: await lastOtp(u.phone, "password_reset") },
      });
      return {
        path: "/api/auth/forgot-password/reset",
        headers,
        body: { phone: u.phone, resetToken: v.body.data.resetToken, newPassword: "N3w-secret-pass" },
      };
    },
  },
  {
    call: "POST /api/auth/refresh",
    roundTrips: 8,
    request: async () => ({ path: "/api/auth/refresh", body: { refreshToken: (await signupViaApi("user")).refreshToken } }),
  },
];

// ---------------------------------------------------------------------------------------------
// Notifications and push.

const notifications: RoundTripRow[] = [
  {
    call: "GET /api/notifications",
    roundTrips: 1,
    request: async () => {
      const u = await seedUser("user");
      await seedNotification(u.id);
      return { path: "/api/notifications?page=1&limit=20", token: u.token };
    },
  },
  {
    call: "GET /api/notifications/unread-count",
    roundTrips: 1,
    request: async () => ({ path: "/api/notifications/unread-count", token: (await seedUser("user")).token }),
  },
  {
    call: "PUT /api/notifications/:id/mark-read",
    roundTrips: 1,
    request: async () => {
      const u = await seedUser("user");
      return { path: `/api/notifications/${await seedNotification(u.id)}/mark-read`, token: u.token };
    },
  },
  {
    call: "PUT /api/notifications/mark-all-read",
    roundTrips: 1,
    request: async () => {
      const u = await seedUser("user");
      await seedNotification(u.id);
      await seedNotification(u.id);
      return { path: "/api/notifications/mark-all-read", token: u.token };
    },
  },
  {
    call: "DELETE /api/notifications/:id",
    offContract: true,
    roundTrips: 1,
    request: async () => {
      const u = await seedUser("user");
      return { path: `/api/notifications/${await seedNotification(u.id)}`, token: u.token };
    },
  },
  {
    call: "GET /api/notifications/history",
    roundTrips: 1,
    request: async () => ({ path: "/api/notifications/history?page=1&limit=20", token: (await seedUser("provider")).token }),
  },
  {
    call: "GET /api/notifications/recent",
    roundTrips: 1,
    request: async () => ({ path: `/api/notifications/recent?since=${Date.now() - 60_000}`, token: (await seedUser("user")).token }),
  },
  {
    call: "POST /api/push-notifications/register-token",
    roundTrips: 1,
    request: async () => ({
      path: "/api/push-notifications/register-token",
      token: (await seedUser("user")).token,
      body: { pushToken: expoToken(), deviceInfo: { deviceName: "Pixel 7", platform: "android", appType: "user" } },
    }),
  },
  {
    call: "PUT /api/push-notifications/settings",
    roundTrips: 1,
    request: async () => ({
      path: "/api/push-notifications/settings",
      token: (await seedUser("user")).token,
      body: { settings: { promotional: true } },
    }),
  },
  {
    call: "GET /api/push-notifications/settings",
    offContract: true,
    roundTrips: 1,
    request: async () => ({ path: "/api/push-notifications/settings", token: (await seedUser("user")).token }),
  },
  {
    call: "GET /api/push-notifications/history",
    offContract: true,
    roundTrips: 1,
    request: async () => ({ path: "/api/push-notifications/history", token: (await seedUser("user")).token }),
  },
  {
    call: "POST /api/push-notifications/send-test",
    roundTrips: 1,
    request: async () => ({
      path: "/api/push-notifications/send-test",
      token: (await seedUser("user")).token,
      body: { title: "Test", body: "A test notification" },
    }),
  },
  {
    call: "DELETE /api/push-notifications/token",
    roundTrips: 1,
    request: async () => {
      const u = await seedUser("user");
      const pushToken = expoToken();
      await api("POST", "/api/push-notifications/register-token", { token: u.token, body: { pushToken } });
      return { path: "/api/push-notifications/token", token: u.token, body: { pushToken } };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Providers: profile, service registrations, earnings.

const providers: RoundTripRow[] = [
  {
    call: "GET /api/providers/profile",
    roundTrips: 1,
    request: async () => ({ path: "/api/providers/profile", token: (await seedListing()).provider.token }),
  },
  {
    call: "GET /api/services/my-registrations",
    roundTrips: 1,
    request: async () => ({ path: "/api/services/my-registrations", token: (await seedListing()).provider.token }),
  },
  {
    call: "POST /api/services/:category/providers",
    variant: "paid category",
    status: 201,
    roundTrips: 2,
    request: async () => ({ path: "/api/services/plumber/providers", token: (await seedUser("provider")).token, body: registration }),
  },
  {
    call: "POST /api/services/:category/providers",
    variant: "with a working-proof photo (stored in R2 between the two)",
    status: 201,
    roundTrips: 2,
    request: async () => ({
      path: "/api/services/plumber/providers",
      token: (await seedUser("provider")).token,
      body: { ...registration, workingProofUrls: [PNG] },
    }),
  },
  {
    call: "POST /api/services/:category/providers",
    variant: "free category",
    status: 201,
    roundTrips: 2,
    request: async () => ({
      path: "/api/services/labor/providers",
      token: (await seedUser("provider")).token,
      body: { ...registration, subServices: [{ serviceId: "per-hour-charges", price: 500 }] },
    }),
  },
  {
    call: "PUT /api/services/:category/providers",
    roundTrips: 2,
    request: async () => {
      const l = await seedListing({ service: "plumber" });
      return {
        path: "/api/services/plumber/providers",
        token: l.provider.token,
        body: { yearsOfExperience: 6, serviceDescription: "Updated", subServices: [{ serviceId: "tap-installation", price: 549 }] },
      };
    },
  },
  {
    call: "DELETE /api/services/my-registrations/:serviceId",
    roundTrips: 1,
    request: async () => {
      const l = await seedListing();
      return { path: `/api/services/my-registrations/${l.providerServiceId}`, token: l.provider.token };
    },
  },
  {
    call: "GET /api/earnings",
    roundTrips: 1,
    request: async () => ({ path: "/api/earnings", token: (await seedListing()).provider.token }),
  },
];

// ---------------------------------------------------------------------------------------------
// Public catalogue (edge-cached, no session). A listing's cache key carries its category's generation
// (src/listings/cache.ts), read from the database first: a hit costs that one read, a miss that read
// and the page itself. The category list's key needs no read.

const catalogue: RoundTripRow[] = [
  {
    call: "GET /api/public/services",
    variant: "cache hit",
    roundTrips: 0,
    request: () => warmed("/api/public/services"),
    check: hit,
  },
  {
    call: "GET /api/public/services",
    variant: "cache miss",
    roundTrips: 1,
    request: async () => ({ path: `/api/public/services?${fresh()}` }),
    check: miss,
  },
  {
    call: "GET /api/public/services/:id/providers",
    variant: "cache hit",
    // Answered by the edge worker from its cache while fresh (src/edge): no database, no core.
    roundTrips: 0,
    request: async () => warmed(`/api/public/services/${(await seedListing()).serviceId}/providers?page=1&limit=20`),
    check: hit,
  },
  {
    call: "GET /api/public/services/:id/providers",
    variant: "cache miss",
    roundTrips: 2,
    request: async () => ({ path: `/api/public/services/${(await seedListing()).serviceId}/providers?${fresh()}` }),
    check: miss,
  },
  {
    call: "GET /api/public/services/:id/providers",
    variant: "cache miss, a page past the last",
    roundTrips: 2,
    request: async () => ({ path: `/api/public/services/${(await seedListing()).serviceId}/providers?page=10000&${fresh()}` }),
    check: miss,
  },
  {
    call: "GET /api/public/provider-service/:providerServiceId",
    variant: "cache hit",
    // Answered by the edge worker from its cache while fresh (src/edge): no database, no core.
    roundTrips: 0,
    request: async () => warmed(`/api/public/provider-service/${(await seedListing()).providerServiceId}`),
    check: hit,
  },
  {
    call: "GET /api/public/provider-service/:providerServiceId",
    variant: "cache miss",
    roundTrips: 2,
    request: async () => ({ path: `/api/public/provider-service/${(await seedListing()).providerServiceId}?${fresh()}` }),
    check: miss,
  },
  {
    call: "GET /api/public/featured-providers",
    variant: "cache hit",
    // Answered by the edge worker from its cache while fresh (src/edge): no database, no core.
    roundTrips: 0,
    request: () => warmed("/api/public/featured-providers"),
    check: hit,
  },
  {
    call: "GET /api/public/featured-providers",
    variant: "cache miss",
    roundTrips: 2,
    request: async () => ({ path: `/api/public/featured-providers?${fresh()}` }),
    check: miss,
  },
  {
    call: "GET /api/public/reverse-geocode",
    variant: "never reads the database; no geocoder is configured under test",
    status: 501,
    roundTrips: 0,
    request: async () => ({ path: "/api/public/reverse-geocode?latitude=12.97&longitude=77.59" }),
  },
  { call: "GET /health", roundTrips: 0, request: async () => ({ path: "/health" }) },
];

// ---------------------------------------------------------------------------------------------
// Calls.

const calls: RoundTripRow[] = [
  {
    call: "POST /api/calls/initiate",
    roundTrips: 1,
    request: async () => {
      const b = await seedBooking();
      return { path: "/api/calls/initiate", token: b.customer.token, body: { bookingId: b.bookingId, callerType: "user" } };
    },
  },
  {
    call: "POST /api/calls/log",
    status: 201,
    roundTrips: 1,
    request: async () => {
      const b = await seedBooking();
      return {
        path: "/api/calls/log",
        token: b.provider.token,
        body: { bookingId: b.bookingId, duration: 42, callerType: "provider", status: "completed" },
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Admin screens and monitoring (provider app).

const admin = async () => (await seedUser("admin")).token;

const adminRows: RoundTripRow[] = [
  { call: "GET /api/admin/stats", roundTrips: 1, request: async () => ({ path: "/api/admin/stats", token: await admin() }) },
  { call: "GET /api/admin/reports", roundTrips: 1, request: async () => ({ path: "/api/admin/reports", token: await admin() }) },
  {
    call: "PUT /api/admin/reports/:id/status",
    roundTrips: 1,
    request: async () => ({ path: `/api/admin/reports/${await seedReport()}/status`, token: await admin(), body: { status: "resolved" } }),
  },
  {
    call: "DELETE /api/admin/users/:id",
    roundTrips: 2,
    request: async () => {
      const b = await seedBooking({ status: "pending" });
      return { path: `/api/admin/users/${b.customer.id}`, token: await admin() };
    },
  },
  {
    call: "DELETE /api/admin/providers/:id",
    roundTrips: 2,
    request: async () => {
      const b = await seedBooking({ status: "accepted" });
      return { path: `/api/admin/providers/${b.provider.id}`, token: await admin() };
    },
  },
  { call: "GET /api/admin/all-users", roundTrips: 1, request: async () => ({ path: "/api/admin/all-users", token: await admin() }) },
  {
    call: "GET /api/admin/all-providers",
    roundTrips: 1,
    request: async () => ({ path: "/api/admin/all-providers", token: await admin() }),
  },
  { call: "GET /api/monitoring/status", roundTrips: 1, request: async () => ({ path: "/api/monitoring/status", token: await admin() }) },
  {
    call: "GET /api/monitoring/alerts",
    roundTrips: 1,
    request: async () => ({ path: "/api/monitoring/alerts?limit=10", token: await admin() }),
  },
  {
    call: "GET /api/monitoring/metrics",
    offContract: true,
    roundTrips: 1,
    request: async () => ({ path: "/api/monitoring/metrics", token: await admin() }),
  },
];

// ---------------------------------------------------------------------------------------------
// Bookings: the customer's and the provider's side. Writes read the booking (or listing) with the
// session check, then send one batch with the guarded change and its outbox rows.

const bookingKey = () => ({ "idempotency-key": `k-${crypto.randomUUID()}` });

const bookings: RoundTripRow[] = [
  { call: "POST /api/bookings", variant: "new booking", status: 201, roundTrips: 2, request: () => newBooking() },
  {
    call: "POST /api/bookings",
    variant: "the apps' retry of it (no key: the same request finds its booking)",
    roundTrips: 2,
    request: () => retriedBooking(),
  },
  {
    call: "POST /api/bookings",
    variant: "new, with an Idempotency-Key",
    status: 201,
    roundTrips: 2,
    request: () => newBooking(bookingKey()),
  },
  {
    call: "POST /api/bookings",
    variant: "retried with the same Idempotency-Key",
    roundTrips: 2,
    request: () => retriedBooking(bookingKey()),
  },
  {
    call: "GET /api/bookings",
    roundTrips: 1,
    request: async () => ({ path: "/api/bookings?page=1&limit=20", token: (await seedBooking()).customer.token }),
  },
  {
    call: "GET /api/bookings/unread-count",
    roundTrips: 1,
    request: async () => ({ path: "/api/bookings/unread-count", token: (await unseenBooking()).customer.token }),
  },
  {
    call: "PUT /api/bookings/mark-all-viewed",
    roundTrips: 1,
    request: async () => ({ path: "/api/bookings/mark-all-viewed", token: (await unseenBooking()).customer.token }),
  },
  {
    call: "PUT /api/bookings/:id/mark-viewed",
    roundTrips: 1,
    request: () => asCustomer("accepted", (id) => `/api/bookings/${id}/mark-viewed`),
  },
  {
    call: "PUT /api/bookings/:id/cancel",
    roundTrips: 2,
    request: () => asCustomer("pending", (id) => `/api/bookings/${id}/cancel`, { cancellationReason: "Plans changed" }),
  },
  {
    call: "POST /api/bookings/:id/report",
    status: 201,
    roundTrips: 1,
    request: () => asCustomer("completed", (id) => `/api/bookings/${id}/report`, { reportReason: "Late", reportDescription: "Came late" }),
  },
  {
    call: "POST /api/bookings/:id/rate",
    status: 201,
    roundTrips: 2,
    request: () => asCustomer("completed", (id) => `/api/bookings/${id}/rate`, { rating: 5, review: "Tidy" }),
  },
  {
    call: "POST /api/bookings/:id/rate",
    variant: "the same rating sent again (answered from the first read)",
    roundTrips: 1,
    request: async () => sentTwice(await asCustomer("completed", (id) => `/api/bookings/${id}/rate`, { rating: 5, review: "Tidy" })),
  },
  {
    call: "GET /api/providers/bookings",
    roundTrips: 1,
    request: async () => ({ path: "/api/providers/bookings?page=1&limit=20", token: (await seedBooking()).provider.token }),
  },
  {
    call: "GET /api/providers/bookings/unread-count",
    roundTrips: 1,
    request: async () => ({ path: "/api/providers/bookings/unread-count", token: (await unseenBooking()).provider.token }),
  },
  {
    call: "PUT /api/providers/bookings/mark-all-viewed",
    roundTrips: 1,
    request: async () => ({ path: "/api/providers/bookings/mark-all-viewed", token: (await unseenBooking()).provider.token }),
  },
  {
    call: "PUT /api/providers/bookings/:id/status",
    variant: "accept",
    roundTrips: 2,
    request: () => asProvider("pending", (id) => `/api/providers/bookings/${id}/status`, { status: "accepted" }),
  },
  {
    call: "PUT /api/providers/bookings/:id/status",
    variant: "reject",
    roundTrips: 2,
    request: () =>
      asProvider("pending", (id) => `/api/providers/bookings/${id}/status`, { status: "rejected", rejectionReason: "Away that day" }),
  },
  {
    call: "PUT /api/providers/bookings/:id/status",
    variant: "complete",
    roundTrips: 2,
    request: () => asProvider("accepted", (id) => `/api/providers/bookings/${id}/status`, { status: "completed" }),
  },
  {
    call: "POST /api/providers/bookings/:id/rate-customer",
    status: 201,
    roundTrips: 2,
    request: () => asProvider("accepted", (id) => `/api/providers/bookings/${id}/rate-customer`, { rating: 4 }),
  },
  {
    call: "POST /api/providers/bookings/:id/rate-customer",
    variant: "the same rating sent again (answered from the first read)",
    roundTrips: 1,
    request: async () => sentTwice(await asProvider("accepted", (id) => `/api/providers/bookings/${id}/rate-customer`, { rating: 4 })),
  },
  { call: "POST /api/providers/report-customer", status: 201, roundTrips: 1, request: customerReport },
];

// ---------------------------------------------------------------------------------------------
// Payments. Each order has a PaymentOrder Durable Object that makes the Paytm calls and applies a
// payment on a database handle of its own; the call waits for it, so its round trips are in the
// rows too. Applying a payment holds the order's row lock across the grant (an interactive
// transaction: its handshake, BEGIN, every statement and COMMIT count).

const isNewOrder = (created: boolean) => (r: { body: { data: { isExistingOrder: boolean } } }) => {
  if (r.body.data.isExistingOrder === created) throw new Error(`expected ${created ? "a new" : "the open"} order`);
};

const payments: RoundTripRow[] = [
  {
    call: "POST /api/payments/initiate-paytm",
    variant: "new order",
    roundTrips: 2,
    request: listingInitiate,
    check: isNewOrder(true),
    object: paymentOrder("initiate", 1),
  },
  {
    call: "POST /api/payments/initiate-paytm",
    variant: "an open order exists",
    roundTrips: 1,
    request: async () => initiatedBefore(await listingInitiate()),
    check: isNewOrder(false),
    object: paymentOrder("initiate", 0),
  },
  {
    call: "POST /api/payments/verify-paytm",
    variant: "paid at Paytm, applied now",
    roundTrips: 1,
    request: () => verifyAfter("listing", "success"),
    object: paymentOrder("verify", 12),
  },
  {
    call: "POST /api/payments/verify-paytm",
    variant: "already applied by the callback",
    roundTrips: 1,
    request: () => verifyOfPaid("listing"),
    object: paymentOrder("verify", 0),
  },
  {
    call: "POST /api/payments/verify-paytm",
    variant: "still pending at Paytm",
    status: 409,
    roundTrips: 1,
    request: () => verifyAfter("listing", "pending"),
    object: paymentOrder("verify", 0),
  },
  {
    call: "POST /api/payments/paytm-callback",
    variant: "success, applied now",
    roundTrips: 1,
    request: () => paytmCallback("success"),
    object: paymentOrder("callback", 13),
  },
  {
    call: "POST /api/payments/paytm-callback",
    variant: "the same form posted again",
    roundTrips: 1,
    request: () => paytmCallback("success", { delivered: true }),
    object: paymentOrder("callback", 0),
  },
  {
    call: "POST /api/payments/paytm-callback",
    variant: "failure",
    roundTrips: 1,
    request: () => paytmCallback("failure"),
    object: paymentOrder("callback", 9),
  },
  {
    call: "POST /api/payments/initiate-labour-payment",
    variant: "new order",
    roundTrips: 2,
    request: () => labourInitiate(),
    check: isNewOrder(true),
    object: paymentOrder("initiate", 1),
  },
  {
    call: "POST /api/payments/initiate-labour-payment",
    variant: "an open order exists",
    roundTrips: 1,
    request: async () => initiatedBefore(await labourInitiate()),
    check: isNewOrder(false),
    object: paymentOrder("initiate", 0),
  },
  {
    call: "POST /api/payments/initiate-labour-payment",
    variant: "new order with an Idempotency-Key (the apps send none): storing the answer is one more",
    roundTrips: 3,
    request: () => labourInitiate({ "idempotency-key": crypto.randomUUID() }),
    check: isNewOrder(true),
    object: paymentOrder("initiate", 1),
  },
  {
    call: "POST /api/payments/initiate-labour-payment",
    variant: "replay of an Idempotency-Key",
    roundTrips: 1,
    request: async () => initiatedBefore(await labourInitiate({ "idempotency-key": crypto.randomUUID() })),
    check: (r) => {
      if (r.headers.get("idempotent-replayed") !== "true") throw new Error("expected a replay");
    },
  },
  {
    call: "POST /api/payments/verify-labour-payment",
    variant: "paid at Paytm, applied now",
    roundTrips: 1,
    request: () => verifyAfter("labour", "success"),
    object: paymentOrder("verify", 12),
  },
  {
    call: "POST /api/payments/verify-labour-payment",
    variant: "already applied by the callback",
    roundTrips: 1,
    request: () => verifyOfPaid("labour"),
    object: paymentOrder("verify", 0),
  },
  {
    call: "POST /api/payments/verify-labour-payment",
    variant: "still pending at Paytm",
    status: 409,
    roundTrips: 1,
    request: () => verifyAfter("labour", "pending"),
    object: paymentOrder("verify", 0),
  },
  {
    call: "GET /api/payments/labour-access-status",
    roundTrips: 1,
    request: async () => ({ path: "/api/payments/labour-access-status", token: await labourCustomer() }),
    check: (r) => {
      if (r.body.data.hasAccess !== true) throw new Error("expected active labour access");
    },
  },
  {
    call: "GET /api/payments/labour-transaction-history",
    roundTrips: 1,
    request: async () => ({ path: "/api/payments/labour-transaction-history?limit=100", token: await labourCustomer() }),
    check: (r) => {
      if (r.body.data.transactions.length !== 1) throw new Error("expected the paid order");
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Realtime: the Socket.IO gateway routes each Engine.IO request to its session's Durable Object
// and reads no database on the way (the header counts the worker's handle). A socket's own queries
// (the call socket's token check on CONNECT, src/realtime/identity.ts, and the call commands'
// re-check) run on the session object's handle, which keeps no count these rows could read.

const answered = (expected: RegExp) => (r: { text: string }) => {
  if (!expected.test(r.text)) throw new Error(`unexpected answer ${r.text.slice(0, 200)}`);
};

const realtime: RoundTripRow[] = [
  {
    call: "GET /socket.io/",
    variant: "polling handshake",
    roundTrips: 0,
    request: async () => ({ path: ENGINE }),
    check: answered(/^0\{"sid":/),
  },
  {
    call: "GET /socket.io/",
    variant: "long poll with a packet waiting (the CONNECT answer)",
    roundTrips: 0,
    request: async () => ({ path: `${ENGINE}&sid=${await connectedSession()}` }),
    check: answered(/^40\{"sid":/),
  },
  {
    call: "GET /socket.io/",
    variant: "WebSocket upgrade probe",
    status: 101,
    roundTrips: 0,
    request: async () => ({
      path: `/socket.io/?EIO=4&transport=websocket&sid=${await connectedSession()}`,
      headers: { upgrade: "websocket" },
    }),
  },
  {
    call: "POST /socket.io/",
    variant: "CONNECT without a token (the bookings, notifications and provider-home sockets)",
    roundTrips: 0,
    request: async () => enginePost(await engineSession(), connectPacket()),
    check: answered(/^ok$/),
  },
  {
    call: "POST /socket.io/",
    variant: "CONNECT with the call socket's token (its check is the session object's query, not counted here)",
    roundTrips: 0,
    request: async () => enginePost(await engineSession(), connectPacket((await seedUser("user")).token)),
    check: async (r, req) => {
      answered(/^ok$/)(r);
      answered(/^40\{"sid":/)({ text: await nextPoll(sidOf(req)) });
    },
  },
  {
    call: "POST /socket.io/",
    variant: "join",
    roundTrips: 0,
    request: async () => {
      const u = await seedUser("user");
      return enginePost(await connectedSession(), `42${JSON.stringify(["join", u.id])}`);
    },
    check: answered(/^ok$/),
  },
];

const ROWS: RoundTripRow[] = [
  ...auth,
  ...account,
  ...notifications,
  ...providers,
  ...catalogue,
  ...bookings,
  ...payments,
  ...calls,
  ...adminRows,
  ...realtime,
];

describe("database round trips per call", () => {
  coverageTest(ROWS);
  roundTripTable("sign-up and login", auth);
  roundTripTable("account", account);
  roundTripTable("notifications and push", notifications);
  roundTripTable("providers", providers);
  roundTripTable("public catalogue", catalogue);
  roundTripTable("bookings", bookings);
  roundTripTable("payments", payments);
  roundTripTable("calls", calls);
  roundTripTable("admin and monitoring", adminRows);
  roundTripTable("realtime", realtime);
});
