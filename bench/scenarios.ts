/** Benchmark scenarios. Each capability adds its own; `setup` may create users, listings, tokens. */
export type BenchRequest = { method?: string; path: string; headers?: Record<string, string>; body?: string };
export type Scenario = {
  name: string;
  connections?: number;
  duration?: number;
  note?: string;
  expectedStatus?: number[];
  setup?: (ctx: Record<string, unknown>) => Promise<void>;
  request: (ctx: Record<string, unknown>, i: number) => Promise<BenchRequest> | BenchRequest;
  /** Synchronous per-request builder for scenarios whose requests differ (autocannon's hook is sync). */
  requestSync?: (ctx: Record<string, unknown>, i: number) => BenchRequest;
};

/**
 * Accounts created through the real API (signup → OTP from the console driver's dev outbox →
 * verify-otp), so the login scenario exercises exactly what the apps do. Each request comes from its
 * own CF-Connecting-IP so the per-address throttle (AUTH_LIMITER, 20/min) measures the login, not
 * the limiter.
 */
const LOGIN_USERS = 8;
const benchIp = (i: number) => `10.77.${Math.floor(i / 250) % 250}.${1 + (i % 250)}`;

async function setupLoginUsers(ctx: Record<string, unknown>): Promise<void> {
  if (ctx.loginUsers) return;
  const base = ctx.base as string;
  const { databaseUrl } = ctx.stack as { databaseUrl: string };
  const pg = (await import("pg")).default;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const phones: string[] = [];
  try {
    for (let k = 0; k < LOGIN_USERS; k++) {
      const phone = `9${String(Date.now() % 1e6).padStart(6, "0")}${String(k).padStart(3, "0")}`;
      const headers = { "content-type": "application/json", "cf-connecting-ip": benchIp(10_000 + k) };
      const s = await fetch(`${base}/api/auth/signup`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          fullName: "Bench User",
          email: `bench.${phone}@example.com`,
          phone,
          password: "Bench-pass-1",
          role: "user",
        }),
      });
      if (!s.ok) throw new Error(`bench signup failed: ${s.status} ${await s.text()}`);
      const { rows } = await db.query("select code from dev_sms_outbox where phone = $1 order by created_at desc limit 1", [phone]);
      const v = await fetch(`${base}/api/auth/verify-otp`, { method: "POST", headers, body: JSON.stringify({ phone, otp: rows[0].code }) });
      if (!v.ok) throw new Error(`bench verify-otp failed: ${v.status} ${await v.text()}`);
      phones.push(phone);
    }
  } finally {
    await db.end();
  }
  ctx.loginUsers = phones;
}

function loginRequest(ctx: Record<string, unknown>, i: number): BenchRequest {
  const phones = ctx.loginUsers as string[];
  return {
    method: "POST",
    path: "/api/auth/login",
    headers: { "content-type": "application/json", "cf-connecting-ip": benchIp(i) },
    body: JSON.stringify({ phone: phones[i % phones.length], password: "Bench-pass-1", role: "user" }),
  };
}

export const scenarios: Scenario[] = [
  { name: "bare route (ceiling)", request: () => ({ path: "/__bench/bare" }) },
  { name: "GET /health", request: () => ({ path: "/health" }) },
  { name: "GET /health/ready", request: () => ({ path: "/health/ready" }) },
  { name: "read over HTTP mode", request: () => ({ path: "/__bench/db-http" }) },
  { name: "read over WebSocket Pool", request: () => ({ path: "/__bench/db-pool" }) },
  {
    name: "POST /api/auth/login",
    // CPU-bound by design (scrypt N=2^14, r=8, p=5 ≈ 0.25 s of one core per login, bench/login-cpu.ts):
    // a few connections show the per-login latency without queueing everything behind the KDF.
    connections: 4,
    note: "scrypt ln=14 r=8 p=5; 2 DB round trips",
    setup: setupLoginUsers,
    request: loginRequest,
    requestSync: loginRequest,
  },
];

