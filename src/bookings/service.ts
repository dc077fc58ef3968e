import { type SQL, sql } from "drizzle-orm";
import { LABOUR_SERVICE, publicServiceName } from "../catalogue/categories";
import { isoSql, num, pgTextArray, rupees } from "../catalogue/shape";
import type { Db, HttpDb } from "../db/client";
import { pgCode, pgConstraint } from "../db/client";
import { AppError, conflict, notFound } from "../http/errors";
import { INT4_MAX } from "../http/fields";
import { isOurUrl } from "../media/store";
import { changeWithOutbox, type NotifyInput, type RealtimeEvent } from "../notifications/outbox";
import { hasLabourAccessSql } from "../payments/service";
import { type Appointment, displayDate } from "./time";

/**
 * Bookings: creation (idempotent), the lifecycle, ratings, reports, lists and unread badges.
 *
 * Lifecycle (also enforced by the `bookings_guard` trigger):
 *   pending → accepted | rejected | cancelled;  accepted → completed | cancelled.
 * Each change is one compare-and-set `UPDATE ... WHERE status IN (<allowed from>) RETURNING`.
 *
 * Round trips (each pays the full distance to the database): a read is one statement or one batch.
 * A write is one non-interactive batch (`db.http.batch`, one transaction) in which the rules are SQL
 * (compare-and-set, guarded inserts, advisory locks held to commit, constraints) and the change
 * writes its own notifications and socket events (`changeWithOutbox`), so they commit together.
 * When a notification quotes the booking (names, service, slot), a plain read comes first: two
 * round trips, the read also answering the common 404/409 without writing. No interactive
 * transaction: no lock has to be held across application logic here.
 */

type Row = Record<string, unknown>;
const rowsOf = async (db: HttpDb, q: SQL): Promise<Row[]> => (await db.execute(q)).rows as Row[];

export type BookingStatus = "pending" | "accepted" | "rejected" | "cancelled" | "completed";

/** Human label of a category for notification texts ("granite-tiles" → "Granite Tiles"). */
export function serviceLabel(name: string): string {
  return publicServiceName(name)
    .split("-")
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join(" ");
}

const when = (date: string, time: string) => `${displayDate(date)} at ${time}`;

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------------
// Create

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
 * Idempotency without a client key: the apps retry POST up to 3 times (client-contract §1 item 7)
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

// ---------------------------------------------------------------------------------------------
// Lists

const PAGE = (page: number, limit: number) => sql`limit ${limit} offset ${(page - 1) * limit}`;

type BookedSub = { subServiceId: string; slug: string; name: string; pricePaise: number };
const bookedSubs = (v: unknown): BookedSub[] => (typeof v === "string" ? JSON.parse(v) : (v as BookedSub[])) ?? [];

function commonFields(r: Row) {
  const subs = bookedSubs(r.selected_sub_services);
  const price = rupees(num(r.total_price_paise));
  return {
    id: r.id as string,
    status: r.status as BookingStatus,
    appointment_date: r.appointment_date as string,
    appointment_time: r.appointment_time as string,
    appointment_at: r.appointment_at as string,
    selected_service: subs.map((s) => s.slug).join(","),
    selected_services: subs.map((s) => ({ serviceId: s.slug, serviceName: s.name, price: rupees(s.pricePaise) ?? 0 })),
    total_price: price,
    estimated_price: price,
    service_charge_value: price,
    address: (r.address as string | null) ?? null,
    description: (r.description as string | null) ?? null,
    rejection_reason: (r.rejection_reason as string | null) ?? null,
    cancellation_reason: (r.cancellation_reason as string | null) ?? null,
    created_at: r.created_at as string,
    updated_at: r.updated_at as string,
    provider_service_id: r.provider_service_id as string,
    service_id: r.service_id as string,
    service_name: publicServiceName(String(r.service_name)),
  };
}

const rating = (r: Row) =>
  r.rating === null || r.rating === undefined
    ? null
    : { rating: num(r.rating), review: (r.review as string | null) ?? null, created_at: r.rating_created_at as string };

const BOOKING_COLUMNS = sql`b.id, b.status, b.appointment_date::text as appointment_date, b.appointment_time,
  ${isoSql(sql`b.appointment_at`)} as appointment_at, b.selected_sub_services, b.total_price_paise, b.address, b.description,
  b.rejection_reason, b.cancellation_reason, ${isoSql(sql`b.created_at`)} as created_at, ${isoSql(sql`b.updated_at`)} as updated_at,
  b.provider_service_id, ps.service_id, sm.name as service_name`;

