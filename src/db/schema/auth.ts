import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  check,
  date,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { userRole, users } from "./users";

/**
 * Sessions, refresh-token rotation, OTP challenges and the login/abuse ledgers.
 *
 * Upstream kept OTPs, pending signups and reset sessions in process memory (lost on restart, not
 * shared between workers) and blacklisted access-token jtis in a table read on
 * every request. Here an access token names its session (`sid`); revoking the session revokes it.
 */

/** One row per login on one device. Every access and refresh token belongs to exactly one session. */
export const sessions = pgTable(
  "sessions",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    lastSeenAt: timestamptz("last_seen_at").notNull().defaultNow(),
    revokedAt: timestamptz("revoked_at"),
    /** logout | logout_all | password_reset | session_revoked | refresh_reuse | account_deleted | admin_removed */
    revokeReason: text("revoke_reason"),
    userAgent: text("user_agent"),
    ip: text("ip"),
    deviceName: text("device_name"),
  },
  (t) => [
    index("sessions_user_live_idx").on(t.userId).where(sql`${t.revokedAt} is null`),
    check("sessions_reason_only_if_revoked", sql`${t.revokeReason} is null or ${t.revokedAt} is not null`),
  ],
);

/**
 * Opaque refresh tokens; only a hash is stored. Rotation is a chain inside one family (= one session):
 * each token points at its parent and, once rotated, at its successor.
 *
 * - `refresh_tokens_one_child_uq` makes "rotate the same token twice" impossible: two concurrent
 *   refreshes both try to insert a child of the same parent and the second fails (upstream minted
 *   two pairs).
 * - Reuse grace window: the apps fire concurrent refreshes without de-duplication
 *   (docs/api-contract.md §2.2). Presenting a token rotated less than a few seconds ago
 *   (`rotated_at`) returns its successor (`replaced_by_id`) instead of revoking the family; later
 *   reuse revokes the session. To hand back the *same* refresh token the auth module must be able
 *   to rebuild a token from its row id (e.g. id + HMAC(secret, id)); the DB never stores a usable
 *   token.
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: id(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** Rotation family; the session id in practice. Reuse outside the grace window revokes all of it. */
    familyId: uuid("family_id").notNull(),
    /** sha256 of the opaque token (hex or base64url, the auth module decides). */
    tokenHash: text("token_hash").notNull(),
    parentId: uuid("parent_id").references((): AnyPgColumn => refreshTokens.id, { onDelete: "set null" }),
    replacedById: uuid("replaced_by_id").references((): AnyPgColumn => refreshTokens.id, { onDelete: "set null" }),
    /** jti of the access token issued together with this refresh token. */
    accessJti: uuid("access_jti"),
    createdAt: createdAt(),
    expiresAt: timestamptz("expires_at").notNull(),
    rotatedAt: timestamptz("rotated_at"),
    revokedAt: timestamptz("revoked_at"),
    revokeReason: text("revoke_reason"),
  },
  (t) => [
    unique("refresh_tokens_token_hash_uq").on(t.tokenHash),
    uniqueIndex("refresh_tokens_one_child_uq").on(t.parentId).where(sql`${t.parentId} is not null`),
    index("refresh_tokens_family_idx").on(t.familyId),
    index("refresh_tokens_user_idx").on(t.userId),
    index("refresh_tokens_expires_idx").on(t.expiresAt),
    check("refresh_tokens_expiry_after_creation", sql`${t.expiresAt} > ${t.createdAt}`),
    check("refresh_tokens_successor_when_rotated", sql`${t.replacedById} is null or ${t.rotatedAt} is not null`),
  ],
);

/** An OTP is bound to its purpose and role (upstream accepted a signup OTP for a password reset). */
export const otpPurpose = pgEnum("otp_purpose", ["signup", "login", "password_reset"]);
export type OtpPurpose = (typeof otpPurpose.enumValues)[number];

/**
 * One OTP challenge. At most one *open* (unconsumed) challenge per phone+role+purpose: a resend
 * replaces the open one (`ON CONFLICT ... WHERE consumed_at IS NULL DO UPDATE`). The code is stored
 * hashed; it is single-use (`consumed_at`).
 *
 * Password reset: a verified challenge gets a one-time `reset_token_hash` and stays open until the
 * new password is set (upstream keyed reset sessions by phone only, in memory).
 */
export const otpChallenges = pgTable(
  "otp_challenges",
  {
    id: id(),
    phone: text("phone").notNull(),
    role: userRole("role").notNull(),
    purpose: otpPurpose("purpose").notNull(),
    codeHash: text("code_hash").notNull(),
    attempts: integer("attempts").notNull().default(0),
    /** How many codes were sent for this challenge (resend throttling). */
    sendCount: integer("send_count").notNull().default(1),
    lastSentAt: timestamptz("last_sent_at").notNull().defaultNow(),
    expiresAt: timestamptz("expires_at").notNull(),
    verifiedAt: timestamptz("verified_at"),
    resetTokenHash: text("reset_token_hash"),
    consumedAt: timestamptz("consumed_at"),
    /** Pending signup (`fullName, email, passwordHash, profilePicUrl`); no user row exists before the OTP. */
    payload: jsonb("payload").$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("otp_challenges_open_uq").on(t.phone, t.role, t.purpose).where(sql`${t.consumedAt} is null`),
    unique("otp_challenges_reset_token_uq").on(t.resetTokenHash),
    index("otp_challenges_expires_idx").on(t.expiresAt),
    check("otp_challenges_attempts_nonneg", sql`${t.attempts} >= 0 and ${t.sendCount} >= 1`),
    check("otp_challenges_phone_format", sql`${t.phone} ~ '^[0-9]{10}$'`),
  ],
);

