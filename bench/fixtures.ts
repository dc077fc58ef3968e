/**
 * Data the benchmark drives the worker with, written straight into the bench database (never through
 * the API, so setup costs no worker time): users with live sessions and access tokens signed exactly
 * like src/lib/jwt.ts signs them, pools of bookings in a given status, and a login password hash
 * at the production cost. Loopback only.
 */
import { randomBytes, randomUUID, scryptSync } from "node:crypto";
import { SignJWT } from "jose";
import pg from "pg";

export type BenchCtx = {
  base: string;
  databaseUrl: string;
  paytmUrl: string;
  jwtSecret: string;
  db: pg.Client;
  /** Scenario caches (set by their setup). */
  cache: Record<string, unknown>;
};

export type Party = { id: string; token: string; phone: string };

export async function openDb(databaseUrl: string): Promise<pg.Client> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  return db;
}

export async function signAccess(secret: string, userId: string, role: string, sessionId: string): Promise<string> {
  return new SignJWT({ role, sid: sessionId, typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer("buildxpert")
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(secret));
}

let phoneSeq = 0;

/** `n` verified accounts of `role` (phones 5xxxxxxxxx, outside the demo seed), each with a live session and token. */
export async function makeUsers(
  ctx: BenchCtx,
  role: "user" | "provider" | "admin",
  n: number,
  passwordHash = "bench-not-a-login",
): Promise<Party[]> {
  const first = phoneSeq;
  phoneSeq += n;
  const { rows } = await ctx.db.query(
    `with u as (
       insert into users (role, phone, full_name, password_hash, is_verified)
       select $1::user_role, '5' || lpad(($2::int + g)::text, 9, '0'), 'Bench ' || $1 || ' ' || g, $4, true
         from generate_series(1, $3::int) g
       returning id, phone)
     insert into sessions (user_id) select id from u returning id, user_id, (select phone from u where u.id = user_id) as phone`,
    [role, first, n, passwordHash],
  );
  return Promise.all(
    rows.map(async (r: { id: string; user_id: string; phone: string }) => ({
      id: r.user_id,
      phone: r.phone,
      token: await signAccess(ctx.jwtSecret, r.user_id, role, r.id),
    })),
  );
}

/** A token for a demo-seed account (new session). */
export async function demoToken(ctx: BenchCtx, phone: string, role: "user" | "provider" | "admin"): Promise<Party> {
  const { rows } = await ctx.db.query(
    "insert into sessions (user_id) select id from users where phone = $1 and role = $2 and deleted_at is null returning id, user_id",
    [phone, role],
  );
  if (!rows[0]) throw new Error(`demo account ${phone}/${role} missing (seed with demo data)`);
  return { id: rows[0].user_id, phone, token: await signAccess(ctx.jwtSecret, rows[0].user_id, role, rows[0].id) };
}

/** PHC-like scrypt hash as src/auth/password.ts writes it, at the production cost (ln=14, r=8, p=5). */
export function scryptHash(password: string, ln = 14): string {
  const salt = randomBytes(16);
  const dk = scryptSync(password.normalize("NFKC"), salt, 32, { N: 2 ** ln, r: 8, p: 5, maxmem: 256 * 2 ** 20 });
  return `$scrypt$ln=${ln},r=8,p=5$${salt.toString("base64url")}$${dk.toString("base64url")}`;
}

export type Listing = { listingId: string; serviceId: string; providerProfileId: string; provider: Party };

/** The demo plumber's active listing (it offers "tap-installation"). */
export async function plumberListing(ctx: BenchCtx): Promise<Listing> {
  const { rows } = await ctx.db.query(
    `select ps.id, ps.service_id, ps.provider_id from provider_services ps join provider_profiles pp on pp.id = ps.provider_id
       join users u on u.id = pp.user_id join services_master sm on sm.id = ps.service_id
      where u.phone = '9876500002' and sm.name = 'plumber' and ps.status = 'active'`,
  );
  if (!rows[0]) throw new Error("demo plumber listing missing");
  return {
    listingId: rows[0].id,
    serviceId: rows[0].service_id,
    providerProfileId: rows[0].provider_id,
    provider: await demoToken(ctx, "9876500002", "provider"),
  };
}

/**
 * `n` bookings of `listing` in `status`, one minute apart from `fromDay` days ahead (distinct slots,
 * so no uniqueness rule is in play), spread over `customers`.
 */
export async function bookingPool(
  ctx: BenchCtx,
  listing: Listing,
  customers: Party[],
  n: number,
  status: "pending" | "accepted",
  fromDay: number,
): Promise<string[]> {
  const { rows } = await ctx.db.query(
    `insert into bookings (customer_id, provider_service_id, provider_id, selected_sub_services, total_price_paise,
                           appointment_at, appointment_date, appointment_time, status, idempotency_key)
     select ($4::uuid[])[1 + (g % array_length($4::uuid[], 1))], $1, $2,
            '[{"slug":"tap-installation","name":"Tap Installation","pricePaise":49900,"subServiceId":"00000000-0000-0000-0000-000000000000"}]'::jsonb,
            49900, date_trunc('day', now()) + ($5::int * interval '1 day') + g * interval '1 minute',
            (date_trunc('day', now()) + ($5::int * interval '1 day') + g * interval '1 minute')::date, '10:00 AM',
            $6::booking_status, 'bench-pool-' || $5 || '-' || g
       from generate_series(1, $3::int) g
     returning id`,
    [listing.listingId, listing.providerProfileId, n, customers.map((c) => c.id), fromDay, status],
  );
  return rows.map((r: { id: string }) => r.id);
}

/** A distinct India-time slot per index (minute steps from 09:00, day by day, inside the 180-day booking horizon). */
export function benchSlot(i: number): { appointmentDate: string; appointmentTime: string } {
  const day = 1 + Math.floor(i / 600);
  const minutes = 9 * 60 + (i % 600);
  const ist = new Date(Date.now() + 330 * 60_000);
  const d = new Date(Date.UTC(ist.getUTCFullYear(), ist.getUTCMonth(), ist.getUTCDate() + day)).toISOString().slice(0, 10);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return { appointmentDate: d, appointmentTime: `${h % 12 === 0 ? 12 : h % 12}:${String(m).padStart(2, "0")} ${h < 12 ? "AM" : "PM"}` };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
