import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { pgCode, pgConstraint } from "../db/client";
import { AppError, conflict, notFound } from "../http/errors";
import { changeWithOutbox, type NotifyInput, type RealtimeEvent } from "../outbox/outbox";
import { type BookingStatus, type Row, rowsOf, serviceLabel, when } from "./booking";
import { type CustomerBooking, customerBookingsOf, customerBookingsSql } from "./lists";
import type { BookingStatusChangeData } from "./schemas";

/**
 * A booking's status changes (also enforced by the `bookings_guard` trigger):
 *   pending → accepted | rejected | cancelled;  accepted → completed | cancelled.
 * Each change is one compare-and-set `UPDATE ... WHERE status IN (<allowed from>) RETURNING`.
 */

export type Actor = { kind: "customer" | "provider"; userId: string };

/** Who may move a booking where, from which states. Everything else is 409 and changes nothing. */
const TRANSITIONS: Record<Actor["kind"], Partial<Record<BookingStatus, BookingStatus[]>>> = {
  provider: { accepted: ["pending"], rejected: ["pending"], completed: ["accepted"] },
  customer: { cancelled: ["pending", "accepted"] },
};

const VERB: Record<BookingStatus, string> = {
  pending: "reopen",
  accepted: "accept",
  rejected: "reject",
  cancelled: "cancel",
  completed: "complete",
};

/** A provider accepts, rejects or completes; a customer cancels (cancelBooking also answers with the booking). */
export async function changeStatus(
  db: Db,
  actor: Actor,
  bookingId: string,
  to: BookingStatus,
  reason?: string,
): Promise<BookingStatusChangeData> {
  await transition(db, actor, bookingId, to, reason);
  return { booking: { id: bookingId, status: to } };
}

/** The customer cancels a pending or accepted booking; answers with the booking as their list shows it. */
export async function cancelBooking(db: Db, customerId: string, bookingId: string, reason?: string): Promise<CustomerBooking> {
  const after = await transition(
    db,
    { kind: "customer", userId: customerId },
    bookingId,
    "cancelled",
    reason,
    customerBookingsSql(customerId, { page: 1, limit: 1, id: bookingId }),
  );
  return customerBookingsOf(after)[0]!;
}

/**
 * Two round trips: the booking and the names its notifications quote (with the session check; 404
 * and most 409s are answered from it), then one batch: the compare-and-set update with its outbox
 * rows, the status after it (a rival change may have won in between: 409 too) and `readAfter`.
 */
async function transition(db: Db, actor: Actor, bookingId: string, to: BookingStatus, reason?: string, readAfter?: SQL): Promise<Row[]> {
  const from = TRANSITIONS[actor.kind][to];
  if (!from) throw new AppError("INVALID_STATE_TRANSITION", `A ${actor.kind} cannot ${VERB[to]} a booking`);
  const mine =
    actor.kind === "provider"
      ? sql`b.provider_id in (select pp.id from provider_profiles pp where pp.user_id = ${actor.userId})`
      : sql`b.customer_id = ${actor.userId}`;
  const [r] = await rowsOf(
    db.http,
    sql`select b.id, b.status, b.customer_id, pp.user_id as provider_user_id, sm.name as service_name,
               b.appointment_date::text as appointment_date, b.appointment_time,
               cu.full_name as customer_name, pu.full_name as provider_name
          from bookings b
          join provider_profiles pp on pp.id = b.provider_id
          join provider_services ps on ps.id = b.provider_service_id
          join services_master sm on sm.id = ps.service_id
          join users cu on cu.id = b.customer_id
          join users pu on pu.id = pp.user_id
         where b.id = ${bookingId} and ${mine}`,
  );
  if (!r) throw notFound("Booking");
  const wrongState = (status: unknown) =>
    new AppError("INVALID_STATE_TRANSITION", `Cannot ${VERB[to]} a booking that is ${String(status)}`, {
      extra: { currentStatus: status },
    });
  if (!from.includes(r.status as BookingStatus)) throw wrongState(r.status);

  // Badges: the customer's counts accepted/cancelled/completed, the provider's pending/cancelled.
  const viewedByCustomer = actor.kind === "customer" || to === "rejected";
  const viewedByProvider = actor.kind === "provider";
  const fromList = sql.join(
    from.map((s) => sql`${s}::booking_status`),
    sql`, `,
  );
  const { notes, events } = transitionNotes(r, to, reason);
  try {
    const [changed, now, after] = await db.http.batch([
      db.http.execute(
        changeWithOutbox(
          sql`update bookings b
                 set status = ${to}::booking_status,
                     rejection_reason = ${to === "rejected" ? (reason ?? null) : sql`b.rejection_reason`},
                     cancellation_reason = ${to === "cancelled" ? (reason ?? null) : sql`b.cancellation_reason`},
                     viewed_by_customer = ${viewedByCustomer}, viewed_by_provider = ${viewedByProvider}
               where b.id = ${bookingId} and ${mine} and b.status in (${fromList})
              returning b.id`,
          notes,
          events,
        ),
      ),
      db.http.execute(sql`select status from bookings where id = ${bookingId}`),
      db.http.execute(readAfter ?? sql`select 1`),
    ]);
    if (changed.rows.length === 0) throw wrongState(now.rows[0]?.status);
    return after.rows as Row[];
  } catch (err) {
    if (pgCode(err) === "23505" && pgConstraint(err) === "bookings_provider_one_accepted_per_slot_uq")
      throw conflict("You have already accepted another booking at this date and time.", "CONFLICT");
    throw err;
  }
}

