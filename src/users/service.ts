import { and, asc, count, eq, isNull, sql } from "drizzle-orm";
import type { z } from "zod";
import type { Db, HttpDb } from "../db/client";
import { pgCode, pgConstraint } from "../db/client";
import { type AddressType, addresses, pushTokens, securityEvents, users } from "../db/schema";
import { AppError } from "../http/errors";
import { acceptImage, type MediaOwner, ownedMediaKey } from "../media/store";
import { revokeSessionsStatement } from "../sessions/tokens";
import { type AddressPage, type AddressRow, addressView, type ProfileData, type UserRow, userView } from "./schemas";

/** Profile, addresses and account deletion (docs/api-contract.md §3.2, §3.3). No HTTP here. */

export const MAX_NAME_CHANGES = 2;
export const MAX_ADDRESSES = 3;
/** The apps look for "name change limit" in the message (docs/api-contract.md §1.4); keep the words. */
export const NAME_LIMIT_MESSAGE = `You have reached the name change limit (at most ${MAX_NAME_CHANGES} name changes). Name changes are limited to prevent abuse.`;

async function liveUser(db: HttpDb, userId: string): Promise<UserRow> {
  const [u] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)))
    .limit(1);
  if (!u) throw new AppError("INVALID_TOKEN", "Session is no longer valid");
  return u;
}

/** The profile plus `location`: the home address (else the first one), as the profile screens show it. */
export async function getProfile(db: HttpDb, userId: string): Promise<z.input<typeof ProfileData>["user"]> {
  const [[u], [addr]] = await db.batch([
    db
      .select()
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.deletedAt)))
      .limit(1),
    db
      .select()
      .from(addresses)
      .where(eq(addresses.userId, userId))
      .orderBy(sql`(${addresses.type} = 'home') desc`, asc(addresses.createdAt))
      .limit(1),
  ]);
  if (!u) throw new AppError("INVALID_TOKEN", "Session is no longer valid");
  // A string: the screens render it as text (an object would crash a React Native <Text>).
  const location = addr?.fullAddress ?? null;
  return { ...userView(u), location };
}

export type ProfileUpdate = { fullName?: string; email?: string; profilePicUrl?: string | null };

export async function updateProfile(
  deps: { db: Db; env: Env; publicBaseUrl: string; waitUntil: (p: Promise<unknown>) => void },
  userId: string,
  input: ProfileUpdate,
) {
  const { db } = deps;
  const current = await liveUser(db.http, userId);
  const set: { [K in keyof typeof users.$inferInsert]?: (typeof users.$inferInsert)[K] | ReturnType<typeof sql> } = {};

  const media: MediaOwner = { env: deps.env, publicBaseUrl: deps.publicBaseUrl, userId };
  let newPic: string | undefined;
  if (input.profilePicUrl !== undefined) {
    const pic = (input.profilePicUrl ?? "").trim();
    newPic =
      pic === ""
        ? ""
        : await acceptImage(media, { value: pic, kind: "profile-pictures", field: "profilePicUrl", current: [current.profilePicUrl] });
    set.profilePicUrl = newPic;
  }

  const renaming = input.fullName !== undefined && input.fullName !== current.fullName;
  if (renaming) {
    if (current.nameChangeCount >= MAX_NAME_CHANGES) throw new AppError("BAD_REQUEST", NAME_LIMIT_MESSAGE);
    set.fullName = input.fullName;
    set.nameChangeCount = sql`${users.nameChangeCount} + 1`;
  }
  if (input.email !== undefined && (input.email || null) !== current.email) set.email = input.email || null;

  if (Object.keys(set).length === 0) return userView(current);

  let updated: UserRow | undefined;
  try {
    // The limit is re-checked in the UPDATE, so two concurrent renames cannot both pass.
    [updated] = await db.http
      .update(users)
      .set(set)
      .where(and(eq(users.id, userId), isNull(users.deletedAt), renaming ? sql`${users.nameChangeCount} < ${MAX_NAME_CHANGES}` : undefined))
      .returning();
  } catch (err) {
    if (pgCode(err) === "23505" && pgConstraint(err) === "users_email_role_live_uq") {
      throw new AppError("ALREADY_EXISTS", "Email already taken by another user");
    }
    throw err;
  }
  if (!updated) throw new AppError("BAD_REQUEST", NAME_LIMIT_MESSAGE);

  // The replaced photo is deleted after the response, if it is one this account stored.
  const oldKey =
    newPic !== undefined && current.profilePicUrl !== newPic ? ownedMediaKey(media, current.profilePicUrl, "profile-pictures") : null;
  if (oldKey) deps.waitUntil(deps.env.MEDIA.delete(oldKey).catch(() => undefined));
  return userView(updated);
}

