import { eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { HttpDb } from "../db/client";
import {
  bookings,
  type CallLogStatus,
  type CallPartyRole,
  callLogs,
  callSessions,
  providerProfiles,
  providerServices,
  servicesMaster,
  users,
} from "../db/schema";
import { AppError } from "../http/errors";

/**
 * Who may call whom about a booking ("call masking": in-app WebRTC only, phone numbers never leave
 * the server). Upstream's rules with their holes closed: identity comes from the
 * token, never from the payload, and a third party learns nothing beyond "not found".
 */

export type CallParty = { id: string; name: string; role: CallPartyRole };
export type CallParties = { bookingId: string; caller: CallParty; receiver: CallParty; serviceName: string };

/** Booking statuses during which the two parties may call each other (upstream: pending, accepted). */
export const CALLABLE_STATUSES = new Set(["pending", "accepted"]);

const customer = alias(users, "customer");
const providerUser = alias(users, "provider_user");

async function loadBookingParties(db: HttpDb, bookingId: string) {
  const [row] = await db
    .select({
      status: bookings.status,
      customerId: customer.id,
      customerName: customer.fullName,
      customerPhone: customer.phone,
      customerVerified: customer.isVerified,
      customerDeleted: customer.deletedAt,
      providerUserId: providerUser.id,
      providerName: providerUser.fullName,
      providerPhone: providerUser.phone,
      providerVerified: providerUser.isVerified,
      providerDeleted: providerUser.deletedAt,
      listingStatus: providerServices.status,
      serviceName: servicesMaster.name,
    })
    .from(bookings)
    .innerJoin(customer, eq(customer.id, bookings.customerId))
    .innerJoin(providerProfiles, eq(providerProfiles.id, bookings.providerId))
    .innerJoin(providerUser, eq(providerUser.id, providerProfiles.userId))
    .innerJoin(providerServices, eq(providerServices.id, bookings.providerServiceId))
    .innerJoin(servicesMaster, eq(servicesMaster.id, providerServices.serviceId))
    .where(eq(bookings.id, bookingId))
    .limit(1);
  return row;
}

/** Throws AppError with one of the apps' call errorCodes, or returns both parties (names only). */
export async function checkCallPermission(
  db: HttpDb,
  input: { bookingId: string; userId: string; callerType?: CallPartyRole | undefined },
): Promise<CallParties> {
  const b = await loadBookingParties(db, input.bookingId);
  const isCustomer = b?.customerId === input.userId;
  const isProvider = b?.providerUserId === input.userId;
  if (!b || (!isCustomer && !isProvider) || b.customerDeleted || b.providerDeleted) {
    throw new AppError("CALL_BOOKING_NOT_FOUND", "Booking not found or access denied");
  }
  if (!CALLABLE_STATUSES.has(b.status)) throw new AppError("CALL_STATUS_NOT_ALLOWED", "Calls are only allowed for active bookings");
  const role: CallPartyRole = isCustomer ? "user" : "provider";
  if (input.callerType && input.callerType !== role)
    throw new AppError("CALLER_ROLE_MISMATCH", "Caller type does not match your role in this booking");
  // Two accounts of one person (same phone, user and provider roles) count as oneself too.
  if (b.customerId === b.providerUserId || b.customerPhone === b.providerPhone) {
    throw new AppError("CALL_SELF_NOT_ALLOWED", "You cannot call yourself");
  }
  const me = isCustomer
    ? { id: b.customerId, name: b.customerName, phone: b.customerPhone, verified: b.customerVerified }
    : { id: b.providerUserId, name: b.providerName, phone: b.providerPhone, verified: b.providerVerified };
  const other = isCustomer
    ? { id: b.providerUserId, name: b.providerName, phone: b.providerPhone, verified: b.providerVerified }
    : { id: b.customerId, name: b.customerName, phone: b.customerPhone, verified: b.customerVerified };
  if (!me.phone) throw new AppError("CALLER_PHONE_MISSING", "Your account has no phone number");
  if (!other.phone) throw new AppError("RECEIVER_PHONE_MISSING", "The other party has no phone number");
  if (!me.verified) throw new AppError("CALLER_NOT_VERIFIED", "Verify your account to make calls");
  if (!other.verified) throw new AppError("RECEIVER_NOT_VERIFIED", "The other party is not verified");
  if (isCustomer && b.listingStatus !== "active")
    throw new AppError("PROVIDER_CALLS_DISABLED", "This provider cannot take calls right now");
  return {
    bookingId: input.bookingId,
    caller: { id: me.id, name: me.name, role },
    receiver: { id: other.id, name: other.name, role: role === "user" ? "provider" : "user" },
    serviceName: b.serviceName,
  };
}

export type CallLogInput = {
  bookingId: string;
  userId: string;
  durationSeconds: number;
  status: CallLogStatus;
  endReason?: string | undefined;
  connectionQuality?: Record<string, unknown> | undefined;
  errorDetails?: Record<string, unknown> | undefined;
  metrics?: Record<string, unknown> | undefined;
};

/**
 * The app's after-call report. Only a party of the booking may log (upstream let anyone);
 * the role is derived from the booking, and the log is linked to that party's latest call session.
 * One statement: the party check, the session lookup and the insert (nothing is written for anyone else).
 */
export async function recordCallLog(db: HttpDb, input: CallLogInput): Promise<{ id: string }> {
  const json = (v: Record<string, unknown> | undefined) => (v === undefined ? null : JSON.stringify(v));
  const { rows } = await db.execute<{ id: string }>(sql`
    with party as (
      select case when b.customer_id = ${input.userId} then 'user' else 'provider' end::call_party_role as role
        from ${bookings} b join ${providerProfiles} pp on pp.id = b.provider_id
       where b.id = ${input.bookingId} and ${input.userId} in (b.customer_id, pp.user_id)
    ), latest as (
      select id from ${callSessions}
       where booking_id = ${input.bookingId} and ${input.userId} in (caller_id, receiver_id)
       order by started_at desc limit 1
    )
    insert into ${callLogs} (booking_id, call_session_id, logged_by, caller_role, status, duration_seconds, end_reason,
                             connection_quality, error_details, metrics)
    select ${input.bookingId}, (select id from latest), ${input.userId}, party.role, ${input.status}::call_log_status, ${input.durationSeconds},
           ${input.endReason ?? null}, ${json(input.connectionQuality)}::jsonb, ${json(input.errorDetails)}::jsonb, ${json(input.metrics)}::jsonb
      from party
    returning id`);
  const row = rows[0];
  if (!row) throw new AppError("CALL_HISTORY_ACCESS_DENIED", "Not a party of this booking");
  return { id: row.id };
}
