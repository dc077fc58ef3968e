/**
 * Node-side helpers for the socket end-to-end run and the socket benchmark: the local stack plus a
 * `wrangler dev` of our own on a loopback port running both workers as production does (the edge on
 * the port, forwarding to the core: scripts/wrangler-pair.ts), and direct seeding of a booking's two
 * parties with access tokens signed exactly like src/lib/jwt.ts signs them. Loopback only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import pg from "pg";
import { type Stack, startStack } from "../../scripts/stack.ts";
import { workerPair } from "../../scripts/wrangler-pair.ts";

export const JWT_SECRET = "e2e-only-jwt-secret-0123456789abcdef0123";
const PAYTM = { mid: "BXE2E000000000000001", key: "e2ekey0123456789" };

export type LocalWorker = {
  base: string;
  stack: Stack /** Process group of wrangler and its workerd. */;
  pgid: number;
  stop(): Promise<void>;
};

export type LocalWorkerOptions = {
  /** Extra worker vars (e.g. GEOCODER_URL of a loopback mock); they override the defaults below. */
  vars?: Record<string, string>;
};

export async function startLocalWorker(
  port: number,
  log: (m: string) => void = () => {},
  opts: LocalWorkerOptions = {},
): Promise<LocalWorker> {
  const base = `http://127.0.0.1:${port}`;
  const stack = await startStack({
    persistent: false,
    database: `bx_e2e_${Date.now().toString(36)}`,
    fresh: true,
    demo: false,
    paytm: PAYTM,
    log,
  });
  const vars: Record<string, string> = {
    ENVIRONMENT: "development",
    LOG_LEVEL: "warn",
    DATABASE_URL: stack.databaseUrl,
    NEON_LOCAL_PROXY: stack.neonLocalProxy,
    JWT_SECRET,
    PAYTM_HOST: stack.paytmUrl,
    PAYTM_MID: PAYTM.mid,
    PAYTM_MERCHANT_KEY: PAYTM.key,
    PAYTM_WEBSITE: "WEBSTAGING",
    EXPO_PUSH_URL: stack.expoPushUrl,
    PUBLIC_BASE_URL: base,
    SMS_DRIVER: "console",
    PASSWORD_SCRYPT_LOG_N: "10",
    ...opts.vars,
  };
  // Both workers read these (GET /__scheduled?cron=… on the core runs a cron's tasks in development:
  // the contract run drives the refund poll this way).
  const pair = workerPair({ vars });
  const child: ChildProcess = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      ...pair.configArgs,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(port + 1000),
      "--show-interactive-dev-session=false",
      // Own Durable Object storage: other `wrangler dev` runs in this checkout share .wrangler/state (SQLITE_BUSY).
      "--persist-to",
      mkdtempSync(join(tmpdir(), `bx-e2e-${port}-`)),
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, detached: true },
  );
  const stop = async () => {
    // Our own process group only (wrangler and the workerd it started).
    try {
      if (child.pid) process.kill(-child.pid, "SIGINT");
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {}
    pair.remove();
    await stack.stop();
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/health/ready`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error("wrangler dev did not become ready in 90 s");
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { base, stack, pgid: child.pid ?? -1, stop };
}

export type Party = { id: string; token: string; fullName: string; phone: string };
export type SeededBooking = { bookingId: string; customer: Party; provider: Party };

const randomPhone = () => `${6 + Math.floor(Math.random() * 4)}${String(Math.floor(Math.random() * 1e9)).padStart(9, "0")}`;

async function signAccess(userId: string, role: string, sessionId: string, secret: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role, sid: sessionId, typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer("buildxpert")
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 15 * 60)
    .sign(new TextEncoder().encode(secret));
}

async function seedParty(client: pg.Client, role: "user" | "provider", name: string, secret: string): Promise<Party> {
  const phone = randomPhone();
  const u = await client.query(
    "INSERT INTO users (role, phone, full_name, password_hash, is_verified) VALUES ($1, $2, $3, '$scrypt$ln=10,r=8,p=5$x$y', true) RETURNING id",
    [role, phone, name],
  );
  const id = u.rows[0].id as string;
  const s = await client.query("INSERT INTO sessions (user_id) VALUES ($1) RETURNING id", [id]);
  return { id, phone, fullName: name, token: await signAccess(id, role, s.rows[0].id, secret) };
}

/** Customer + provider with an active listing, and `count` bookings between them in `status`. */
export async function seedBookings(
  databaseUrl: string,
  count = 1,
  status = "pending",
  secret = JWT_SECRET,
): Promise<{ customer: Party; provider: Party; bookingIds: string[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const customer = await seedParty(client, "user", "E2E Customer", secret);
    const provider = await seedParty(client, "provider", "E2E Provider", secret);
    const svc = (await client.query("SELECT id FROM services_master WHERE is_active ORDER BY name LIMIT 1")).rows[0].id;
    const profile = (await client.query("INSERT INTO provider_profiles (user_id) VALUES ($1) RETURNING id", [provider.id])).rows[0].id;
    const listing = (
      await client.query(
        "INSERT INTO provider_services (provider_id, service_id, status, activated_at, expires_at) VALUES ($1, $2, 'active', now() - interval '1 day', now() + interval '30 days') RETURNING id",
        [profile, svc],
      )
    ).rows[0].id;
    const bookingIds: string[] = [];
    for (let i = 0; i < count; i++) {
      const at = new Date(Date.now() + (3 + i) * 86_400_000);
      const r = await client.query(
        `INSERT INTO bookings (customer_id, provider_service_id, provider_id, selected_sub_services, total_price_paise, appointment_at, appointment_date, appointment_time, status)
         VALUES ($1, $2, $3, $4, 50000, $5, $6, '10:00 AM', $7) RETURNING id`,
        [
          customer.id,
          listing,
          profile,
          JSON.stringify([{ subServiceId: randomUUID(), slug: "x", name: "Visit", pricePaise: 50000 }]),
          at,
          at.toISOString().slice(0, 10),
          status,
        ],
      );
      bookingIds.push(r.rows[0].id);
    }
    return { customer, provider, bookingIds };
  } finally {
    await client.end();
  }
}