/**
 * Failed-OTP counter and lockout per phone+role+purpose (5 wrong codes lock for 15 minutes).
 * Survives the challenge being replaced, so resending cannot reset the counter. An attempt is reserved
 * here (counted as a failure) before its code is compared, in one upsert that refuses once 5 are
 * counted, so parallel guesses cannot all be compared before the first failure lands; a right code
 * gives its reservation back.
 */
export const otpLockouts = pgTable(
  "otp_lockouts",
  {
    id: id(),
    phone: text("phone").notNull(),
    role: userRole("role").notNull(),
    purpose: otpPurpose("purpose").notNull(),
    failedCount: integer("failed_count").notNull().default(0),
    windowStartedAt: timestamptz("window_started_at").notNull().defaultNow(),
    lockedUntil: timestamptz("locked_until"),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("otp_lockouts_subject_uq").on(t.phone, t.role, t.purpose),
    check("otp_lockouts_failed_count_nonneg", sql`${t.failedCount} >= 0`),
  ],
);

/**
 * The password lock per phone+role, the same way: 5 wrong passwords within 15 minutes lock for 15
 * minutes. Each attempt reserves a count (one upsert, refused while locked or at 5) before the password
 * is checked; a successful login and a password reset delete the row. Rows exist for unknown phones
 * too, so the lock does not reveal which phones have accounts. `login_attempts` stays the audit trail.
 */
export const loginLockouts = pgTable(
  "login_lockouts",
  {
    phone: text("phone").notNull(),
    role: userRole("role").notNull(),
    failedCount: integer("failed_count").notNull().default(0),
    windowStartedAt: timestamptz("window_started_at").notNull().defaultNow(),
    lockedUntil: timestamptz("locked_until"),
  },
  (t) => [primaryKey({ columns: [t.phone, t.role] }), check("login_lockouts_failed_count_nonneg", sql`${t.failedCount} >= 0`)],
);

export const loginOutcome = pgEnum("login_outcome", ["success", "failed", "blocked"]);

/**
 * Login audit and the source of login throttling. One row per attempt: upstream's catch-all wrote a
 * second `failed` row for every error, locking accounts after 5 wrong passwords.
 */
export const loginAttempts = pgTable(
  "login_attempts",
  {
    id: id(),
    phone: text("phone").notNull(),
    role: userRole("role"),
    ip: text("ip"),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    outcome: loginOutcome("outcome").notNull(),
    /** invalid_phone | bad_credentials | phone_blocked | ip_blocked | identifier_blocked */
    failureReason: text("failure_reason"),
    userAgent: text("user_agent"),
    attemptedAt: timestamptz("attempted_at").notNull().defaultNow(),
  },
  (t) => [
    index("login_attempts_phone_failed_idx").on(t.phone, t.role, t.attemptedAt.desc()).where(sql`${t.outcome} = 'failed'`),
    index("login_attempts_ip_failed_idx").on(t.ip, t.attemptedAt.desc()).where(sql`${t.outcome} = 'failed'`),
    index("login_attempts_attempted_idx").on(t.attemptedAt),
  ],
);

export const securitySeverity = pgEnum("security_severity", ["info", "warning", "critical"]);

/** Account security audit: signup, login, logout(_all), token_refresh, refresh_reuse, password_reset, session_revoked, account_deletion. */
export const securityEvents = pgTable(
  "security_events",
  {
    id: id(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    eventType: text("event_type").notNull(),
    severity: securitySeverity("severity").notNull().default("info"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    index("security_events_user_created_idx").on(t.userId, t.createdAt.desc()),
    index("security_events_type_created_idx").on(t.eventType, t.createdAt.desc()),
  ],
);

export const identifierType = pgEnum("identifier_type", ["phone", "email"]);

/**
 * Identifiers barred from signup/login, per role: removal is per account, and one phone or e-mail may
 * hold a customer and a provider account, so removing one must not lock out the other (an admin
 * removal blocks the removed account's phone and e-mail for its own role). `role` is NOT NULL: there
 * is no "every role" block; barring a person from both apps takes one row per role.
 */
export const blockedIdentifiers = pgTable(
  "blocked_identifiers",
  {
    id: id(),
    identifierType: identifierType("identifier_type").notNull(),
    /** Normalised: 10-digit phone, or lower-cased e-mail. */
    value: text("value").notNull(),
    role: userRole("role").notNull(),
    reason: text("reason").notNull(),
    blockedBy: uuid("blocked_by").references(() => users.id, { onDelete: "set null" }),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique("blocked_identifiers_uq").on(t.identifierType, t.value, t.role)],
);

/**
 * OTP SMS sent per India calendar day, for the daily budgets (src/auth/sms.ts): one row per
 * destination number (`phone:<10 digits>`) and one for the whole deployment (`global`, the SMS bill).
 * A send reserves a count before the gateway is called and gives it back if the send fails.
 */
export const smsDailySends = pgTable(
  "sms_daily_sends",
  {
    scope: text("scope").notNull(),
    day: date("day").notNull(),
    sent: integer("sent").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.scope, t.day] }), check("sms_daily_sends_sent_nonneg", sql`${t.sent} >= 0`)],
);

/**
 * Development/test only: what the `console` SMS driver "sent", so tests and the local bench can read
 * an OTP without scraping worker logs (upstream's bench scraped stdout). Production refuses the
 * console driver (src/env.ts), so nothing ever writes here in production. Rows are short-lived.
 */
export const devSmsOutbox = pgTable(
  "dev_sms_outbox",
  {
    id: id(),
    phone: text("phone").notNull(),
    role: userRole("role"),
    purpose: otpPurpose("purpose"),
    code: text("code"),
    body: text("body").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("dev_sms_outbox_phone_created_idx").on(t.phone, t.createdAt.desc())],
);