export type ListQuery = { page: number; limit: number; status?: BookingStatus; id?: string };

function pagination(total: number, page: number, limit: number) {
  const totalPages = Math.max(1, Math.ceil(total / limit));
  return {
    total,
    totalItems: total,
    currentPage: page,
    totalPages,
    limit,
    itemsPerPage: limit,
    hasMore: page < totalPages,
    hasNextPage: page < totalPages,
    hasPrevPage: page > 1,
  };
}

/** A list filter; the idempotency key finds the booking a create request made (not an app filter). */
type BookingFilter = ListQuery & { idempotencyKey?: string };

/**
 * The customer's bookings with the provider, their own rating and report, and the total: one query
 * (count(*) over ()), one round trip with the session check. No phone numbers.
 */
export async function customerBookings(db: HttpDb, customerId: string, q: ListQuery) {
  const rows = await rowsOf(db, customerBookingsSql(customerId, q));
  return { bookings: customerBookingsOf(rows), pagination: pagination(num(rows[0]?.total_count), q.page, q.limit) };
}

function customerBookingsSql(customerId: string, q: BookingFilter): SQL {
  return sql`select ${BOOKING_COLUMNS}, pu.id as provider_user_id, pu.full_name as provider_name, pu.profile_pic_url as provider_profile_pic_url,
               rep.incident_type as report_reason, rep.description as report_description,
               rt.rating, rt.review, ${isoSql(sql`rt.created_at`)} as rating_created_at, b.viewed_by_customer,
               count(*) over ()::int as total_count
          from bookings b
          join provider_services ps on ps.id = b.provider_service_id
          join services_master sm on sm.id = ps.service_id
          join provider_profiles pp on pp.id = b.provider_id
          join users pu on pu.id = pp.user_id
          left join user_reports_providers rep on rep.booking_id = b.id
          left join ratings rt on rt.booking_id = b.id and rt.direction = 'customer_to_provider'
         where b.customer_id = ${customerId}
           ${q.status ? sql`and b.status = ${q.status}` : sql``}
           ${q.id ? sql`and b.id = ${q.id}` : sql``}
           ${q.idempotencyKey ? sql`and b.idempotency_key = ${q.idempotencyKey}` : sql``}
         order by b.created_at desc, b.id desc
         ${PAGE(q.page, q.limit)}`;
}

function customerBookingsOf(rows: Row[]) {
  return rows.map((r) => ({
    ...commonFields(r),
    provider_id: r.provider_user_id as string,
    provider_name: String(r.provider_name ?? ""),
    provider_profile_pic_url: String(r.provider_profile_pic_url ?? ""),
    report_reason: (r.report_reason as string | null) ?? null,
    report_description: (r.report_description as string | null) ?? null,
    rating: rating(r),
    is_viewed: Boolean(r.viewed_by_customer),
  }));
}

/** One booking as the customer's list and detail show it. */
export type CustomerBooking = ReturnType<typeof customerBookingsOf>[number];

/** The provider's bookings with the customer's name and area (never the phone) and the provider's rating of them. */
export async function providerBookings(db: HttpDb, providerUserId: string, q: ListQuery) {
  const rows = await rowsOf(
    db,
    sql`select ${BOOKING_COLUMNS}, cu.id as customer_id, cu.full_name as customer_name, cu.profile_pic_url as customer_profile_pic_url,
               coalesce(b.address, ha.full_address, '') as customer_address, coalesce(ha.state, '') as customer_state,
               coalesce(ha.city, '') as customer_city,
               rt.rating, rt.review, ${isoSql(sql`rt.created_at`)} as rating_created_at, b.viewed_by_provider,
               count(*) over ()::int as total_count
          from bookings b
          join provider_profiles pp on pp.id = b.provider_id and pp.user_id = ${providerUserId}
          join provider_services ps on ps.id = b.provider_service_id
          join services_master sm on sm.id = ps.service_id
          join users cu on cu.id = b.customer_id
          left join addresses ha on ha.user_id = cu.id and ha.type = 'home'
          left join ratings rt on rt.booking_id = b.id and rt.direction = 'provider_to_customer'
         where true
           ${q.status ? sql`and b.status = ${q.status}` : sql``}
           ${q.id ? sql`and b.id = ${q.id}` : sql``}
         order by b.created_at desc, b.id desc
         ${PAGE(q.page, q.limit)}`,
  );
  const bookings = rows.map((r) => ({
    ...commonFields(r),
    customer_id: r.customer_id as string,
    customer_name: String(r.customer_name ?? ""),
    customer_profile_pic_url: String(r.customer_profile_pic_url ?? ""),
    customer_address: String(r.customer_address ?? ""),
    customer_state: String(r.customer_state ?? ""),
    customer_city: String(r.customer_city ?? ""),
    rating: rating(r),
    is_viewed: Boolean(r.viewed_by_provider),
  }));
  return { bookings, pagination: pagination(num(rows[0]?.total_count), q.page, q.limit) };
}

