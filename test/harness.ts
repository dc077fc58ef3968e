/**
 * The typed test harness: calls the real worker (SELF) and seeds the real database, so each test
 * states only what matters to it. Phones are random, so test files can share one database.
 */
import { env, SELF } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { signAccessToken } from "../src/auth/jwt";
import { hashPassword } from "../src/auth/password";
import { createDb, type Db } from "../src/db/client";
import { sessions, users } from "../src/db/schema";
import { loadConfig } from "../src/env";

export type Role = "user" | "provider" | "admin";
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
export type ApiResponse<T = any> = { status: number; body: T; headers: Headers; text: string };

export const config = () => loadConfig(env);

/** A database handle for assertions and seeding; close it in afterAll/afterEach or let the test end. */
export function testDb(): Db {
  return createDb(config());
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
  cachedHash ??= hashPassword(TEST_PASSWORD, { ln: config().PASSWORD_SCRYPT_LOG_N, r: 8, p: 5 });
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

// ------------------------------------------------------------------------------------------------
// Accounts through the real API (signup → OTP → login). The OTP comes from the console SMS driver's
// development outbox (src/auth/sms.ts), the way a developer reads it from the `[DEV-SMS]` log line.

/** A random caller address, so per-IP throttles of one test never trip another's. */
export function randomIp(): string {
  return `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
}

/** The newest OTP the development SMS driver "sent" to this phone (optionally for one purpose). */
export async function lastOtp(phone: string, purpose?: "signup" | "login" | "password_reset"): Promise<string> {
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
  role: "user" | "provider";
  password: string;
  accessToken: string;
  refreshToken: string;
  ip: string;
  // biome-ignore lint/suspicious/noExplicitAny: the user object as the API returned it
  user: any;
};

/** Signs up through /signup + /verify-otp (as the apps do) and returns the tokens verify-otp gave. */
export async function signupViaApi(
  role: "user" | "provider" = "user",
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
