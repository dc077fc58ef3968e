import { type SQL, sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { notFound } from "../http/errors";
import { isoSql, num, rupees } from "../lib/shape";
import { publicServiceName } from "../listings/categories";
import { changeWithOutbox } from "../outbox/outbox";
import { type BookingStatus, type Row, rowsOf } from "./booking";
import type { BookingFields, BookingRating, BookingsPagination, ProviderBookingsData, UnreadCountData } from "./schemas";

/** What each side sees of its bookings: the lists (with the total in the same query) and the unread badges. */

const PAGE = (page: number, limit: number) => sql`limit ${limit} offset ${(page - 1) * limit}`;

type BookedSub = { subServiceId: string; slug: string; name: string; pricePaise: number };
const bookedSubs = (v: unknown): BookedSub[] => (typeof v === "string" ? JSON.parse(v) : (v as BookedSub[])) ?? [];

function commonFields(r: Row): BookingFields {
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

const rating = (r: Row): BookingRating | null =>
  r.rating === null || r.rating === undefined
    ? null
    : { rating: num(r.rating), review: (r.review as string | null) ?? null, created_at: r.rating_created_at as string };

const BOOKING_COLUMNS = sql`b.id, b.status, b.appointment_date::text as appointment_date, b.appointment_time,
  ${isoSql(sql`b.appointment_at`)} as appointment_at, b.selected_sub_services, b.total_price_paise, b.address, b.description,
  b.rejection_reason, b.cancellation_reason, ${isoSql(sql`b.created_at`)} as created_at, ${isoSql(sql`b.updated_at`)} as updated_at,
  b.provider_service_id, ps.service_id, sm.name as service_name`;

export type ListQuery = { page: number; limit: number; status?: BookingStatus; id?: string };

function pagination(total: number, page: number, limit: number): BookingsPagination {
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

export function customerBookingsSql(customerId: string, q: BookingFilter): SQL {
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

export function customerBookingsOf(rows: Row[]) {
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
export async function providerBookings(db: HttpDb, providerUserId: string, q: ListQuery): Promise<ProviderBookingsData> {
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
// Unread badges (docs/api-contract.md §3.6, §3.7)

export async function customerUnreadCount(db: HttpDb, customerId: string): Promise<number> {
  const [r] = await rowsOf(
    db,
    sql`select count(*)::int as n from bookings
         where customer_id = ${customerId} and not viewed_by_customer and status in ('accepted', 'cancelled', 'completed')`,
  );
  return num(r?.n);
}

export async function providerUnreadCount(db: HttpDb, providerUserId: string): Promise<UnreadCountData> {
  const [r] = await rowsOf(
    db,
    sql`select count(*)::int as n from bookings b join provider_profiles pp on pp.id = b.provider_id
         where pp.user_id = ${providerUserId} and not b.viewed_by_provider and b.status in ('pending', 'cancelled')`,
  );
  return { unreadCount: num(r?.n) };
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
