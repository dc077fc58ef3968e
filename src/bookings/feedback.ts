import { type SQL, sql } from "drizzle-orm";
import type { Db, HttpDb } from "../db/client";
import { AppError, conflict, notFound } from "../http/errors";
import { num, pgTextArray } from "../lib/shape";
import { isOurUrl } from "../media/store";
import { changeWithOutbox, type NotifyInput, type RealtimeEvent } from "../outbox/outbox";
import { type BookingStatus, type Row, rowsOf, serviceLabel } from "./booking";
import type { CustomerReportData, RatingData } from "./schemas";

/** Feedback on a booking: each side rates the other once, and reports (customer → provider, provider → customer). */

// ---------------------------------------------------------------------------------------------
// Ratings (docs/api-contract.md §3.8)

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
 * before completing it (docs/api-contract.md §3.8), so accepted and completed bookings qualify.
 */
export async function rateCustomer(
  db: Db,
  providerUserId: string,
  bookingId: string,
  input: RatingInput,
): Promise<{ created: boolean; rating: RatingData }> {
  const rules: RatingRules = {
    direction: "provider_to_customer",
    mine: sql`pp.user_id = ${providerUserId}`,
    rateable: ["accepted", "completed"],
    alreadyRated: "You have already rated this customer for this booking",
    notRateable: "You can only rate customers of accepted or completed bookings",
  };
  const { created } = await rate(db, bookingId, rules, input, (cur) => ({
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
  return { created, rating: { bookingId, rating: input.rating } };
}

// ---------------------------------------------------------------------------------------------
// Reports (docs/api-contract.md §3.9)

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
 * provider's customers has that name (upstream took the first ILIKE match across all users).
 * One round trip.
 */
export async function reportCustomer(
  db: Db,
  providerUserId: string,
  input: CustomerReportInput,
  publicBaseUrl: string,
): Promise<CustomerReportData> {
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
  return { report: { id: reportId, status: "open" } };
}