/** What a change of status tells whom: both parties' notifications and socket triggers. */
function transitionNotes(r: Row, to: BookingStatus, reason?: string): { notes: NotifyInput[]; events: RealtimeEvent[] } {
  const bookingId = r.id as string;
  const customerId = r.customer_id as string;
  const providerUserId = r.provider_user_id as string;
  const label = serviceLabel(String(r.service_name));
  const slot = when(String(r.appointment_date), String(r.appointment_time));
  const data = {
    bookingId,
    screen: "bookings",
    serviceName: label,
    appointmentDate: r.appointment_date,
    appointmentTime: r.appointment_time,
  };
  const because = reason ? ` Reason: ${reason.slice(0, 200)}` : "";
  const toCustomer: Partial<Record<BookingStatus, [string, string, string]>> = {
    accepted: [
      "Booking Accepted",
      `Your booking for ${label} on ${slot} has been accepted by ${String(r.provider_name)}.`,
      "booking_confirmed",
    ],
    rejected: ["Booking Rejected", `Your booking for ${label} on ${slot} was rejected.${because}`, "booking_rejected"],
    completed: [
      "Booking Completed",
      `Your booking for ${label} on ${slot} has been marked as completed. Please rate your experience.`,
      "service_completed",
    ],
    cancelled: ["Booking Cancelled", `Your booking for ${label} on ${slot} has been cancelled.`, "booking_cancelled"],
  };
  const notes: NotifyInput[] = [];
  const c = toCustomer[to];
  if (c) {
    notes.push({
      userId: customerId,
      title: c[0],
      message: c[1],
      type: "booking",
      data: { ...data, type: c[2], providerName: r.provider_name },
      dedupKey: `booking:${bookingId}:${to}:customer`,
    });
  }
  if (to === "cancelled") {
    notes.push({
      userId: providerUserId,
      title: "Booking Cancelled by Customer",
      message: `${String(r.customer_name)} cancelled the booking for ${label} on ${slot}.${because}`,
      type: "booking",
      data: { ...data, type: "booking_cancelled_by_user", customerName: r.customer_name },
      dedupKey: `booking:${bookingId}:${to}:provider`,
    });
  }
  const events: RealtimeEvent[] = [customerId, providerUserId].flatMap((userId) => [
    { userId, event: "booking_updated", payload: { bookingId }, audience: "any" as const },
    { userId, event: "booking_unread_count_update", payload: {}, audience: "any" as const },
  ]);
  return { notes, events };
}