// ---------------------------------------------------------------------------------------------
// Unread badges (client-contract §3.6, §3.7; upstream §3.4 "Unread badges")

export async function customerUnreadCount(db: HttpDb, customerId: string): Promise<number> {
  const [r] = await rowsOf(
    db,
    sql`select count(*)::int as n from bookings
         where customer_id = ${customerId} and not viewed_by_customer and status in ('accepted', 'cancelled', 'completed')`,
  );
  return num(r?.n);
}

export async function providerUnreadCount(db: HttpDb, providerUserId: string): Promise<number> {
  const [r] = await rowsOf(
    db,
    sql`select count(*)::int as n from bookings b join provider_profiles pp on pp.id = b.provider_id
         where pp.user_id = ${providerUserId} and not b.viewed_by_provider and b.status in ('pending', 'cancelled')`,
  );
  return num(r?.n);
}

/** Marks every booking of the side viewed; the badge event goes out only if something changed. One statement. */
export async function markAllViewed(db: HttpDb, side: "customer" | "provider", userId: string): Promise<number> {
  const change =
    side === "customer"
      ? sql`update bookings set viewed_by_customer = true where customer_id = ${userId} and not viewed_by_customer returning id`
      : sql`update bookings b set viewed_by_provider = true from provider_profiles pp
             where pp.id = b.provider_id and pp.user_id = ${userId} and not b.viewed_by_provider returning b.id`;
  const rows = await rowsOf(
    db,
    changeWithOutbox(change, [], [{ userId, event: "booking_unread_count_update", payload: {}, audience: "any" }]),
  );
  return rows.length;
}

