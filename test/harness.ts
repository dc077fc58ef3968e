/**
 * The typed test harness: calls the real worker (SELF) and seeds the real database, so each test
 * states only what matters to it. Phones are random, so test files can share one database.
 */
import { env, SELF } from "cloudflare:test";
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
