import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { AppError, conflict, notFound } from "../http/errors";
import { INT4_MAX } from "../http/fields";
import { sha256Hex } from "../lib/bytes";
import { num } from "../lib/shape";
import { LABOUR_SERVICE } from "../listings/categories";
import { changeWithOutbox, type NotifyInput, type RealtimeEvent } from "../outbox/outbox";
import { hasLabourAccessSql } from "../payments/labour-access";
import { type Row, rowsOf, serviceLabel, when } from "./booking";
import { type CustomerBooking, customerBookingsOf, customerBookingsSql } from "./lists";
import type { Appointment } from "./time";

/** Creating a booking (idempotent: the apps retry POST). */

export type CreateBookingInput = {
  customerId: string;
  providerServiceId: string;
  /** Sub-service ids as the app sends them (slugs; sub-service or price-row uuids are accepted too). */
  subServiceIds: string[];
  appointment: Appointment;
  address?: string;
  description?: string;
  /** Client `Idempotency-Key`, if sent. */
  idempotencyKey?: string;
};

/**
 * Open (pending or accepted) bookings one customer may hold with one provider: enough for real use
 * (a few jobs queued with the same plumber), and it stops one account flooding a provider's list
 * (40 bookings in 1.6 s were seen). Held under concurrency by a per-pair advisory lock in createBooking.
 */
export const OPEN_BOOKINGS_PER_PROVIDER = 3;

type PricedSub = { id: string; subServiceId: string; slug: string; name: string; pricePaise: number };

/**
 * Creates a booking, or returns the one an earlier identical request created; answers with the
 * booking as the customer's list shows it. Two round trips: the listing (with the session check),
 * then one batch that takes the cap lock, inserts under the rules and writes the outbox rows, and
 * reads the booking back.
 *
 * Idempotency without a client key: the apps retry POST up to 3 times (docs/api-contract.md §1.5)
 * and send no key, so one is derived from what makes the request the same booking: customer,
 * listing, instant and sub-services, plus how many earlier bookings of that slot are already over
 * (cancelled/rejected/completed). A retry derives the same key and finds the original; booking the
 * slot again after cancelling derives a new one. Both unique constraints are the arbiters (no
 * check-then-insert): `(customer_id, idempotency_key)` and one live booking per customer, listing and
 * slot; the insert skips on either (ON CONFLICT DO NOTHING) and the read that follows it in the batch
 * tells a replay (the key's booking) from a refusal.
 */
