import { sql } from "drizzle-orm";
import { boolean, check, index, integer, pgEnum, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { ROLES } from "../../lib/roles";
import { createdAt, id, timestamptz, updatedAt } from "./columns";

export const userRole = pgEnum("user_role", ROLES);
/** The account roles: a customer (`user`), a service provider, or an admin. */
export type Role = (typeof userRole.enumValues)[number];
/** The roles one can sign up as; admin accounts are never created through signup. */
export type SignupRole = Exclude<Role, "admin">;

/**
 * One row per account. A person may hold one account per role with the same phone (the provider
 * app logs in as `provider`, then `admin`; upstream checked `(phone, role)` in code only, so two
 * concurrent OTP verifications could create twin accounts). The DB enforces it here.
 *
 * Accounts are soft-deleted (`deleted_at`): bookings, ratings and payments keep pointing at the row,
 * so deleting an account can never erase money records or half-fail on an FK.
 * Uniqueness only covers live accounts, so a deleted number can sign up again unless it is listed
 * in `blocked_identifiers` (admin removal).
 */
export const users = pgTable(
  "users",
  {
    id: id(),
    role: userRole("role").notNull().default("user"),
    /** Normalised 10-digit national number, without +91 (the apps send 10 digits). */
    phone: text("phone").notNull(),
    /** Stored lower-cased; optional. */
    email: text("email"),
    /** `$scrypt$ln=14,r=8,p=5$<salt>$<hash>`, or a legacy bcrypt `$2a$/$2b$` hash rehashed on login. */
    passwordHash: text("password_hash").notNull(),
    /** Non-null: the apps call `.toLowerCase()` on it unguarded (docs/api-contract.md §1.7). */
    fullName: text("full_name").notNull(),
    profilePicUrl: text("profile_pic_url").notNull().default(""),
    /** Renames allowed by the apps: they block renaming at 2 (docs/api-contract.md §3.2). */
    nameChangeCount: integer("name_change_count").notNull().default(0),
    /** Set by OTP signup; admins can flip it. WebRTC calls require both parties verified. */
    isVerified: boolean("is_verified").notNull().default(false),
    lastLoginAt: timestamptz("last_login_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamptz("deleted_at"),
  },
  (t) => [
    uniqueIndex("users_phone_role_live_uq").on(t.phone, t.role).where(sql`${t.deletedAt} is null`),
    // Per role, like the phone: the same person may use one e-mail for their user and provider
    // accounts (upstream made e-mail globally unique, which forced a second address).
    uniqueIndex("users_email_role_live_uq").on(t.email, t.role).where(sql`${t.email} is not null and ${t.deletedAt} is null`),
    index("users_role_created_idx").on(t.role, t.createdAt.desc()),
    check("users_phone_format", sql`${t.phone} ~ '^[0-9]{10}$'`),
    check("users_email_normalised", sql`${t.email} is null or (${t.email} = lower(btrim(${t.email})) and ${t.email} like '%_@_%')`),
    check("users_full_name_present", sql`length(btrim(${t.fullName})) > 0`),
    check("users_name_change_count_nonneg", sql`${t.nameChangeCount} >= 0`),
  ],
);