export async function listAddresses(db: HttpDb, userId: string, page: number, limit: number): Promise<z.input<typeof AddressPage>> {
  const [rows, [total]] = await db.batch([
    db
      .select()
      .from(addresses)
      .where(eq(addresses.userId, userId))
      .orderBy(sql`(${addresses.type} = 'home') desc`, asc(addresses.createdAt))
      .limit(limit)
      .offset((page - 1) * limit),
    db.select({ n: count() }).from(addresses).where(eq(addresses.userId, userId)),
  ]);
  const n = total?.n ?? 0;
  const totalPages = Math.max(1, Math.ceil(n / limit));
  return {
    addresses: rows.map(addressView),
    pagination: { currentPage: page, totalPages, total: n, totalCount: n, limit, hasMore: page < totalPages },
  };
}

export type AddressInput = { type?: AddressType; fullAddress?: string; state?: string; city?: string; pincode?: string };

export async function createAddress(
  db: HttpDb,
  userId: string,
  input: Required<Pick<AddressInput, "fullAddress" | "state">> & AddressInput,
) {
  // The cap is checked in the INSERT itself, so concurrent adds cannot exceed it; the row comes back with it.
  const res = await db
    .execute<AddressRow>(sql`
    insert into addresses (user_id, type, full_address, state, city, pincode)
    select ${userId}, ${input.type ?? "home"}, ${input.fullAddress}, ${input.state}, ${input.city ?? null}, ${input.pincode ?? null}
    where (select count(*) from addresses where user_id = ${userId}) < ${MAX_ADDRESSES}
    returning id, user_id as "userId", type, full_address as "fullAddress", state, city, pincode, created_at as "createdAt", updated_at as "updatedAt"
  `)
    .catch((err) => {
      if (pgCode(err) === "23505") throw new AppError("ALREADY_EXISTS", "You already have a home address. Update it instead.");
      throw err;
    });
  const row = res.rows[0];
  if (!row) throw new AppError("BAD_REQUEST", `Maximum ${MAX_ADDRESSES} addresses allowed per user`);
  // Raw rows carry timestamps as text.
  return addressView({ ...row, createdAt: new Date(row.createdAt) });
}

export async function updateAddress(db: HttpDb, userId: string, id: string, input: AddressInput) {
  const set: Partial<typeof addresses.$inferInsert> = {};
  if (input.type !== undefined) set.type = input.type;
  if (input.fullAddress !== undefined) set.fullAddress = input.fullAddress;
  if (input.state !== undefined) set.state = input.state;
  if (input.city !== undefined) set.city = input.city;
  if (input.pincode !== undefined) set.pincode = input.pincode;
  try {
    const [row] = await db
      .update(addresses)
      .set(set)
      .where(and(eq(addresses.id, id), eq(addresses.userId, userId)))
      .returning();
    if (!row) throw new AppError("NOT_FOUND", "Address not found");
    return addressView(row);
  } catch (err) {
    if (pgCode(err) === "23505") throw new AppError("ALREADY_EXISTS", "You already have a home address. Update it instead.");
    throw err;
  }
}

export async function deleteAddress(db: HttpDb, userId: string, id: string): Promise<void> {
  const rows = await db
    .delete(addresses)
    .where(and(eq(addresses.id, id), eq(addresses.userId, userId)))
    .returning({ id: addresses.id });
  if (rows.length === 0) throw new AppError("NOT_FOUND", "Address not found");
}

/**
 * Soft delete in one batch (one transaction, one round trip): the account row stays (bookings,
 * ratings and payments keep their counter-party and the ledger stays whole, unlike upstream's
 * half-finished hard delete); every session ends, push tokens stop, and the phone/e-mail
 * become free for a new signup. The push tokens and the security event go with the deletion in one
 * statement, so a concurrent second deletion (which finds the account already gone) adds nothing.
 */
export async function deleteAccount(db: Db, userId: string, meta: { ip?: string | null; userAgent?: string | null }): Promise<void> {
  const [deleted] = await db.http.batch([
    db.http.execute<{ id: string }>(sql`
      with gone as (
        update ${users} set deleted_at = now() where id = ${userId} and deleted_at is null returning id
      ), tokens as (
        update ${pushTokens} set is_active = false, deactivated_reason = 'account_deleted'
         where user_id in (select id from gone) and is_active
      ), audit as (
        insert into ${securityEvents} (user_id, event_type, severity, ip, user_agent)
        select id, 'account_deletion', 'warning', ${meta.ip ?? null}, ${meta.userAgent?.slice(0, 300) ?? null} from gone
      )
      select id from gone`),
    revokeSessionsStatement(db.http, userId, "account_deleted"),
  ]);
  if (deleted.rows.length === 0) throw new AppError("INVALID_TOKEN", "Session is no longer valid");
}