// ---------------------------------------------------------------------------------------------
// Marketplace (src/catalogue, src/bookings, src/providers). The bench database has the demo seed:
// customer 9876500001, the plumber listing of 9876500002. Tokens are minted for fresh sessions
// straight in the database (the worker's JWT secret comes from .dev.vars under `wrangler dev`).

type MarketCtx = { customerToken: string; providerToken: string; plumberServiceId: string; plumberListingId: string; pendingIds: string[] };

async function setupMarketplace(ctx: Record<string, unknown>): Promise<MarketCtx> {
  if (ctx.market) return ctx.market as MarketCtx;
  const { readFileSync } = await import("node:fs");
  const { SignJWT } = await import("jose");
  const pg = (await import("pg")).default;
  const secret = /^JWT_SECRET=(.*)$/m.exec(readFileSync(".dev.vars", "utf8"))?.[1]?.trim();
  if (!secret) throw new Error("JWT_SECRET not found in .dev.vars");
  const db = new pg.Client({ connectionString: (ctx.stack as { databaseUrl: string }).databaseUrl });
  await db.connect();
  try {
    const token = async (phone: string, role: "user" | "provider") => {
      const { rows } = await db.query(
        `insert into sessions (user_id) select id from users where phone = $1 and role = $2 and deleted_at is null returning id, user_id`,
        [phone, role],
      );
      return new SignJWT({ role, sid: rows[0].id, typ: "access" })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(rows[0].user_id)
        .setIssuer("buildxpert")
        .setJti(crypto.randomUUID())
        .setIssuedAt()
        .setExpirationTime("2h")
        .sign(new TextEncoder().encode(secret));
    };
    const { rows: l } = await db.query(
      `select ps.id, ps.service_id, ps.provider_id from provider_services ps join provider_profiles pp on pp.id = ps.provider_id
         join users u on u.id = pp.user_id join services_master sm on sm.id = ps.service_id
        where u.phone = '9876500002' and sm.name = 'plumber' and ps.status = 'active'`,
    );
    // A pool of pending bookings (distinct slots far ahead, one per request) for the status-change
    // scenario, held by a customer of its own so the demo customer's list stays realistic.
    const { rows: pool } = await db.query(
      `insert into users (role, phone, full_name, password_hash) values ('user', $1, 'Bench Pool Customer', 'x') returning id`,
      [`6${String(Date.now() % 1e9).padStart(9, "0")}`],
    );
    const { rows: pending } = await db.query(
      `insert into bookings (customer_id, provider_service_id, provider_id, selected_sub_services, total_price_paise,
                             appointment_at, appointment_date, appointment_time, idempotency_key)
       select c.id, $1, $2, '[{"slug":"tap-installation","name":"Tap Installation","pricePaise":49900,"subServiceId":"00000000-0000-0000-0000-000000000000"}]'::jsonb,
              49900, date_trunc('day', now()) + interval '120 days' + g * interval '1 minute',
              (date_trunc('day', now()) + interval '120 days' + g * interval '1 minute')::date, '10:00 AM', 'bench-accept-' || g || '-' || $3
         from generate_series(1, 30000) g, (select $4::uuid as id) c
       returning id`,
      [l[0].id, l[0].provider_id, Date.now(), pool[0].id],
    );
    const market: MarketCtx = {
      customerToken: await token("9876500001", "user"),
      providerToken: await token("9876500002", "provider"),
      plumberServiceId: l[0].service_id,
      plumberListingId: l[0].id,
      pendingIds: pending.map((r: { id: string }) => r.id),
    };
    ctx.market = market;
    return market;
  } finally {
    await db.end();
  }
}

const market = (ctx: Record<string, unknown>) => ctx.market as MarketCtx;
const auth = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

/** A distinct India-time slot per request index (minute steps from 09:00, day by day, within the 180-day horizon). */
function benchSlot(i: number): { appointmentDate: string; appointmentTime: string } {
  const day = 1 + Math.floor(i / 600);
  const minutes = 9 * 60 + (i % 600);
  const ist = new Date(Date.now() + 330 * 60_000);
  const d = new Date(Date.UTC(ist.getUTCFullYear(), ist.getUTCMonth(), ist.getUTCDate() + day)).toISOString().slice(0, 10);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return { appointmentDate: d, appointmentTime: `${h % 12 === 0 ? 12 : h % 12}:${String(m).padStart(2, "0")} ${h < 12 ? "AM" : "PM"}` };
}