/** The user app's per-booking "viewed" (sent when the rating modal opens). 404 for someone else's booking. One statement. */
export async function markViewedByCustomer(db: HttpDb, customerId: string, bookingId: string): Promise<void> {
  const rows = await rowsOf(
    db,
    changeWithOutbox(
      sql`update bookings set viewed_by_customer = true where id = ${bookingId} and customer_id = ${customerId} returning id`,
      [],
      [
        { userId: customerId, event: "booking_viewed", payload: { bookingId }, audience: "any" },
        { userId: customerId, event: "booking_unread_count_update", payload: {}, audience: "any" },
      ],
    ),
  );
  if (rows.length === 0) throw notFound("Booking");
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

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
): Promise<{ bookingId: string; status: BookingStatus }> {
  await transition(db, actor, bookingId, to, reason);
  return { bookingId, status: to };
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

// ---------------------------------------------------------------------------------------------
// Ratings (client-contract §3.8, upstream §3.5)

export type RatingInput = { rating: number; review?: string | null };

type RatingRules = {
  direction: "customer_to_provider" | "provider_to_customer";
  /** The rater's side of the booking (SQL over `b` bookings and `pp` provider_profiles). */
  mine: SQL;
  rateable: BookingStatus[];
  alreadyRated: string;
  notRateable: string;
};

/** `repeat` when this very rating is already stored (a retry: 200), `open` when it can be stored; throws why not otherwise. */
function ratingVerdict(cur: Row | undefined, rules: RatingRules, rating: number, review: string | null): "repeat" | "open" {
  if (!cur) throw notFound("Booking");
  if (cur.rating !== null && cur.rating !== undefined) {
    if (num(cur.rating) === rating && ((cur.review as string | null) ?? null) === review) return "repeat";
    throw conflict(rules.alreadyRated, "ALREADY_EXISTS");
  }
  if (!rules.rateable.includes(cur.status as BookingStatus))
    throw new AppError("INVALID_STATE_TRANSITION", `${rules.notRateable} (this one is ${String(cur.status)})`);
  return "open";
}

/**
 * Rates the other party of a booking, once. Two round trips: where the rating stands (with the
 * session check), then one batch with the guarded insert and its outbox rows, and the same read
 * again for when a concurrent request won (an identical rating is then a repeat).
 */
async function rate(
  db: Db,
  bookingId: string,
  rules: RatingRules,
  input: RatingInput,
  announce: (cur: Row) => { note: NotifyInput; events: RealtimeEvent[] },
): Promise<{ created: boolean }> {
  const review = input.review?.trim() || null;
  const state = sql`select b.status, b.customer_id, pp.user_id as provider_user_id, sm.name as service_name, rt.rating, rt.review
                      from bookings b
                      join provider_profiles pp on pp.id = b.provider_id
                      join provider_services ps on ps.id = b.provider_service_id
                      join services_master sm on sm.id = ps.service_id
                      left join ratings rt on rt.booking_id = b.id and rt.direction = ${rules.direction}
                     where b.id = ${bookingId} and ${rules.mine}`;
  const [cur] = await rowsOf(db.http, state);
  if (ratingVerdict(cur, rules, input.rating, review) === "repeat") return { created: false };
  const [rater, ratee] =
    rules.direction === "customer_to_provider" ? [sql`b.customer_id`, sql`pp.user_id`] : [sql`pp.user_id`, sql`b.customer_id`];
  const rateable = sql.join(
    rules.rateable.map((s) => sql`${s}::booking_status`),
    sql`, `,
  );
  const { note, events } = announce(cur!);
  const [inserted, after] = await db.http.batch([
    db.http.execute(
      changeWithOutbox(
        sql`insert into ratings (booking_id, direction, rater_id, ratee_id, rating, review)
            select b.id, ${rules.direction}, ${rater}, ${ratee}, ${input.rating}, ${review}
              from bookings b join provider_profiles pp on pp.id = b.provider_id
             where b.id = ${bookingId} and ${rules.mine} and b.status in (${rateable})
            on conflict (booking_id, direction) do nothing
            returning id`,
        [note],
        events,
      ),
    ),
    db.http.execute(state),
  ]);
  if (inserted.rows.length > 0) return { created: true };
  ratingVerdict(after.rows[0] as Row | undefined, rules, input.rating, review);
  return { created: false };
}

/** Customer → provider, only on completed bookings, once. A repeat of the same rating answers 200. */
export async function rateProvider(db: Db, customerId: string, bookingId: string, input: RatingInput): Promise<{ created: boolean }> {
  const rules: RatingRules = {
    direction: "customer_to_provider",
    mine: sql`b.customer_id = ${customerId}`,
    rateable: ["completed"],
    alreadyRated: "You have already rated this booking. Each booking can only be rated once.",
    notRateable: "You can only rate completed bookings",
  };
  return rate(db, bookingId, rules, input, (cur) => ({
    note: {
      userId: String(cur.provider_user_id),
      title: "New Rating",
      message: `You received a ${input.rating} star rating for ${serviceLabel(String(cur.service_name))}.`,
      type: "rating",
      data: { bookingId, rating: input.rating, type: "rating_received", screen: "bookings" },
      dedupKey: `rating:${bookingId}:customer_to_provider`,
    },
    events: [
      { userId: String(cur.provider_user_id), event: "booking_updated", payload: { bookingId }, audience: "any" },
      { userId: customerId, event: "booking_updated", payload: { bookingId }, audience: "any" },
    ],
  }));
}

/**
 * Provider → customer. The provider app sends it while the booking is still `accepted`, right
 * before completing it (client-contract §3.8), so accepted and completed bookings qualify.
 */
export async function rateCustomer(db: Db, providerUserId: string, bookingId: string, input: RatingInput): Promise<{ created: boolean }> {
  const rules: RatingRules = {
    direction: "provider_to_customer",
    mine: sql`pp.user_id = ${providerUserId}`,
    rateable: ["accepted", "completed"],
    alreadyRated: "You have already rated this customer for this booking",
    notRateable: "You can only rate customers of accepted or completed bookings",
  };
  return rate(db, bookingId, rules, input, (cur) => ({
    note: {
      userId: String(cur.customer_id),
      title: "New Rating",
      message: `You received a ${input.rating} star rating from your service provider.`,
      type: "rating",
      data: { bookingId, rating: input.rating, type: "rating_received" },
      dedupKey: `rating:${bookingId}:provider_to_customer`,
    },
    events: [],
  }));
}

// ---------------------------------------------------------------------------------------------
// Reports (client-contract §3.9, upstream §3.5)

/** Reports a user may file per 24 hours (upstream's reportLimiter, now per account and durable). */
export const REPORTS_PER_DAY = 5;

/**
 * The daily cap is a count then an insert, which concurrent requests would all pass (each sees only
 * committed rows). A per-reporter advisory lock, the first statement of the report's batch, queues
 * them instead: it is held to commit, and the insert runs in a later statement with a fresh snapshot,
 * so it counts every report committed before it. A trigger would hide the rule from this file.
 */
const lockReporter = (db: HttpDb, reporterId: string) =>
  db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`report-cap:${reporterId}`}, 0))`);

/** A customer reports the provider of their booking, once per booking. One round trip. */
export async function reportProvider(
  db: Db,
  customerId: string,
  bookingId: string,
  input: { reason: string; description: string },
): Promise<{ reportId: string }> {
  const reportId = crypto.randomUUID();
  const [, inserted, checked] = await db.http.batch([
    lockReporter(db.http, customerId),
    db.http.execute(
      changeWithOutbox(
        sql`insert into user_reports_providers (id, reporter_id, reported_provider_id, booking_id, incident_date, incident_type, description)
            select ${reportId}, b.customer_id, pp.user_id, b.id, b.appointment_date, ${input.reason}, ${input.description}
              from bookings b join provider_profiles pp on pp.id = b.provider_id
             where b.id = ${bookingId} and b.customer_id = ${customerId}
               and (select count(*) from user_reports_providers r
                     where r.reporter_id = ${customerId} and r.created_at > now() - interval '24 hours') < ${REPORTS_PER_DAY}
            on conflict (booking_id) do nothing
            returning id`,
        [
          {
            userId: customerId,
            title: "Report Submitted",
            message: "Thank you. Our team will review your report.",
            type: "report",
            data: { bookingId, reportId, type: "report_submitted" },
            push: false,
          },
        ],
        [{ userId: customerId, event: "booking_updated", payload: { bookingId }, audience: "any" }],
      ),
    ),
    db.http.execute(
      sql`select exists (select 1 from bookings where id = ${bookingId} and customer_id = ${customerId}) as mine,
                 exists (select 1 from user_reports_providers where booking_id = ${bookingId}) as reported`,
    ),
  ]);
  const state = checked.rows[0]!;
  if (inserted.rows.length > 0) return { reportId };
  if (!state.mine) throw notFound("Booking");
  if (state.reported) throw conflict("This booking has already been reported", "ALREADY_EXISTS");
  throw new AppError("RATE_LIMITED", `You can file at most ${REPORTS_PER_DAY} reports a day`, { retryAfter: 3600 });
}

export type CustomerReportInput = {
  customerName: string;
  incidentDate: string;
  incidentTime: string | null;
  incidentType: string;
  description: string;
  evidence: string[];
};

/**
 * A provider's report about a customer. `customer_user_id` is set only when exactly one of this
 * provider's customers has that name (upstream took the first ILIKE match across all users, §10 #22).
 * One round trip.
 */
export async function reportCustomer(
  db: Db,
  providerUserId: string,
  input: CustomerReportInput,
  publicBaseUrl: string,
): Promise<{ reportId: string }> {
  // Evidence is links to photos: https, or one of our own media URLs (plain http only locally).
  const insecure = input.evidence.findIndex((u) => !u.startsWith("https://") && !isOurUrl(u, publicBaseUrl));
  if (insecure >= 0)
    throw new AppError("VALIDATION_ERROR", `evidence.${insecure}: must be an https URL`, {
      errors: [{ field: `evidence.${insecure}`, message: "must be an https URL" }],
    });
  const reportId = crypto.randomUUID();
  const [, inserted] = await db.http.batch([
    lockReporter(db.http, providerUserId),
    db.http.execute(
      changeWithOutbox(
        sql`insert into provider_reports_users (id, provider_id, customer_name, customer_user_id, incident_date, incident_time,
                                                incident_type, description, evidence)
            select ${reportId}, ${providerUserId}, ${input.customerName},
                   (select case when count(distinct b.customer_id) = 1 then min(b.customer_id::text)::uuid end
                      from bookings b join provider_profiles pp on pp.id = b.provider_id
                      join users cu on cu.id = b.customer_id
                     where pp.user_id = ${providerUserId} and lower(btrim(cu.full_name)) = lower(btrim(${input.customerName}))),
                   ${input.incidentDate}::date, ${input.incidentTime}::time, ${input.incidentType}, ${input.description},
                   ${pgTextArray(input.evidence)}::text[]
             where (select count(*) from provider_reports_users r
                     where r.provider_id = ${providerUserId} and r.created_at > now() - interval '24 hours') < ${REPORTS_PER_DAY}
            returning id`,
        [
          {
            userId: providerUserId,
            title: "Report Submitted",
            message: `Your report about ${input.customerName} was submitted. Our team will review it.`,
            type: "report",
            data: { reportId, type: "report_submitted" },
            push: false,
          },
        ],
      ),
    ),
  ]);
  if (inserted.rows.length === 0)
    throw new AppError("RATE_LIMITED", `You can file at most ${REPORTS_PER_DAY} reports a day`, { retryAfter: 3600 });
  return { reportId };
}
