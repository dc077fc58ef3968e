import { and, desc, eq, exists, gt, isNotNull, isNull, or, sql } from "drizzle-orm";
import type { z } from "zod";
import type { Db, HttpDb, TxDb } from "../db/client";
import { pgCode, pgConstraint } from "../db/client";
import {
  blockedIdentifiers,
  loginAttempts,
  loginLockouts,
  type OtpPurpose,
  otpChallenges,
  type Role,
  refreshTokens,
  type SignupRole,
  securityEvents,
  sessions,
  users,
} from "../db/schema";
import type { Config } from "../env";
import { AppError } from "../http/errors";
import { randomToken, sha256Hex } from "../lib/bytes";
import type { Logger } from "../lib/log";
import { acceptImage, isDataUrl, isOurUrl } from "../media/store";
import { dispatchAfterCommit, notify } from "../outbox/outbox";
import { type ClientMeta, newSession, revokeSessions, rotateRefreshToken } from "../sessions/tokens";
import { userView } from "../users/schemas";
import { checkCode, clearFailures, issueChallenge, mss, openChallenges, releaseCooldown } from "./otp";
import { dummyVerify, hashPassword, type PasswordParams, verifyPassword } from "./password";
import type { LoggedIn, OtpSent, Refreshed, Session, SignedUp } from "./responses";
import { sendOtpSms } from "./sms";

/**
 * Account rules: signup with OTP, login with lockouts, password reset, refresh, logout and sessions.
 * No HTTP here; routes.ts maps requests to these calls.
 */

export type AuthDeps = {
  db: Db;
  config: Config;
  log: Logger;
  env: Env;
  waitUntil: (p: Promise<unknown>) => void;
  meta: ClientMeta;
};

export const LOGIN_MAX_FAILED = 5;
export const LOGIN_LOCK_SECONDS = 15 * 60;
/** Failed logins from one address in 15 minutes before it is throttled (mobile carriers share IPs: keep it loose). */
export const IP_MAX_FAILED = 50;

const params = (config: Config): PasswordParams => ({ ln: config.PASSWORD_SCRYPT_LOG_N, r: 8, p: 5 });

async function isBlocked(db: HttpDb | TxDb, role: Role, phone: string, email?: string | null): Promise<boolean> {
  const ids = [and(eq(blockedIdentifiers.identifierType, "phone"), eq(blockedIdentifiers.value, phone))];
  if (email) ids.push(and(eq(blockedIdentifiers.identifierType, "email"), eq(blockedIdentifiers.value, email)));
  const rows = await (db as HttpDb)
    .select({ id: blockedIdentifiers.id })
    .from(blockedIdentifiers)
    .where(and(eq(blockedIdentifiers.role, role), or(...ids)))
    .limit(1);
  return rows.length > 0;
}

const blockedError = () => new AppError("ACCOUNT_BLOCKED", "This account has been blocked. Please contact support.");

