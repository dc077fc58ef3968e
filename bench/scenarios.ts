/**
 * HTTP scenarios of `npm run bench`. Every one runs at 100 concurrent connections (virtual users),
 * and every request is one a real user could send: consuming scenarios (bookings, status changes,
 * payments, refunds) give each request its own customer, booking, slot or order, so the bar is zero
 * errors and zero 4xx. Data comes from bench/fixtures.ts (straight into the database).
 */
import {
  type BenchCtx,
  bearer,
  benchSlot,
  bookingPool,
  demoToken,
  type Listing,
  makeUsers,
  type Party,
  plumberListing,
  scryptHash,
} from "./fixtures.ts";

export type BenchRequest = { method?: string; path: string; headers?: Record<string, string>; body?: string };
export type Scenario = {
  name: string;
  /** What the request does and costs; printed beside the numbers. */
  note?: string;
  /** Concurrent connections (virtual users); 100 unless stated. */
  connections?: number;
  /** Seconds (default BENCH_DURATION); ignored when `amount` is set. */
  duration?: number;
  /** A fixed number of requests instead of a duration (CPU-heavy or data-consuming scenarios). */
  amount?: (ctx: BenchCtx) => number;
  /** Per-request timeout, seconds (default 30). */
  timeout?: number;
  /** 4xx statuses this scenario provokes on purpose; they are counted apart, never as errors. */
  deliberate?: number[];
  /** The round-trip probe repeats a cacheable GET once, so it reports the warm (steady-state) path. */
  warmProbe?: boolean;
  setup?: (ctx: BenchCtx) => Promise<void>;
  /** Request number `i` (0, 1, 2, … across the probe and the run; autocannon's hook is synchronous). */
  build: (ctx: BenchCtx, i: number) => BenchRequest;
};

export const VUS = 100;
const DURATION = () => Number(process.env.BENCH_DURATION ?? process.env.BENCH_SECONDS ?? 8);

// ---- shared fixtures ------------------------------------------------------------------------------

type Market = {
  plumber: Listing;
  customers: Party[];
  /** One customer per booking creation: a customer may hold only 3 open bookings with one provider. */
  bookers: Party[];
  admin: Party;
  acceptIds: string[];
  rejectIds: string[];
  completeIds: string[];
};

/** Enough pool for 100 VUs at a few hundred requests per second for the whole duration. */
const poolSize = () => Math.max(3000, DURATION() * 600);

async function market(ctx: BenchCtx): Promise<Market> {
  if (ctx.cache.market) return ctx.cache.market as Market;
  const plumber = await plumberListing(ctx);
  const customers = await makeUsers(ctx, "user", VUS);
  const poolCustomers = await makeUsers(ctx, "user", VUS);
  const n = poolSize();
  // Slots: creations use days 1..~100 (benchSlot); the pools sit further out, apart from each other,
  // so accepting one never meets the provider's one-accepted-booking-per-slot rule.
  const m: Market = {
    plumber,
    customers,
    bookers: await makeUsers(ctx, "user", n),
    admin: await demoToken(ctx, "9999999999", "admin"),
    acceptIds: await bookingPool(ctx, plumber, poolCustomers, n, "pending", 110),
    rejectIds: await bookingPool(ctx, plumber, poolCustomers, n, "pending", 135),
    completeIds: await bookingPool(ctx, plumber, poolCustomers, n, "accepted", 160),
  };
  ctx.cache.market = m;
  return m;
}
const M = (ctx: BenchCtx) => ctx.cache.market as Market;

/** One slot counter for every scenario that creates bookings on the demo listing: no two requests share a slot. */
let slotSeq = 0;
function bookingCreate(ctx: BenchCtx, _i: number): BenchRequest {
  const m = M(ctx);
  const slot = slotSeq++;
  const customer = m.bookers[slot % m.bookers.length]!;
  return {
    method: "POST",
    path: "/api/bookings",
    headers: { ...bearer(customer.token), "idempotency-key": `bench-create-${slot}` },
    body: JSON.stringify({ providerServiceId: m.plumber.listingId, selectedServices: ["tap-installation"], ...benchSlot(slot) }),
  };
}