const runId = Date.now() % 100_000;

scenarios.push(
  {
    name: "browse providers (public list; edge-cached)",
    note: "GET /api/public/services/:id/providers: 1 version read + Cache API hit",
    setup: async (ctx) => void (await setupMarketplace(ctx)),
    request: (ctx) => ({
      path: `/api/public/services/${market(ctx).plumberServiceId}/providers?limit=30&page=1&userCity=Bengaluru&userState=Karnataka`,
    }),
  },
  {
    name: "bookings list (authenticated)",
    note: "GET /api/bookings: auth + one list-and-count query",
    setup: async (ctx) => void (await setupMarketplace(ctx)),
    request: (ctx) => ({ path: "/api/bookings", headers: auth(market(ctx).customerToken) }),
  },
  {
    name: "booking create",
    note: "POST /api/bookings: one transaction (booking + 2 notifications + events), distinct slot per request",
    connections: 16,
    expectedStatus: [201],
    setup: async (ctx) => void (await setupMarketplace(ctx)),
    request: (ctx, i) => bookingCreate(ctx, i),
    requestSync: (ctx, i) => bookingCreate(ctx, i),
  },
  {
    name: "provider status change (accept)",
    note: "PUT /api/providers/bookings/:id/status: compare-and-set + notification in one transaction",
    connections: 16,
    expectedStatus: [200],
    setup: async (ctx) => void (await setupMarketplace(ctx)),
    request: (ctx, i) => accept(ctx, i),
    requestSync: (ctx, i) => accept(ctx, i),
  },
);

function bookingCreate(ctx: Record<string, unknown>, i: number): BenchRequest {
  const m = market(ctx);
  return {
    method: "POST",
    path: "/api/bookings",
    headers: { ...auth(m.customerToken), "idempotency-key": `bench-${runId}-${i}` },
    body: JSON.stringify({ providerServiceId: m.plumberListingId, selectedServices: ["tap-installation"], ...benchSlot(i + 1) }),
  };
}

function accept(ctx: Record<string, unknown>, i: number): BenchRequest {
  const m = market(ctx);
  return {
    method: "PUT",
    path: `/api/providers/bookings/${m.pendingIds[i % m.pendingIds.length]}/status`,
    headers: auth(m.providerToken),
    body: JSON.stringify({ status: "accepted" }),
  };
}

// ---------------------------------------------------------------------------------------------
// Payments (src/payments) against the Paytm sandbox, 50 concurrent users. Payers are inserted
// straight into the database with fresh sessions (JWT secret from .dev.vars, as above).
// - initiate: every request is a different customer's FIRST labour-access initiate, so each one
//   creates an order and makes one real initiateTransaction call to the sandbox through its
//   PaymentOrder Durable Object (the existing-order path is cheaper and not what we measure).
// - verify: customers whose orders are paid at the sandbox (the sandbox also delivers the S2S
//   webhook to the worker); the first verify of an order may apply it, later ones are answered from
//   the order's Durable Object ("already processed"). 400 orders keep each under its 60/min limit.

type PayCtx = { initiateTokens: string[]; verifies: { token: string; orderId: string }[] };
const PAY_INITIATE_USERS = 9000;
const PAY_VERIFY_USERS = 400;