async function sendCode(deps: AuthDeps, s: { phone: string; role: Role; purpose: OtpPurpose; code: string; challengeId: string }) {
  try {
    await sendOtpSms({ config: deps.config, db: deps.db.http, log: deps.log }, s);
  } catch (err) {
    await releaseCooldown(deps.db.http, s.challengeId).catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Signup: step 1 stores the pending signup in the OTP challenge; step 2 creates the account.

export type SignupInput = {
  fullName: string;
  email?: string;
  phone: string;
  password: string;
  role: SignupRole;
  profilePicUrl?: string;
};

export async function signup(deps: AuthDeps, input: SignupInput): Promise<z.input<typeof OtpSent>> {
  const { db, config } = deps;
  const email = input.email || null;
  const [blocked, taken] = await Promise.all([
    isBlocked(db.http, input.role, input.phone, email),
    db.http
      .select({ phone: users.phone, email: users.email })
      .from(users)
      .where(
        and(
          eq(users.role, input.role),
          isNull(users.deletedAt),
          email ? or(eq(users.phone, input.phone), eq(users.email, email)) : eq(users.phone, input.phone),
        ),
      )
      .limit(2),
  ]);
  if (blocked) throw blockedError();
  if (taken.some((u) => u.phone === input.phone)) {
    throw new AppError("ALREADY_EXISTS", `Phone number already registered as a ${input.role}. Please login instead.`);
  }
  if (taken.length > 0) throw new AppError("ALREADY_EXISTS", "Email already registered");

  // The account's id is chosen now, so the photo is stored under its owner before verify-otp creates it.
  const userId = crypto.randomUUID();
  const pic = input.profilePicUrl?.trim() ?? "";
  // Anything but an image or an https URL (the user app's `file://` fallback) means "no photo", as upstream's default did.
  const profilePicUrl =
    isDataUrl(pic) || /^https:\/\//i.test(pic) || isOurUrl(pic, config.PUBLIC_BASE_URL)
      ? await acceptImage(
          { env: deps.env, publicBaseUrl: config.PUBLIC_BASE_URL, userId },
          { value: pic, kind: "profile-pictures", field: "profilePicUrl" },
        )
      : "";

  const passwordHash = await hashPassword(input.password, params(config));
  const { code, challengeId } = await issueChallenge(db.http, config.JWT_SECRET, {
    phone: input.phone,
    role: input.role,
    purpose: "signup",
    payload: { userId, fullName: input.fullName, email, passwordHash, profilePicUrl },
  });
  await sendCode(deps, { phone: input.phone, role: input.role, purpose: "signup", code, challengeId });
  return { phone: input.phone, expiresInSeconds: 300, resendAfterSeconds: 30 };
}

export async function resendSignupOtp(deps: AuthDeps, input: { phone: string; role?: SignupRole }): Promise<{ phone: string }> {
  const open = await openChallenges(deps.db.http, input.phone, "signup", input.role);
  const latest = open[0];
  if (!latest) throw new AppError("BAD_REQUEST", "No pending signup found for this phone number. Please sign up again.");
  const { code, challengeId } = await issueChallenge(deps.db.http, deps.config.JWT_SECRET, {
    phone: input.phone,
    role: latest.role,
    purpose: "signup",
  });
  await sendCode(deps, { phone: input.phone, role: latest.role, purpose: "signup", code, challengeId });
  return { phone: input.phone };
}

type PendingSignup = { userId?: string; fullName: string; email: string | null; passwordHash: string; profilePicUrl: string };

export async function verifySignupOtp(deps: AuthDeps, input: { phone: string; otp: string }): Promise<z.input<typeof SignedUp>> {
  const { db, config } = deps;
  const match = await checkCode(db.http, config.JWT_SECRET, {
    phone: input.phone,
    purpose: "signup",
    code: input.otp,
    notFound: "No pending signup found for this phone number. Please sign up again.",
  });
  const role = match.role;
  const pending = match.payload as PendingSignup | null;
  if (!pending || (role !== "user" && role !== "provider"))
    throw new AppError("BAD_REQUEST", "No pending signup found for this phone number.");
  if (await isBlocked(db.http, role, input.phone, pending.email)) throw blockedError();

  try {
    const result = await db.transaction(async (tx) => {
      // Single use: of two concurrent verifications only one consumes the challenge (the row lock
      // serialises them; the second sees consumed_at set and gets nothing back).
      const [consumed] = await tx
        .update(otpChallenges)
        .set({ consumedAt: sql`now()` })
        .where(and(eq(otpChallenges.id, match.id), isNull(otpChallenges.consumedAt), eq(otpChallenges.codeHash, match.codeHash)))
        .returning({ id: otpChallenges.id });
      if (!consumed) return null;
      const [user] = await tx
        .insert(users)
        .values({
          id: pending.userId,
          role,
          phone: input.phone,
          fullName: pending.fullName,
          email: pending.email,
          passwordHash: pending.passwordHash,
          profilePicUrl: pending.profilePicUrl,
          isVerified: true,
          lastLoginAt: sql`now()`,
        })
        .returning();
      const s = await newSession(config.JWT_SECRET, user!, deps.meta);
      await tx.insert(sessions).values(s.session);
      await tx.insert(refreshTokens).values(s.refresh);
      await tx
        .insert(securityEvents)
        .values({ userId: user!.id, eventType: "signup", ip: deps.meta.ip, userAgent: deps.meta.userAgent, metadata: { role } });
      await notify(tx, {
        userId: user!.id,
        title: role === "provider" ? "Welcome to BuildXpert Provider! 🎉" : "Welcome to BuildXpert! 🎉",
        message:
          role === "provider"
            ? "Your provider account is ready. Register your services to start receiving bookings."
            : "Your account is ready. Find trusted professionals for your home and book in a few taps.",
        type: "welcome",
        push: false,
        dedupKey: `welcome:${user!.id}`,
      });
      // The provider app stores `registeredServices` from this response; a new account has none.
      return { ...s.pair, user: { ...userView(user!), registeredServices: [] as string[] } };
    });
    if (!result) throw new AppError("INVALID_OTP", "This OTP has already been used. Please login.", { extra: { locked: false } });
    dispatchAfterCommit(deps.env, { waitUntil: deps.waitUntil });
    await clearFailures(db.http, input.phone, role, "signup").catch(() => undefined);
    return result;
  } catch (err) {
    if (pgCode(err) === "23505" && /users_/.test(pgConstraint(err) ?? "users_")) {
      throw new AppError("ALREADY_EXISTS", `Phone number or email already registered as a ${role}. Please login instead.`);
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Login

type LoginState = {
  user_id: string | null;
  password_hash: string | null;
  ip_failures: number;
  blocked: boolean;
  /** The attempt's place in the lock window (1-5), or null when it was refused or not asked for. */
  reserved: number | null;
  lock_seconds: number;
};

/**
 * Everything login needs to decide, in one round trip: the account, the caller address's recent
 * failures, the block list, and the reservation of this attempt against the password lock
 * (login_lockouts), taken only when neither the address nor a block refuses the request first.
 * The reservation counts the attempt as a failure before the password is checked and is refused once
 * 5 are counted in the window (the 5th sets a 15-minute lock), so parallel guesses cannot all be
 * checked before the first failure is recorded. `lock_seconds` is read from the statement's snapshot:
 * 0 for a lock that a concurrent attempt has just set.
 */
async function loginState(db: HttpDb, phone: string, role: Role, ip: string): Promise<LoginState> {
  const lockedNow = sql`(l.locked_until is not null and l.locked_until > now())`;
  const fresh = sql`(l.locked_until is not null or l.window_started_at < now() - make_interval(secs => ${LOGIN_LOCK_SECONDS}))`;
  const next = sql`(case when ${fresh} then 1 else l.failed_count + 1 end)`;
  const res = await db.execute<LoginState>(sql`
    with u as (
      select id, email, password_hash from users where phone = ${phone} and role = ${role} and deleted_at is null
    ),
    ipf as (
      select count(*)::int as n from login_attempts where ip = ${ip} and outcome = 'failed' and attempted_at > now() - interval '15 minutes'
    ),
    b as (
      select exists (
        select 1 from blocked_identifiers bi
        where bi.role = ${role}
          and ((bi.identifier_type = 'phone' and bi.value = ${phone}) or (bi.identifier_type = 'email' and bi.value = (select email from u)))
      ) as blocked
    ),
    r as (
      insert into login_lockouts as l (phone, role, failed_count)
      select ${phone}, ${role}::user_role, 1 where (select n from ipf) < ${IP_MAX_FAILED} and not (select blocked from b)
      on conflict (phone, role) do update set
        failed_count = ${next},
        window_started_at = case when ${fresh} then now() else l.window_started_at end,
        locked_until = case when ${next} >= ${LOGIN_MAX_FAILED} then now() + make_interval(secs => ${LOGIN_LOCK_SECONDS}) else null end
      where not ${lockedNow} and (${fresh} or l.failed_count < ${LOGIN_MAX_FAILED})
      returning l.failed_count
    )
    select
      (select id from u) as user_id,
      (select password_hash from u) as password_hash,
      (select n from ipf) as ip_failures,
      (select blocked from b) as blocked,
      (select failed_count from r) as reserved,
      coalesce((
        select extract(epoch from (l.locked_until - now())) from login_lockouts l
        where l.phone = ${phone} and l.role = ${role} and l.locked_until > now()
      ), 0)::float8 as lock_seconds
  `);
  return res.rows[0]!;
}

function loginLockedError(seconds: number): AppError {
  const s = Math.max(1, Math.ceil(seconds));
  // 423, not 429: the apps' login transport retries 429s, which would only delay the message.
  return new AppError("ACCOUNT_LOCKED", `Too many failed attempts. Please try again in ${mss(s)} or reset your password.`, {
    status: 423,
    retryAfter: s,
    extra: { locked: true, lockoutTimeRemaining: s, remainingAttempts: 0 },
  });
}

export async function login(deps: AuthDeps, input: { phone: string; password: string; role: Role }): Promise<z.input<typeof LoggedIn>> {
  const { db, config, meta } = deps;
  const ip = meta.ip ?? "unknown";
  const state = await loginState(db.http, input.phone, input.role, ip);
  const attempt = (outcome: "failed" | "blocked", reason: string) =>
    db.http.insert(loginAttempts).values({
      phone: input.phone,
      role: input.role,
      ip,
      userId: state.user_id,
      outcome,
      failureReason: reason,
      userAgent: meta.userAgent?.slice(0, 300),
    });

  if (state.ip_failures >= IP_MAX_FAILED) {
    await attempt("blocked", "ip_blocked");
    throw new AppError("RATE_LIMITED", "Too many failed login attempts from this network. Please try again later.", {
      retryAfter: 15 * 60,
    });
  }
  if (state.blocked) {
    await attempt("blocked", "identifier_blocked");
    throw blockedError();
  }
  if (state.reserved === null) {
    // Refused even with the right password, and not counted again (upstream's window kept sliding).
    await attempt("blocked", "phone_blocked");
    throw loginLockedError(state.lock_seconds || LOGIN_LOCK_SECONDS);
  }

  let verdict = { ok: false, needsRehash: false };
  if (state.password_hash) verdict = await verifyPassword(input.password, state.password_hash, params(config));
  else await dummyVerify(input.password, params(config)); // same work whether or not the account exists

  if (!verdict.ok || !state.user_id) {
    // Already counted by the reservation; this row is the audit trail.
    await attempt("failed", "bad_credentials");
    if (state.reserved >= LOGIN_MAX_FAILED) throw loginLockedError(LOGIN_LOCK_SECONDS);
    // One message whether the phone, the role or the password was wrong (no account enumeration).
    throw new AppError("INVALID_CREDENTIALS", "Invalid phone number or password", {
      extra: { remainingAttempts: LOGIN_MAX_FAILED - state.reserved },
    });
  }

  const s = await newSession(config.JWT_SECRET, { id: state.user_id, role: input.role }, meta);
  const rehashed = verdict.needsRehash ? await hashPassword(input.password, params(config)) : undefined;
  const [, , [user]] = await db.http.batch([
    db.http.insert(sessions).values(s.session),
    db.http.insert(refreshTokens).values(s.refresh),
    db.http
      .update(users)
      .set({ lastLoginAt: sql`now()`, ...(rehashed ? { passwordHash: rehashed } : {}) })
      .where(eq(users.id, state.user_id))
      .returning(),
    db.http.insert(loginAttempts).values({
      phone: input.phone,
      role: input.role,
      ip,
      userId: state.user_id,
      outcome: "success",
      userAgent: meta.userAgent?.slice(0, 300),
    }),
    db.http.insert(securityEvents).values({
      userId: state.user_id,
      eventType: "login",
      ip,
      userAgent: meta.userAgent?.slice(0, 300),
      metadata: { sessionId: s.sessionId },
    }),
    // A successful login starts a new window (this attempt's reservation included).
    db.http.delete(loginLockouts).where(and(eq(loginLockouts.phone, input.phone), eq(loginLockouts.role, input.role))),
  ]);
  return { ...s.pair, user: userView(user!) };
}

// ---------------------------------------------------------------------------------------------
// Password reset: OTP (purpose password_reset, bound to the role) → one-time reset token → new password.

export async function forgotPassword(deps: AuthDeps, input: { phone: string; role: Role }): Promise<{ phone: string }> {
  const { db, config } = deps;
  const [[user], blocked] = await Promise.all([
    db.http
      .select({ id: users.id, email: users.email })
      .from(users)
      .where(and(eq(users.phone, input.phone), eq(users.role, input.role), isNull(users.deletedAt)))
      .limit(1),
    isBlocked(db.http, input.role, input.phone),
  ]);
  if (blocked) throw blockedError();
  // A 404 is part of the contract: the provider app retries with role "user" on any non-2xx.
  if (!user) throw new AppError("NOT_FOUND", `No ${input.role} account found for this phone number`);
  const { code, challengeId } = await issueChallenge(db.http, config.JWT_SECRET, {
    phone: input.phone,
    role: input.role,
    purpose: "password_reset",
  });
  await sendCode(deps, { phone: input.phone, role: input.role, purpose: "password_reset", code, challengeId });
  return { phone: input.phone };
}

export const RESET_TOKEN_TTL_SECONDS = 10 * 60;

export async function verifyResetOtp(
  deps: AuthDeps,
  input: { phone: string; otp: string; role: Role },
): Promise<{ resetToken: string; expiresAt: string }> {
  const { db, config } = deps;
  const match = await checkCode(db.http, config.JWT_SECRET, {
    phone: input.phone,
    role: input.role,
    purpose: "password_reset",
    code: input.otp,
    notFound: "OTP not found or expired. Please request a new one.",
  });
  const resetToken = randomToken(32);
  const [row] = await db.http
    .update(otpChallenges)
    .set({
      verifiedAt: sql`now()`,
      resetTokenHash: await sha256Hex(resetToken),
      expiresAt: sql`now() + make_interval(secs => ${RESET_TOKEN_TTL_SECONDS})`,
    })
    .where(
      and(
        eq(otpChallenges.id, match.id),
        isNull(otpChallenges.consumedAt),
        isNull(otpChallenges.verifiedAt),
        eq(otpChallenges.codeHash, match.codeHash),
      ),
    )
    .returning({ expiresAt: otpChallenges.expiresAt });
  if (!row) throw new AppError("INVALID_OTP", "This OTP has already been used. Please request a new one.", { extra: { locked: false } });
  await clearFailures(db.http, input.phone, input.role, "password_reset").catch(() => undefined);
  return { resetToken, expiresAt: row.expiresAt.toISOString() };
}

export async function resetPassword(
  deps: AuthDeps,
  input: { phone: string; resetToken: string; newPassword: string; role: Role },
): Promise<void> {
  const { db, config, meta } = deps;
  if (await isBlocked(db.http, input.role, input.phone)) throw blockedError();
  const tokenHash = await sha256Hex(input.resetToken);
  const passwordHash = await hashPassword(input.newPassword, params(config));
  const outcome = await db.transaction(async (tx) => {
    const [challenge] = await tx
      .update(otpChallenges)
      .set({ consumedAt: sql`now()` })
      .where(
        and(
          eq(otpChallenges.phone, input.phone),
          eq(otpChallenges.role, input.role),
          eq(otpChallenges.purpose, "password_reset"),
          eq(otpChallenges.resetTokenHash, tokenHash),
          isNull(otpChallenges.consumedAt),
          isNotNull(otpChallenges.verifiedAt),
          gt(otpChallenges.expiresAt, sql`now()`),
        ),
      )
      .returning({ id: otpChallenges.id });
    if (!challenge) return "bad_token" as const;
    const [user] = await tx
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.phone, input.phone), eq(users.role, input.role), isNull(users.deletedAt)))
      .returning({ id: users.id });
    if (!user) return "no_user" as const;
    // A new password ends the password lock too (the reset proved the phone's owner is there).
    await tx.delete(loginLockouts).where(and(eq(loginLockouts.phone, input.phone), eq(loginLockouts.role, input.role)));
    const revoked = await revokeSessions(tx, user.id, "password_reset");
    await tx.insert(securityEvents).values({
      userId: user.id,
      eventType: "password_reset",
      severity: "warning",
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 300),
      metadata: { sessionsRevoked: revoked },
    });
    return "ok" as const;
  });
  if (outcome === "ok") dispatchRevocation(deps);
  if (outcome === "bad_token") throw new AppError("BAD_REQUEST", "Invalid or expired reset token. Please verify the OTP again.");
  if (outcome === "no_user") throw new AppError("NOT_FOUND", `No ${input.role} account found for this phone number`);
}

// ---------------------------------------------------------------------------------------------
// Tokens and sessions

/** `revokeSessions` wrote an outbox row naming the revoked sessions: deliver it now, so their sockets close. */
const dispatchRevocation = (deps: AuthDeps) => dispatchAfterCommit(deps.env, { waitUntil: deps.waitUntil });

export async function refresh(deps: AuthDeps, refreshToken: string): Promise<z.input<typeof Refreshed>> {
  const { pair, userId } = await rotateRefreshToken(deps.db, deps.config.JWT_SECRET, refreshToken, deps.meta, () =>
    dispatchRevocation(deps),
  );
  const [user] = await deps.db.http.select().from(users).where(eq(users.id, userId)).limit(1);
  return { ...pair, user: user ? userView(user) : null };
}

export async function me(db: HttpDb, userId: string) {
  const [user] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)))
    .limit(1);
  if (!user) throw new AppError("INVALID_TOKEN", "Session is no longer valid");
  return userView(user);
}