function statusChange(ctx: BenchCtx, ids: string[], i: number, status: string): BenchRequest {
  // autocannon builds one request ahead per connection that it never sends, so indices may pass the
  // pool's end by ~100 without a request; wrapping keeps the builder total (the pool is sized with room).
  const id = ids[i % ids.length]!;
  return {
    method: "PUT",
    path: `/api/providers/bookings/${id}/status`,
    headers: bearer(M(ctx).plumber.provider.token),
    body: JSON.stringify(status === "rejected" ? { status, rejectionReason: "Not available at that time" } : { status }),
  };
}

const browse = {
  services: () => ({ path: "/api/public/services" }),
  providers: (ctx: BenchCtx) => ({
    path: `/api/public/services/${M(ctx).plumber.serviceId}/providers?limit=30&page=1&userCity=Bengaluru&userState=Karnataka`,
  }),
  detail: (ctx: BenchCtx) => ({ path: `/api/public/provider-service/${M(ctx).plumber.listingId}` }),
  featured: () => ({ path: "/api/public/featured-providers" }),
};

// ---- login ----------------------------------------------------------------------------------------

const LOGIN_PASSWORD = "Bench-pass-1";
const benchIp = (i: number) => `10.77.${Math.floor(i / 250) % 250}.${1 + (i % 250)}`;

async function loginUsers(ctx: BenchCtx): Promise<Party[]> {
  if (ctx.cache.loginUsers) return ctx.cache.loginUsers as Party[];
  // One production-cost hash shared by the accounts (a distinct salt each would only cost setup time).
  const users = await makeUsers(ctx, "user", VUS, scryptHash(LOGIN_PASSWORD));
  ctx.cache.loginUsers = users;
  return users;
}

// ---- payments and refunds ---------------------------------------------------------------------------

type Pay = { initiators: Party[]; paid: { token: string; orderId: string }[] };
const PAID_ORDERS = 300;

/**
 * Customers for first-time labour-access initiates (one each: PAYMENT_LIMITER is 10/min per user),
 * and PAID_ORDERS orders initiated through the API and paid at the sandbox (which also sends the
 * S2S webhook to the worker).
 */
async function payments(ctx: BenchCtx): Promise<Pay> {
  if (ctx.cache.pay) return ctx.cache.pay as Pay;
  const initiators = await makeUsers(ctx, "user", Math.max(1000, DURATION() * 200));
  const payers = await makeUsers(ctx, "user", PAID_ORDERS);
  const paid: Pay["paid"] = [];
  for (let k = 0; k < payers.length; k += 25) {
    const done = await Promise.all(
      payers.slice(k, k + 25).map(async ({ token }) => {
        const r = await fetch(`${ctx.base}/api/payments/initiate-labour-payment`, {
          method: "POST",
          headers: bearer(token),
          body: JSON.stringify({ amount: 99, serviceName: "labors", paymentMethod: "paytm" }),
        });
        if (!r.ok) throw new Error(`bench initiate failed: ${r.status} ${await r.text()}`);
        const { orderId } = (await r.json()) as { orderId: string };
        const p = await fetch(`${ctx.paytmUrl}/__sandbox/orders/${orderId}/pay`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ outcome: "success" }),
        });
        if (!p.ok) throw new Error(`sandbox pay failed: ${p.status}`);
        await p.arrayBuffer();
        return { token, orderId };
      }),
    );
    paid.push(...done);
  }
  const pay = { initiators, paid };
  ctx.cache.pay = pay;
  return pay;
}
const P = (ctx: BenchCtx) => ctx.cache.pay as Pay;