export async function createBooking(db: Db, input: CreateBookingInput): Promise<{ booking: CustomerBooking; created: boolean }> {
  const [l] = await rowsOf(
    db.http,
    sql`select ps.id, ps.provider_id, ps.status, (ps.expires_at > now()) as in_window, sm.name as service_name,
               pp.user_id as provider_user_id, pu.full_name as provider_name, (pu.deleted_at is not null) as provider_gone,
               cu.full_name as customer_name,
               (select coalesce(json_agg(json_build_object('id', x.id, 'subServiceId', s.id, 'slug', s.slug, 'name', s.name,
                         'pricePaise', x.price_paise)), '[]'::json)
                  from provider_sub_services x join sub_services s on s.id = x.sub_service_id
                 where x.provider_service_id = ps.id) as subs,
               ${hasLabourAccessSql(input.customerId)} as has_labour_access,
               (select count(*)::int from bookings ob where ob.customer_id = ${input.customerId}
                   and ob.provider_service_id = ps.id and ob.appointment_at = ${input.appointment.at.toISOString()}
                   and ob.status not in ('pending', 'accepted')) as finished_at_slot
          from provider_services ps
          join services_master sm on sm.id = ps.service_id
          join provider_profiles pp on pp.id = ps.provider_id
          join users pu on pu.id = pp.user_id
          join users cu on cu.id = ${input.customerId}
         where ps.id = ${input.providerServiceId}`,
  );
  if (!l || l.status === "deleted" || l.provider_gone) throw notFound("Provider service");
  if (l.status !== "active" || !l.in_window) throw listingNotBookable();
  if (l.provider_user_id === input.customerId) throw new AppError("UNPROCESSABLE", "You cannot book your own service");
  const serviceName = String(l.service_name);
  const labour = serviceName === LABOUR_SERVICE;
  if (labour && !l.has_labour_access) throw labourAccessRequired();

  const subs = (typeof l.subs === "string" ? JSON.parse(l.subs) : l.subs) as PricedSub[];
  const selected: PricedSub[] = [];
  for (const raw of input.subServiceIds) {
    const s = subs.find((x) => x.slug === raw || x.subServiceId === raw || x.id === raw);
    if (!s)
      throw new AppError("VALIDATION_ERROR", `This provider does not offer "${raw.slice(0, 60)}"`, {
        errors: [{ field: "selectedServices", message: "not offered by this provider" }],
      });
    if (!selected.some((x) => x.id === s.id)) selected.push(s);
  }
  const total = selected.reduce((sum, s) => sum + s.pricePaise, 0);
  if (total > INT4_MAX)
    throw new AppError("VALIDATION_ERROR", "The selected services cost too much for one booking; book fewer at a time", {
      errors: [{ field: "selectedServices", message: "total price too large for one booking" }],
    });
  const key = input.idempotencyKey
    ? `client:${input.idempotencyKey}`
    : `derived:${await sha256Hex(
        [
          input.customerId,
          input.providerServiceId,
          input.appointment.at.toISOString(),
          selected
            .map((s) => s.slug)
            .sort()
            .join(","),
          num(l.finished_at_slot),
        ].join("|"),
      )}`;

  const bookingId = crypto.randomUUID();
  const providerId = String(l.provider_id);
  const providerUserId = String(l.provider_user_id);
  const label = serviceLabel(serviceName);
  const slot = when(input.appointment.date, input.appointment.time);
  const data = {
    bookingId,
    screen: "bookings",
    appointmentDate: input.appointment.date,
    appointmentTime: input.appointment.time,
    serviceName: label,
  };
  const notes: NotifyInput[] = [
    {
      userId: providerUserId,
      title: "New Booking Request",
      message: `You have a new booking request for ${label} on ${slot}.`,
      type: "booking",
      data: { ...data, type: "booking_request", customerName: String(l.customer_name) },
      dedupKey: `booking:${bookingId}:created:provider`,
    },
    {
      userId: input.customerId,
      title: "Booking Request Sent",
      message: `Your booking request for ${label} on ${slot} was sent to ${String(l.provider_name)}. We will let you know when they respond.`,
      type: "booking",
      data: { ...data, type: "booking_created", providerName: String(l.provider_name) },
      dedupKey: `booking:${bookingId}:created:customer`,
    },
  ];
  const events: RealtimeEvent[] = [
    { userId: providerUserId, event: "booking_created", payload: { bookingId }, audience: "any" },
    { userId: providerUserId, event: "booking_unread_count_update", payload: {}, audience: "any" },
    { userId: input.customerId, event: "booking_created", payload: { bookingId }, audience: "any" },
  ];

  // The rules, checked again by the insert itself: the read above held no lock.
  const openBookings = sql`(select count(*)::int from bookings ob where ob.customer_id = ${input.customerId}
                              and ob.provider_id = ${providerId} and ob.status in ('pending', 'accepted'))`;
  const bookable = sql`exists (select 1 from provider_services ps where ps.id = ${input.providerServiceId}
                                 and ps.status = 'active' and ps.expires_at > now())`;
  const labourOk = labour ? hasLabourAccessSql(input.customerId) : sql`true`;
  const [, inserted, mine, refusedBy] = await db.http.batch([
    // Serialises this customer's bookings with this provider until commit: the open-bookings cap in
    // the next statement counts with a snapshot taken after the lock, so it sees every committed rival.
    db.http.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`booking-cap:${input.customerId}:${providerId}`}, 0))`),
    // A retry of an existing booking passes the cap and meets the key's unique constraint instead.
    db.http.execute(
      changeWithOutbox(
        sql`insert into bookings (id, customer_id, provider_service_id, provider_id, selected_sub_services, total_price_paise,
                                  appointment_at, appointment_date, appointment_time, address, description,
                                  viewed_by_customer, viewed_by_provider, idempotency_key)
            select ${bookingId}, ${input.customerId}, ${input.providerServiceId}, ${providerId},
                   ${JSON.stringify(selected.map((s) => ({ subServiceId: s.subServiceId, slug: s.slug, name: s.name, pricePaise: s.pricePaise })))}::jsonb,
                   ${total}, ${input.appointment.at.toISOString()}, ${input.appointment.date}, ${input.appointment.time},
                   ${input.address ?? null}, ${input.description ?? null}, true, false, ${key}
             where (${openBookings} < ${OPEN_BOOKINGS_PER_PROVIDER}
                    or exists (select 1 from bookings ob where ob.customer_id = ${input.customerId} and ob.idempotency_key = ${key}))
               and ${bookable} and ${labourOk}
            on conflict do nothing
            returning id`,
        notes,
        events,
      ),
    ),
    db.http.execute(customerBookingsSql(input.customerId, { page: 1, limit: 1, idempotencyKey: key })),
    db.http.execute(sql`select ${openBookings} as open_bookings, ${bookable} as bookable, ${labourOk} as labour_ok`),
  ]);
  const [booking] = customerBookingsOf(mine.rows as Row[]);
  if (inserted.rows.length > 0 && booking) return { booking, created: true };
  if (booking) {
    if (booking.provider_service_id !== input.providerServiceId || booking.appointment_at !== input.appointment.at.toISOString())
      throw new AppError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used for a different booking");
    return { booking, created: false };
  }
  const refused = refusedBy.rows[0] as Row;
  if (!refused.bookable) throw listingNotBookable();
  if (!refused.labour_ok) throw labourAccessRequired();
  if (num(refused.open_bookings) >= OPEN_BOOKINGS_PER_PROVIDER)
    throw conflict(
      `Too many open bookings: you already have ${OPEN_BOOKINGS_PER_PROVIDER} pending or accepted bookings with this provider. ` +
        "Wait until one is answered or completed, or cancel one, before booking again.",
    );
  // Nothing else makes the insert skip: the customer's live booking of this listing at this instant.
  throw conflict("You already have a booking with this provider for the same date and time.", "DUPLICATE");
}

const listingNotBookable = () => new AppError("UNPROCESSABLE", "This provider is not accepting bookings right now (listing not active)");
const labourAccessRequired = () =>
  new AppError("LABOUR_ACCESS_REQUIRED", "Labour booking requires active labour access. Please purchase labour access first.");