export async function logout(deps: AuthDeps, principal: { userId: string; sessionId: string }, refreshToken?: string): Promise<void> {
  const { db, meta } = deps;
  await revokeSessions(db.http, principal.userId, "logout", principal.sessionId);
  // A refresh token in the body ends its own session too, if it is this user's (upstream left it valid).
  if (refreshToken) {
    const [row] = await db.http
      .select({ sessionId: refreshTokens.sessionId })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.tokenHash, await sha256Hex(refreshToken)), eq(refreshTokens.userId, principal.userId)))
      .limit(1);
    if (row && row.sessionId !== principal.sessionId) await revokeSessions(db.http, principal.userId, "logout", row.sessionId);
  }
  dispatchRevocation(deps);
  await db.http.insert(securityEvents).values({
    userId: principal.userId,
    eventType: "logout",
    ip: meta.ip,
    userAgent: meta.userAgent?.slice(0, 300),
    metadata: { sessionId: principal.sessionId },
  });
}

export async function logoutAll(deps: AuthDeps, userId: string): Promise<number> {
  const n = await revokeSessions(deps.db.http, userId, "logout_all");
  dispatchRevocation(deps);
  await deps.db.http.insert(securityEvents).values({
    userId,
    eventType: "logout_all",
    ip: deps.meta.ip,
    userAgent: deps.meta.userAgent?.slice(0, 300),
    metadata: { sessionsRevoked: n },
  });
  return n;
}