async function setupPayments(ctx: Record<string, unknown>): Promise<PayCtx> {
  if (ctx.payments) return ctx.payments as PayCtx;
  const { readFileSync } = await import("node:fs");
  const { SignJWT } = await import("jose");
  const pg = (await import("pg")).default;
  const secret = /^JWT_SECRET=(.*)$/m.exec(readFileSync(".dev.vars", "utf8"))?.[1]?.trim();
  if (!secret) throw new Error("JWT_SECRET not found in .dev.vars");
  const key = new TextEncoder().encode(secret);
  const db = new pg.Client({ connectionString: (ctx.stack as { databaseUrl: string }).databaseUrl });
  await db.connect();
  const prefix = String((Date.now() % 900) + 100); // 3 digits, distinct per run
  try {
    const { rows } = await db.query(
      `with u as (
         insert into users (role, phone, full_name, password_hash, is_verified)
         select 'user', '5' || $1 || lpad(g::text, 6, '0'), 'Bench Payer', 'bench-not-a-login', true
           from generate_series(1, $2::int) g
         returning id)
       insert into sessions (user_id) select id from u returning id, user_id`,
      [prefix, PAY_INITIATE_USERS + PAY_VERIFY_USERS],
    );
    const tokens = await Promise.all(
      rows.map((r: { id: string; user_id: string }) =>
        new SignJWT({ role: "user", sid: r.id, typ: "access" })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setSubject(r.user_id)
          .setIssuer("buildxpert")
          .setJti(crypto.randomUUID())
          .setIssuedAt()
          .setExpirationTime("2h")
          .sign(key),
      ),
    );
    const base = ctx.base as string;
    const paytmUrl = (ctx.stack as { paytmUrl: string }).paytmUrl;
    const verifyTokens = tokens.slice(PAY_INITIATE_USERS);
    const verifies: PayCtx["verifies"] = [];
    for (let k = 0; k < verifyTokens.length; k += 20) {
      const batch = verifyTokens.slice(k, k + 20);
      const done = await Promise.all(
        batch.map(async (token) => {
          const r = await fetch(`${base}/api/payments/initiate-labour-payment`, {
            method: "POST",
            headers: payAuth(token),
            body: JSON.stringify({ amount: 99, serviceName: "labors", paymentMethod: "paytm" }),
          });
          if (!r.ok) throw new Error(`bench initiate failed: ${r.status} ${await r.text()}`);
          const { orderId } = (await r.json()) as { orderId: string };
          const p = await fetch(`${paytmUrl}/__sandbox/orders/${orderId}/pay`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ outcome: "success" }),
          });
          if (!p.ok) throw new Error(`sandbox pay failed: ${p.status}`);
          await p.arrayBuffer();
          return { token, orderId };
        }),
      );
      verifies.push(...done);
    }
    const payments: PayCtx = { initiateTokens: tokens.slice(0, PAY_INITIATE_USERS), verifies };
    ctx.payments = payments;
    return payments;
  } finally {
    await db.end();
  }
}

const payments = (ctx: Record<string, unknown>) => ctx.payments as PayCtx;
const payAuth = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

function labourInitiate(ctx: Record<string, unknown>, i: number): BenchRequest {
  const t = payments(ctx).initiateTokens;
  return {
    method: "POST",
    path: "/api/payments/initiate-labour-payment",
    headers: payAuth(t[i % t.length]!),
    body: JSON.stringify({ amount: 99, serviceName: "labors", paymentMethod: "paytm" }),
  };
}

function labourVerify(ctx: Record<string, unknown>, i: number): BenchRequest {
  const v = payments(ctx).verifies;
  const { token, orderId } = v[i % v.length]!;
  return { method: "POST", path: "/api/payments/verify-labour-payment", headers: payAuth(token), body: JSON.stringify({ orderId }) };
}

scenarios.push(
  {
    name: "payment initiate (new order)",
    note: "POST /api/payments/initiate-labour-payment: auth, limiter, order claim, DO → sandbox initiateTransaction",
    connections: 50,
    expectedStatus: [200],
    setup: async (ctx) => void (await setupPayments(ctx)),
    request: (ctx, i) => labourInitiate(ctx, i),
    requestSync: (ctx, i) => labourInitiate(ctx, i),
  },
  {
    name: "payment verify (paid orders)",
    note: "POST /api/payments/verify-labour-payment: auth, order read, DO (status read + activation once, then stored)",
    connections: 50,
    expectedStatus: [200],
    setup: async (ctx) => void (await setupPayments(ctx)),
    request: (ctx, i) => labourVerify(ctx, i),
    requestSync: (ctx, i) => labourVerify(ctx, i),
  },
);
