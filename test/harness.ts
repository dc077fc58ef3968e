/**
 * The typed test harness: calls the real worker (SELF) and seeds the real database, so each test
 * states only what matters to it. Phones are random, so test files can share one database.
 */
import { env, SELF } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { hashPassword } from "../src/auth/password";
import { createDb, type Db } from "../src/db/client";
import { type OtpPurpose, type Role, type SignupRole, sessions, users } from "../src/db/schema";
import { loadConfig } from "../src/env";
import { signAccessToken } from "../src/lib/jwt";
import { type Answer, type ContractCheck, contractChecker, contractMessage, type OpenApiDoc } from "./contract-check";

export type { Role };
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
export type ApiResponse<T = any> = { status: number; body: T; headers: Headers; text: string };

export const config = () => loadConfig(env);

/** A database handle for assertions and seeding; close it in afterAll/afterEach or let the test end. */
export function testDb(): Db {
  return createDb(config());
}

let contract: Promise<ContractCheck> | undefined;

/**
 * The app's own OpenAPI document, fetched once per runtime: the test files share its isolate
 * (isolate: false), and the document depends only on the route table, not on the runtime's database.
 * A failed fetch is not kept, so the next answer checked tries again.
 */
function contractCheck(): Promise<ContractCheck> {
  contract ??= SELF.fetch("http://127.0.0.1/api/openapi.json")
    .then(async (r) => contractChecker((await r.json()) as OpenApiDoc))
    .catch((e: unknown) => {
      contract = undefined;
      throw e;
    });
  return contract;
}

/**
 * Every 2xx JSON answer a test receives through api() is checked against its route's response schema
 * in /api/openapi.json (test/contract-check.ts); a mismatch fails the test with route, path and the
 * first difference. Exported so a test can show the check refuses a wrong shape.
 */
export async function assertContract(a: Answer): Promise<void> {
  const mismatch = (await contractCheck())(a);
  if (mismatch) throw new Error(contractMessage(a, mismatch));
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
export async function api<T = any>(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: BodyInit; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: BodyInit | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await SELF.fetch(`http://127.0.0.1${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  await assertContract({ method, path, status: res.status, contentType: res.headers.get("content-type"), body: parsed });
  return { status: res.status, body: parsed as T, headers: res.headers, text };
}

export function randomPhone(): string {
  // 10 digits starting 6-9, like Indian mobile numbers.
  return `${6 + Math.floor(Math.random() * 4)}${String(Math.floor(Math.random() * 1e9)).padStart(9, "0")}`;
}

export const TEST_PASSWORD = "Passw0rd!";
let cachedHash: string | undefined;

export type SeededUser = { id: string; phone: string; role: Role; fullName: string; token: string; sessionId: string; password: string };

/** A verified account of the given role with a live session and an access token. */
export async function seedUser(role: Role = "user", over: { fullName?: string; phone?: string; email?: string } = {}): Promise<SeededUser> {
  const db = testDb();
  cachedHash ??= await hashPassword(TEST_PASSWORD, { ln: config().PASSWORD_SCRYPT_LOG_N, r: 8, p: 5 });
  const phone = over.phone ?? randomPhone();
  const fullName = over.fullName ?? `Test ${role} ${phone.slice(-4)}`;
  const [u] = await db.http
    .insert(users)
    .values({ role, phone, fullName, email: over.email, passwordHash: cachedHash, isVerified: true })
    .returning({ id: users.id });
  const [s] = await db.http.insert(sessions).values({ userId: u!.id }).returning({ id: sessions.id });
  const { token } = await signAccessToken(config().JWT_SECRET, { userId: u!.id, role, sessionId: s!.id });
  return { id: u!.id, phone, role, fullName, token, sessionId: s!.id, password: TEST_PASSWORD };
}

/** Accounts like seedUser's, many at once in two statements (suites that give every case its own). */
export async function seedUsers(roles: Role[]): Promise<SeededUser[]> {
  if (roles.length === 0) return [];
  const db = testDb();
  cachedHash ??= await hashPassword(TEST_PASSWORD, { ln: config().PASSWORD_SCRYPT_LOG_N, r: 8, p: 5 });
  const passwordHash = cachedHash;
  const phones = new Set<string>();
  while (phones.size < roles.length) phones.add(randomPhone());
  const wanted = [...phones].map((phone, i) => ({ role: roles[i]!, phone, fullName: `Test ${roles[i]} ${phone.slice(-4)}` }));
  const made = await db.http
    .insert(users)
    .values(wanted.map((w) => ({ ...w, passwordHash, isVerified: true })))
    .returning({ id: users.id, phone: users.phone });
  const idOf = new Map(made.map((u) => [u.phone, u.id]));
  const opened = await db.http
    .insert(sessions)
    .values(wanted.map((w) => ({ userId: idOf.get(w.phone)! })))
    .returning({ id: sessions.id, userId: sessions.userId });
  const sessionOf = new Map(opened.map((s) => [s.userId, s.id]));
  return Promise.all(
    wanted.map(async (w) => {
      const id = idOf.get(w.phone)!;
      const sessionId = sessionOf.get(id)!;
      const { token } = await signAccessToken(config().JWT_SECRET, { userId: id, role: w.role, sessionId });
      return { id, phone: w.phone, role: w.role, fullName: w.fullName, token, sessionId, password: TEST_PASSWORD };
    }),
  );
}

// ------------------------------------------------------------------------------------------------
// Accounts through the real API (signup → OTP → login). The OTP comes from the console SMS driver's
// development outbox (src/auth/sms.ts), the way a developer reads it from the `[DEV-SMS]` log line.

/** A random caller address, so per-IP throttles of one test never trip another's. */
export function randomIp(): string {
  return `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
}

/** The newest OTP the development SMS driver "sent" to this phone (optionally for one purpose). */
export async function lastOtp(phone: string, purpose?: OtpPurpose): Promise<string> {
  const db = testDb();
  const { rows } = await db.http.execute<{ code: string }>(
    sql`select code from dev_sms_outbox where phone = ${phone} ${purpose ? sql`and purpose = ${purpose}` : sql``} order by created_at desc, id desc limit 1`,
  );
  const code = rows[0]?.code;
  if (!code) throw new Error(`no OTP was sent to ${phone}`);
  return code;
}

export type SignedUpUser = {
  id: string;
  phone: string;
  role: SignupRole;
  password: string;
  accessToken: string;
  refreshToken: string;
  ip: string;
  // biome-ignore lint/suspicious/noExplicitAny: the user object as the API returned it
  user: any;
};

/** Signs up through /signup + /verify-otp (as the apps do) and returns the tokens verify-otp gave. */
export async function signupViaApi(
  role: SignupRole = "user",
  over: { phone?: string; fullName?: string; email?: string; password?: string; profilePicUrl?: string } = {},
): Promise<SignedUpUser> {
  const ip = randomIp();
  const phone = over.phone ?? randomPhone();
  const password = over.password ?? TEST_PASSWORD;
  const headers = { "cf-connecting-ip": ip };
  const s = await api("POST", "/api/auth/signup", {
    headers,
    body: {
      fullName: over.fullName ?? `Api ${role} ${phone.slice(-4).replace(/\d/g, (d) => "abcdefghij"[Number(d)]!)}`,
      email: over.email ?? `${role}.${phone}@example.com`,
      phone,
      password,
      role,
      ...(over.profilePicUrl !== undefined ? { profilePicUrl: over.profilePicUrl } : {}),
    },
  });
  if (s.status !== 200) throw new Error(`signup failed: ${s.status} ${s.text}`);
  const v = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: await lastOtp(phone, "signup") } });
  if (v.status !== 200) throw new Error(`verify-otp failed: ${v.status} ${v.text}`);
  return {
    id: v.body.data.user.id,
    phone,
    role,
    password,
    accessToken: v.body.data.accessToken,
    refreshToken: v.body.data.refreshToken,
    ip,
    user: v.body.data.user,
  };
}