/** Live sessions: not revoked and holding a refresh token that can still be used. */
export async function listSessions(db: HttpDb, userId: string, currentSessionId: string): Promise<z.input<typeof Session>[]> {
  const rows = await db
    .select()
    .from(sessions)
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        exists(
          db
            .select({ one: sql`1` })
            .from(refreshTokens)
            .where(and(eq(refreshTokens.sessionId, sessions.id), isNull(refreshTokens.revokedAt), gt(refreshTokens.expiresAt, sql`now()`))),
        ),
      ),
    )
    .orderBy(desc(sessions.lastSeenAt))
    .limit(100);
  return rows.map((s) => ({
    id: s.id,
    deviceName: s.deviceName ?? "Unknown device",
    ipAddress: s.ip,
    userAgent: s.userAgent,
    createdAt: s.createdAt.toISOString(),
    lastActivity: s.lastSeenAt.toISOString(),
    isCurrent: s.id === currentSessionId,
  }));
}

export async function revokeSession(deps: AuthDeps, userId: string, sessionId: string): Promise<void> {
  const n = await revokeSessions(deps.db.http, userId, "session_revoked", sessionId);
  if (n === 0) throw new AppError("NOT_FOUND", "Session not found");
  dispatchRevocation(deps);
  await deps.db.http.insert(securityEvents).values({
    userId,
    eventType: "session_revoked",
    ip: deps.meta.ip,
    userAgent: deps.meta.userAgent?.slice(0, 300),
    metadata: { sessionId },
  });
}
