import { sql } from "drizzle-orm";
import { check, date, index, pgEnum, pgTable, smallint, text, time, unique, uuid } from "drizzle-orm/pg-core";
import { bookings } from "./bookings";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { users } from "./users";

/** Ratings go both ways; upstream's `rater_type` `user`/`provider`. */
export const ratingDirection = pgEnum("rating_direction", ["customer_to_provider", "provider_to_customer"]);

/**
 * One rating per booking and direction. Upstream did not store who rated whom; `rater_id`/`ratee_id`
 * make provider averages one indexed query. Providers rate customers while the booking is still
 * `accepted` (docs/api-contract.md §3.8), so the status rule lives in the service, not here.
 */
export const ratings = pgTable(
  "ratings",
  {
    id: id(),
    bookingId: uuid("booking_id")
      .notNull()
      .references(() => bookings.id, { onDelete: "cascade" }),
    direction: ratingDirection("direction").notNull(),
    raterId: uuid("rater_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    rateeId: uuid("ratee_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    rating: smallint("rating").notNull(),
    review: text("review"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("ratings_booking_direction_uq").on(t.bookingId, t.direction),
    index("ratings_ratee_direction_created_idx").on(t.rateeId, t.direction, t.createdAt.desc()),
    check("ratings_rating_range", sql`${t.rating} between 1 and 5`),
    check("ratings_review_length", sql`${t.review} is null or length(${t.review}) <= 500`),
    check("ratings_not_self", sql`${t.raterId} <> ${t.rateeId}`),
  ],
);

/**
 * Admin moderation state. NOT NULL: upstream's CHECK let NULL through and a status change without a
 * body made reports vanish from every list.
 */
export const reportStatus = pgEnum("report_status", ["open", "resolved", "closed"]);
export type ReportStatus = (typeof reportStatus.enumValues)[number];

/** A customer's report about the provider of one of their bookings; one per booking. */
export const userReportsProviders = pgTable(
  "user_reports_providers",
  {
    id: id(),
    reporterId: uuid("reporter_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    /** The provider's `users.id`. */
    reportedProviderId: uuid("reported_provider_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    bookingId: uuid("booking_id").references(() => bookings.id, { onDelete: "set null" }),
    incidentDate: date("incident_date", { mode: "string" }).notNull(),
    incidentTime: time("incident_time"),
    /** The app's report reason, e.g. "Unprofessional behaviour". */
    incidentType: text("incident_type").notNull(),
    description: text("description").notNull(),
    evidence: text("evidence").array().notNull().default(sql`'{}'::text[]`),
    status: reportStatus("status").notNull().default("open"),
    resolvedBy: uuid("resolved_by").references(() => users.id, { onDelete: "set null" }),
    resolvedAt: timestamptz("resolved_at"),
    adminNote: text("admin_note"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("user_reports_providers_booking_uq").on(t.bookingId),
    index("user_reports_providers_status_created_idx").on(t.status, t.createdAt.desc()),
    index("user_reports_providers_reporter_created_idx").on(t.reporterId, t.createdAt.desc()),
    index("user_reports_providers_provider_idx").on(t.reportedProviderId),
  ],
);

/**
 * A provider's report about a customer (free-form in the app, not tied to a booking). Upstream
 * guessed `customer_user_id` with `full_name ILIKE`; it is set only when known exactly
 * (e.g. from a booking), otherwise just `customer_name` is kept.
 */
export const providerReportsUsers = pgTable(
  "provider_reports_users",
  {
    id: id(),
    /** The provider's `users.id`. */
    providerId: uuid("provider_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    customerName: text("customer_name").notNull(),
    customerUserId: uuid("customer_user_id").references(() => users.id, { onDelete: "set null" }),
    bookingId: uuid("booking_id").references(() => bookings.id, { onDelete: "set null" }),
    incidentDate: date("incident_date", { mode: "string" }).notNull(),
    incidentTime: time("incident_time"),
    incidentType: text("incident_type").notNull(),
    description: text("description").notNull(),
    evidence: text("evidence").array().notNull().default(sql`'{}'::text[]`),
    status: reportStatus("status").notNull().default("open"),
    resolvedBy: uuid("resolved_by").references(() => users.id, { onDelete: "set null" }),
    resolvedAt: timestamptz("resolved_at"),
    adminNote: text("admin_note"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("provider_reports_users_status_created_idx").on(t.status, t.createdAt.desc()),
    index("provider_reports_users_provider_created_idx").on(t.providerId, t.createdAt.desc()),
    index("provider_reports_users_customer_idx").on(t.customerUserId),
  ],
);