/** Orders that are `paid` in the database (verify or webhook applied them); stragglers are verified once more. */
async function paidOrders(ctx: BenchCtx): Promise<string[]> {
  const pay = await payments(ctx);
  for (let attempt = 0; attempt < 5; attempt++) {
    const { rows } = await ctx.db.query("select paytm_order_id from payment_orders where paytm_order_id = any($1) and status = 'paid'", [
      pay.paid.map((p) => p.orderId),
    ]);
    const done = new Set(rows.map((r: { paytm_order_id: string }) => r.paytm_order_id));
    const missing = pay.paid.filter((p) => !done.has(p.orderId));
    if (!missing.length) return [...done] as string[];
    await Promise.all(
      missing.map((p) =>
        fetch(`${ctx.base}/api/payments/verify-labour-payment`, {
          method: "POST",
          headers: bearer(p.token),
          body: JSON.stringify({ orderId: p.orderId }),
        }).then((r) => r.arrayBuffer()),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("bench: some sandbox-paid orders never became paid");
}

// ---- the scenarios --------------------------------------------------------------------------------

/** The foundation's baseline (issue 2): the same four at 32 connections, 5 s each. */
const BASELINE_32: Scenario[] = [
  { name: "bare route (ceiling) @32", connections: 32, duration: 5, build: () => ({ path: "/__bench/bare" }) },
  { name: "GET /health/ready @32", connections: 32, duration: 5, build: () => ({ path: "/health/ready" }) },
  { name: "read over HTTP mode @32", connections: 32, duration: 5, build: () => ({ path: "/__bench/db-http" }) },
  { name: "read over WebSocket Pool @32", connections: 32, duration: 5, build: () => ({ path: "/__bench/db-pool" }) },
];

export const scenarios: Scenario[] = [
  ...BASELINE_32,
  { name: "bare route (ceiling)", note: "GET /__bench/bare: the worker with no I/O", build: () => ({ path: "/__bench/bare" }) },
  { name: "GET /health/ready", note: "one SELECT 1", build: () => ({ path: "/health/ready" }) },
  {
    name: "read over HTTP mode",
    note: "GET /__bench/db-http: one statement over SQL-over-HTTP",
    build: () => ({ path: "/__bench/db-http" }),
  },
  {
    name: "read over WebSocket Pool",
    note: "GET /__bench/db-pool: the same statement in a Pool transaction (WebSocket + BEGIN/COMMIT)",
    build: () => ({ path: "/__bench/db-pool" }),
  },
  {
    name: "browse: GET /api/public/services",
    note: "catalogue, edge-cached",
    warmProbe: true,
    setup: async (ctx) => void (await market(ctx)),
    build: () => browse.services(),
  },
  {
    name: "browse: providers of a service",
    note: "GET /api/public/services/:id/providers: version read + Cache API",
    warmProbe: true,
    setup: async (ctx) => void (await market(ctx)),
    build: (ctx) => browse.providers(ctx),
  },
  {
    name: "browse: provider-service detail",
    note: "GET /api/public/provider-service/:id: version read + Cache API",
    warmProbe: true,
    setup: async (ctx) => void (await market(ctx)),
    build: (ctx) => browse.detail(ctx),
  },
  {
    name: "browse: featured providers",
    note: "GET /api/public/featured-providers: version read + Cache API",
    warmProbe: true,
    setup: async (ctx) => void (await market(ctx)),
    build: () => browse.featured(),
  },
  {
    name: "bookings list (customer)",
    note: "GET /api/bookings, 100 distinct customers",
    setup: async (ctx) => void (await market(ctx)),
    build: (ctx, i) => ({ path: "/api/bookings", headers: bearer(M(ctx).customers[i % VUS]!.token) }),
  },
  {
    name: "POST /api/auth/login",
    // scrypt ln=14 is CPU-bound (bench/login-cpu.ts) and local workerd runs one isolate: 100
    // simultaneous logins queue behind each other, so this is a login storm of fixed size (every VU
    // logs in once, distinct account and address) with a timeout above the whole queue.
    note: "100 VUs log in once each (100 requests, 180 s timeout); scrypt ln=14 r=8 p=5",
    amount: () => VUS,
    timeout: 180,
    setup: async (ctx) => void (await loginUsers(ctx)),
    build: (ctx, i) => {
      const users = ctx.cache.loginUsers as Party[];
      return {
        method: "POST",
        path: "/api/auth/login",
        headers: { "content-type": "application/json", "cf-connecting-ip": benchIp(i) },
        body: JSON.stringify({ phone: users[i % users.length]!.phone, password: LOGIN_PASSWORD, role: "user" }),
      };
    },
  },
  {
    name: "booking create",
    note: "POST /api/bookings: 100 customers, a distinct slot per request, Idempotency-Key; one transaction",
    setup: async (ctx) => void (await market(ctx)),
    build: bookingCreate,
  },
  {
    name: "provider status: accept",
    note: "PUT /api/providers/bookings/:id/status pending → accepted, a distinct booking per request",
    setup: async (ctx) => void (await market(ctx)),
    build: (ctx, i) => statusChange(ctx, M(ctx).acceptIds, i, "accepted"),
  },
  {
    name: "provider status: reject",
    note: "pending → rejected with a reason",
    setup: async (ctx) => void (await market(ctx)),
    build: (ctx, i) => statusChange(ctx, M(ctx).rejectIds, i, "rejected"),
  },
  {
    name: "provider status: complete",
    note: "accepted → completed",
    setup: async (ctx) => void (await market(ctx)),
    build: (ctx, i) => statusChange(ctx, M(ctx).completeIds, i, "completed"),
  },
  {
    name: "payment initiate (new order)",
    note: "POST /api/payments/initiate-labour-payment: each request a different customer's first order; DO → sandbox initiateTransaction",
    setup: async (ctx) => void (await payments(ctx)),
    build: (ctx, i) => {
      const list = P(ctx).initiators;
      const t = list[i % list.length]!;
      return {
        method: "POST",
        path: "/api/payments/initiate-labour-payment",
        headers: bearer(t.token),
        body: JSON.stringify({ amount: 99, serviceName: "labors", paymentMethod: "paytm" }),
      };
    },
  },
  {
    name: "payment verify (sandbox-paid orders)",
    note: `POST /api/payments/verify-labour-payment over ${PAID_ORDERS} orders paid at the sandbox (first verify or the webhook applies the payment)`,
    setup: async (ctx) => void (await payments(ctx)),
    build: (ctx, i) => {
      const { token, orderId } = P(ctx).paid[i % P(ctx).paid.length]!;
      return { method: "POST", path: "/api/payments/verify-labour-payment", headers: bearer(token), body: JSON.stringify({ orderId }) };
    },
  },
  {
    name: "refund request (admin)",
    note: "POST /api/payments/refund: admin, full refund, each paid order once (the order's DO dedupes; no Idempotency-Key on this route)",
    // Request indices 0 (the round-trip probe) and 1 (autocannon's template) are built before the run.
    amount: (ctx) => (ctx.cache.refundOrders as string[]).length - 2,
    setup: async (ctx) => {
      await market(ctx);
      ctx.cache.refundOrders = await paidOrders(ctx);
    },
    build: (ctx, i) => {
      const orders = ctx.cache.refundOrders as string[];
      const orderId = orders[i % orders.length]!;
      return {
        method: "POST",
        path: "/api/payments/refund",
        headers: bearer(M(ctx).admin.token),
        body: JSON.stringify({ orderId, reason: "bench: service cancelled" }),
      };
    },
  },
  {
    name: "100 users: browse-heavy mix",
    note: "per 20 requests: 12 browse (4 endpoints), 3 bookings list, 2 unread count, 1 provider bookings, 2 booking creates",
    setup: async (ctx) => void (await market(ctx)),
    build: (ctx, i) => {
      const m = M(ctx);
      const customer = m.customers[i % VUS]!;
      const k = i % 20;
      if (k < 12) return [browse.services, browse.providers, browse.detail, browse.featured][k % 4]!(ctx);
      if (k < 15) return { path: "/api/bookings?page=1&limit=10", headers: bearer(customer.token) };
      if (k < 17) return { path: "/api/bookings/unread-count", headers: bearer(customer.token) };
      if (k < 18) return { path: "/api/providers/bookings?page=1&limit=10", headers: bearer(m.plumber.provider.token) };
      return bookingCreate(ctx, i);
    },
  },
];
