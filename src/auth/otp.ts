import { and, desc, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import type { HttpDb, TxDb } from "../db/client";
import { otpChallenges, otpLockouts, type OtpPurpose as Purpose, type Role } from "../db/schema";
import { AppError } from "../http/errors";
import { constantTimeEqualStrings } from "../lib/bytes";
import { hmacHex } from "../lib/hmac";

/**
 * OTP challenges, durable in Postgres (upstream kept them in process memory):
 * 6 digits from the CSPRNG, stored as HMAC(JWT_SECRET, purpose|role|phone|code) so a database
 * read gives nothing usable and a code for one purpose or role can never match another's hash.
 * Single use, 5-minute expiry, 30 s resend cooldown, at most 5 sends per 15 minutes.
 * 5 wrong codes lock phone+role+purpose for 15 minutes (otp_lockouts, which resends cannot reset);
 * each attempt is reserved there before its code is compared, so concurrency cannot exceed the 5.
 */
export const OTP_TTL_SECONDS = 5 * 60;
export const RESEND_COOLDOWN_SECONDS = 30;
export const MAX_SENDS = 5;
export const MAX_FAILED = 5;
export const LOCK_SECONDS = 15 * 60;

type Exec = HttpDb | TxDb;

/** Uniform over 000000-999999: rejection sampling avoids the modulo bias of a plain `% 1e6`. */
export function generateOtp(): string {
  const buf = new Uint32Array(1);
  const limit = 4_294_000_000; // largest multiple of 1e6 below 2^32
  for (;;) {
    crypto.getRandomValues(buf);
    if (buf[0]! < limit) return String(buf[0]! % 1_000_000).padStart(6, "0");
  }
}

export function otpHash(secret: string, s: { phone: string; role: Role; purpose: Purpose; code: string }): Promise<string> {
  return hmacHex(secret, `otp|${s.purpose}|${s.role}|${s.phone}|${s.code}`);
}

/** "m:ss": the apps parse it out of "Too many failed attempts" to run a countdown (docs/api-contract.md §3.1). */
export function mss(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function lockedError(secondsLeft: number): AppError {
  const s = Math.max(1, Math.ceil(secondsLeft));
  return new AppError("ACCOUNT_LOCKED", `Too many failed attempts. Please try again in ${mss(s)}`, {
    retryAfter: s,
    extra: { locked: true, lockoutTimeRemaining: s, remainingAttempts: 0 },
  });
}

const secondsUntil = (d: Date) => (d.getTime() - Date.now()) / 1000;

/** Seconds left on a lockout of this phone+purpose for any of `roles`, or 0. */
export async function lockoutRemaining(db: Exec, phone: string, roles: Role[], purpose: Purpose): Promise<number> {
  const rows = await (db as HttpDb)
    .select({ lockedUntil: otpLockouts.lockedUntil })
    .from(otpLockouts)
    .where(
      and(
        eq(otpLockouts.phone, phone),
        eq(otpLockouts.purpose, purpose),
        inArray(otpLockouts.role, roles),
        gt(otpLockouts.lockedUntil, sql`now()`),
      ),
    );
  return rows.reduce((m, r) => Math.max(m, r.lockedUntil ? secondsUntil(r.lockedUntil) : 0), 0);
}

/**
 * Reserves one attempt per role before a code is compared: a single upsert counts it as a failure
 * unless 5 are already counted in the window, so no more than 5 wrong codes are ever compared per
 * lock window, however many arrive at once or from however many addresses (checking the lock first
 * and recording the failure after the comparison let parallel guesses through). The 5th reservation
 * sets the lock. The window restarts 15 minutes after its first failure or once a lock has run out.
 * Returns the roles whose reservation was granted, with their count; a role missing was refused.
 */
async function reserveAttempts(
  db: Exec,
  phone: string,
  roles: Role[],
  purpose: Purpose,
): Promise<{ role: Role; failed: number; lockedUntil: Date | null }[]> {
  const locked = sql`(${otpLockouts.lockedUntil} is not null and ${otpLockouts.lockedUntil} > now())`;
  const fresh = sql`(${otpLockouts.lockedUntil} is not null or ${otpLockouts.windowStartedAt} < now() - make_interval(secs => ${LOCK_SECONDS}))`;
  const next = sql`(case when ${fresh} then 1 else ${otpLockouts.failedCount} + 1 end)`;
  return (db as HttpDb)
    .insert(otpLockouts)
    .values(roles.map((role) => ({ phone, role, purpose, failedCount: 1 })))
    .onConflictDoUpdate({
      target: [otpLockouts.phone, otpLockouts.role, otpLockouts.purpose],
      set: {
        failedCount: next,
        windowStartedAt: sql`case when ${fresh} then now() else ${otpLockouts.windowStartedAt} end`,
        lockedUntil: sql`case when ${next} >= ${MAX_FAILED} then now() + make_interval(secs => ${LOCK_SECONDS}) else null end`,
      },
      setWhere: sql`not ${locked} and (${fresh} or ${otpLockouts.failedCount} < ${MAX_FAILED})`,
    })
    .returning({ role: otpLockouts.role, failed: otpLockouts.failedCount, lockedUntil: otpLockouts.lockedUntil });
}

/** Gives reserved attempts back (a right code, or a request refused before any comparison). */
async function releaseAttempts(db: Exec, phone: string, roles: Role[], purpose: Purpose): Promise<void> {
  if (roles.length === 0) return;
  await (db as HttpDb)
    .update(otpLockouts)
    .set({
      failedCount: sql`greatest(${otpLockouts.failedCount} - 1, 0)`,
      lockedUntil: sql`case when ${otpLockouts.failedCount} - 1 >= ${MAX_FAILED} then ${otpLockouts.lockedUntil} else null end`,
    })
    .where(and(eq(otpLockouts.phone, phone), eq(otpLockouts.purpose, purpose), inArray(otpLockouts.role, roles)));
}

export function wrongCodeError(failed: number, lockedUntil: Date | null): AppError {
  if (lockedUntil && failed >= MAX_FAILED) return lockedError(secondsUntil(lockedUntil));
  const remaining = Math.max(0, MAX_FAILED - failed);
  return new AppError("INVALID_OTP", `Invalid OTP. ${remaining} attempt${remaining === 1 ? "" : "s"} remaining`, {
    extra: { locked: false, remainingAttempts: remaining },
  });
}

export async function clearFailures(db: Exec, phone: string, role: Role, purpose: Purpose): Promise<void> {
  await (db as HttpDb)
    .delete(otpLockouts)
    .where(and(eq(otpLockouts.phone, phone), eq(otpLockouts.role, role), eq(otpLockouts.purpose, purpose)));
}

/**
 * Opens (or replaces) the one open challenge for phone+role+purpose with a fresh code. A resend
 * keeps the pending-signup payload unless a new one is given. Refused while locked, within the
 * cooldown, or after MAX_SENDS in 15 minutes. Returns the code to send.
 */
export async function issueChallenge(
  db: HttpDb,
  secret: string,
  s: { phone: string; role: Role; purpose: Purpose; payload?: Record<string, unknown> },
): Promise<{ code: string; challengeId: string }> {
  const locked = await lockoutRemaining(db, s.phone, [s.role], s.purpose);
  if (locked > 0) throw lockedError(locked);
  const code = generateOtp();
  const codeHash = await otpHash(secret, { ...s, code });
  const expiresAt = sql`now() + make_interval(secs => ${OTP_TTL_SECONDS})`;
  const windowOver = sql`${otpChallenges.createdAt} < now() - interval '15 minutes'`;
  const [row] = await db
    .insert(otpChallenges)
    .values({ phone: s.phone, role: s.role, purpose: s.purpose, codeHash, expiresAt, payload: s.payload ?? null })
    .onConflictDoUpdate({
      target: [otpChallenges.phone, otpChallenges.role, otpChallenges.purpose],
      targetWhere: isNull(otpChallenges.consumedAt),
      set: {
        codeHash,
        expiresAt,
        attempts: 0,
        verifiedAt: null,
        resetTokenHash: null,
        lastSentAt: sql`now()`,
        payload: s.payload ? sql`excluded.payload` : sql`${otpChallenges.payload}`,
        sendCount: sql`case when ${windowOver} then 1 else ${otpChallenges.sendCount} + 1 end`,
        createdAt: sql`case when ${windowOver} then now() else ${otpChallenges.createdAt} end`,
      },
      setWhere: sql`${otpChallenges.lastSentAt} <= now() - make_interval(secs => ${RESEND_COOLDOWN_SECONDS}) and (${otpChallenges.sendCount} < ${MAX_SENDS} or ${windowOver})`,
    })
    .returning({ id: otpChallenges.id });
  if (row) return { code, challengeId: row.id };

  // Refused by the cooldown or the send cap: say how long to wait (seconds, as the apps expect).
  const [open] = await db
    .select({ lastSentAt: otpChallenges.lastSentAt, createdAt: otpChallenges.createdAt, sendCount: otpChallenges.sendCount })
    .from(otpChallenges)
    .where(
      and(
        eq(otpChallenges.phone, s.phone),
        eq(otpChallenges.role, s.role),
        eq(otpChallenges.purpose, s.purpose),
        isNull(otpChallenges.consumedAt),
      ),
    );
  const cooldown = open ? RESEND_COOLDOWN_SECONDS - (Date.now() - open.lastSentAt.getTime()) / 1000 : RESEND_COOLDOWN_SECONDS;
  if (open && open.sendCount >= MAX_SENDS) {
    const wait = Math.ceil(Math.max(1, LOCK_SECONDS - (Date.now() - open.createdAt.getTime()) / 1000));
    throw new AppError("RATE_LIMITED", `Too many OTP requests. Please try again in ${mss(wait)}`, { retryAfter: wait });
  }
  const wait = Math.ceil(Math.max(1, cooldown));
  throw new AppError("RATE_LIMITED", `Please wait ${wait} seconds before requesting another OTP`, { retryAfter: wait });
}

/** After a failed send, lets the user ask again at once instead of waiting out the cooldown. */
export async function releaseCooldown(db: HttpDb, challengeId: string): Promise<void> {
  await db
    .update(otpChallenges)
    .set({ lastSentAt: sql`now() - interval '1 hour'`, sendCount: sql`greatest(${otpChallenges.sendCount} - 1, 1)` })
    .where(eq(otpChallenges.id, challengeId));
}

export type OpenChallenge = typeof otpChallenges.$inferSelect;

/** Open challenges for phone+purpose (optionally one role), newest first. */
export function openChallenges(db: Exec, phone: string, purpose: Purpose, role?: Role): Promise<OpenChallenge[]> {
  return (db as HttpDb)
    .select()
    .from(otpChallenges)
    .where(
      and(
        eq(otpChallenges.phone, phone),
        eq(otpChallenges.purpose, purpose),
        isNull(otpChallenges.consumedAt),
        role ? eq(otpChallenges.role, role) : undefined,
      ),
    )
    .orderBy(desc(otpChallenges.lastSentAt));
}

/**
 * Checks a code against the open, unexpired challenges (a phone may have a pending user and a
 * pending provider signup; verify-otp carries no role, so the code itself picks the challenge).
 * An attempt is reserved against each candidate's lockout first (refused: locked, nothing compared);
 * then every candidate is compared, in constant time, so timing does not reveal which one matched.
 * A right code gives the reservations back; a wrong one leaves them counted. Returns the match.
 */
export async function checkCode(
  db: HttpDb,
  secret: string,
  s: { phone: string; purpose: Purpose; role?: Role; code: string; notFound: string },
): Promise<OpenChallenge> {
  const all = await openChallenges(db, s.phone, s.purpose, s.role);
  if (all.length === 0) throw new AppError("OTP_EXPIRED", s.notFound);
  const live = all.filter((c) => c.expiresAt.getTime() > Date.now() && (s.purpose !== "password_reset" || !c.verifiedAt));
  if (live.length === 0) {
    const locked = await lockoutRemaining(
      db,
      s.phone,
      all.map((c) => c.role),
      s.purpose,
    );
    if (locked > 0) throw lockedError(locked);
    throw new AppError("OTP_EXPIRED", "OTP expired. Please request a new one.");
  }
  const roles = live.map((c) => c.role);
  const reserved = await reserveAttempts(db, s.phone, roles, s.purpose);
  if (reserved.length < roles.length) {
    await releaseAttempts(
      db,
      s.phone,
      reserved.map((r) => r.role),
      s.purpose,
    );
    const refused = roles.filter((r) => !reserved.some((x) => x.role === r));
    throw lockedError((await lockoutRemaining(db, s.phone, refused, s.purpose)) || LOCK_SECONDS);
  }
  let match: OpenChallenge | undefined;
  for (const c of live) {
    const h = await otpHash(secret, { phone: s.phone, role: c.role, purpose: s.purpose, code: s.code });
    if (constantTimeEqualStrings(h, c.codeHash) && !match) match = c;
  }
  if (match) {
    await releaseAttempts(db, s.phone, roles, s.purpose);
    return match;
  }
  await db
    .update(otpChallenges)
    .set({ attempts: sql`${otpChallenges.attempts} + 1` })
    .where(
      inArray(
        otpChallenges.id,
        live.map((c) => c.id),
      ),
    );
  const worst = reserved.reduce((w, r) => (r.failed > w.failed ? r : w));
  throw wrongCodeError(worst.failed, worst.lockedUntil);
}