// ---------------------------------------------------------------------------------------------
// Marketplace fixtures (test/marketplace): listings, labour access and appointment slots.

export type SeededListing = { providerServiceId: string; serviceId: string; provider: SeededUser; prices: Record<string, number> };

/**
 * An active (or pending) listing of `service` for a new provider (or the given one), priced in paise
 * per sub-service slug, with a home address. Written straight to the database, like a paid listing.
 */
export async function seedListing(
  opts: {
    service?: string;
    prices?: Record<string, number>;
    provider?: SeededUser;
    status?: "active" | "pending";
    city?: string;
    state?: string;
    years?: number;
    description?: string;
  } = {},
): Promise<SeededListing> {
  const { sql: q } = await import("drizzle-orm");
  const db = testDb();
  const rows = async (s: ReturnType<typeof q>) => (await db.http.execute(s)).rows as Record<string, unknown>[];
  const provider = opts.provider ?? (await seedUser("provider"));
  const prices = opts.prices ?? { "tap-installation": 49900, "shower-installation": 79900 };
  const [svc] = await rows(q`select id from services_master where name = ${opts.service ?? "plumber"}`);
  const serviceId = svc!.id as string;
  const [profile] = await rows(
    q`insert into provider_profiles (user_id, years_of_experience) values (${provider.id}, ${opts.years ?? 5})
      on conflict (user_id) do update set years_of_experience = excluded.years_of_experience returning id`,
  );
  await rows(
    q`insert into addresses (user_id, type, state, city, full_address)
      values (${provider.id}, 'home', ${opts.state ?? "Karnataka"}, ${opts.city ?? "Bengaluru"}, '1 Test Road')
      on conflict (user_id) where type = 'home' do nothing`,
  );
  const active = (opts.status ?? "active") === "active";
  const [listing] = await rows(
    q`insert into provider_services (provider_id, service_id, status, service_description, activated_at, expires_at)
      values (${profile!.id}, ${serviceId}, ${active ? "active" : "pending"}::listing_status, ${opts.description ?? "Test listing"},
              ${active ? q`now()` : q`null`}, ${active ? q`now() + interval '30 days'` : q`null`})
      returning id`,
  );
  for (const [slug, pricePaise] of Object.entries(prices)) {
    await rows(
      q`insert into provider_sub_services (provider_service_id, service_id, sub_service_id, price_paise)
        select ${listing!.id}, ${serviceId}, s.id, ${pricePaise} from sub_services s where s.service_id = ${serviceId} and s.slug = ${slug}`,
    );
  }
  return { providerServiceId: listing!.id as string, serviceId, provider, prices };
}

/** Paid labour access for a customer (a settled ₹99 order and its 7-day window). */
export async function grantLabourAccess(userId: string): Promise<void> {
  const { sql: q } = await import("drizzle-orm");
  const orderId = `TEST_LAB_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
  await testDb().http.execute(
    q`with o as (
        insert into payment_orders (paytm_order_id, user_id, purpose, amount_paise, validity_days, status, expires_at, gateway_txn_id,
                                    paid_at, activated_at, granted_from, granted_until)
        values (${orderId}, ${userId}, 'labour_access', 9900, 7, 'paid', now() + interval '30 minutes', ${`TXN_${orderId}`}, now(), now(),
                now() - interval '1 minute', now() + interval '7 days')
        returning id, granted_from, granted_until)
      insert into labour_access (user_id, order_id, starts_at, expires_at) select ${userId}, id, granted_from, granted_until from o`,
  );
}

export { istSlot } from "./ist-slot";
