import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  date,
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { providerProfiles, providerServices } from "./providers";
import { users } from "./users";

/**
 * The statuses the apps know (docs/api-contract.md §3.6). Upstream code also mentioned `confirmed` and
 * `in_progress`, which its DB could never store. Transitions are guarded by the
 * `bookings_guard` trigger (custom migration): pending → accepted | rejected | cancelled,
 * accepted → completed | cancelled; rejected, cancelled and completed are final.
 */
export const bookingStatus = pgEnum("booking_status", ["pending", "accepted", "rejected", "cancelled", "completed"]);
export type BookingStatus = (typeof bookingStatus.enumValues)[number];

/** One priced sub-service as it was when the booking was made. */
export type BookedSubService = { subServiceId: string; slug: string; name: string; pricePaise: number };

/**
 * A customer's booking of a provider listing.
 *
 * - Duplicate bookings: the apps retry POST on 5xx and timeouts (docs/api-contract.md §1.5) and
 *   upstream returned 500 after committing while its duplicate check never matched. Two DB
 *   rules stop it: `(customer_id, idempotency_key)` is unique, and one customer can hold only one
 *   live (pending/accepted) booking per listing and slot.
 * - Price and sub-services are frozen at creation (`selected_sub_services`, `total_price_paise`).
 * - `appointment_at` is the instant (the app's date and time read in Asia/Kolkata); the app's own
 *   `appointment_date`/`appointment_time` are kept as sent for display.
 * - No copies of names or phones: accounts are soft-deleted so joins keep working, and copying phone
 *   numbers onto every booking defeated call masking.
 */
export const bookings = pgTable(
  "bookings",
  {
    id: id(),
    customerId: uuid("customer_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    providerServiceId: uuid("provider_service_id").notNull(),
    /** Denormalised for the provider's lists; a composite FK proves it owns the listing. */
    providerId: uuid("provider_id")
      .notNull()
      .references(() => providerProfiles.id, { onDelete: "restrict" }),
    selectedSubServices: jsonb("selected_sub_services").$type<BookedSubService[]>().notNull(),
    totalPricePaise: integer("total_price_paise").notNull(),
    appointmentAt: timestamptz("appointment_at").notNull(),
    appointmentDate: date("appointment_date", { mode: "string" }).notNull(),
    /** Normalised "h:mm AM" as the apps display it. */
    appointmentTime: text("appointment_time").notNull(),
    /** Upstream validated and then silently dropped these two. */
    address: text("address"),
    description: text("description"),
    status: bookingStatus("status").notNull().default("pending"),
    rejectionReason: text("rejection_reason"),
    cancellationReason: text("cancellation_reason"),
    /** Unread badges: the customer's counts accepted/cancelled/completed, the provider's pending/cancelled. */
    viewedByCustomer: boolean("viewed_by_customer").notNull().default(true),
    viewedByProvider: boolean("viewed_by_provider").notNull().default(false),
    /** Client `Idempotency-Key` (or one derived from the request); scoped to the customer. */
    idempotencyKey: text("idempotency_key"),
    acceptedAt: timestamptz("accepted_at"),
    rejectedAt: timestamptz("rejected_at"),
    cancelledAt: timestamptz("cancelled_at"),
    /** Earnings are summed by completion time; upstream used `updated_at`, which any later edit moved. */
    completedAt: timestamptz("completed_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    foreignKey({
      name: "bookings_listing_of_provider_fk",
      columns: [t.providerServiceId, t.providerId],
      foreignColumns: [providerServices.id, providerServices.providerId],
    }).onDelete("restrict"),
    unique("bookings_customer_idempotency_key_uq").on(t.customerId, t.idempotencyKey),
    uniqueIndex("bookings_one_live_per_slot_uq")
      .on(t.customerId, t.providerServiceId, t.appointmentAt)
      .where(sql`${t.status} in ('pending', 'accepted')`),
    // A provider is in one place at a time: several customers may request the same slot, but only
    // one of those requests can be accepted (two concurrent accepts: the second fails with 23505).
    uniqueIndex("bookings_provider_one_accepted_per_slot_uq").on(t.providerId, t.appointmentAt).where(sql`${t.status} = 'accepted'`),
    index("bookings_customer_status_created_idx").on(t.customerId, t.status, t.createdAt.desc()),
    index("bookings_customer_created_idx").on(t.customerId, t.createdAt.desc()),
    index("bookings_provider_status_created_idx").on(t.providerId, t.status, t.createdAt.desc()),
    index("bookings_provider_created_idx").on(t.providerId, t.createdAt.desc()),
    index("bookings_listing_status_idx").on(t.providerServiceId, t.status),
    index("bookings_provider_completed_idx").on(t.providerId, t.completedAt).where(sql`${t.status} = 'completed'`),
    index("bookings_customer_unviewed_idx").on(t.customerId).where(sql`not ${t.viewedByCustomer}`),
    index("bookings_provider_unviewed_idx").on(t.providerId).where(sql`not ${t.viewedByProvider}`),
    index("bookings_live_appointment_idx").on(t.appointmentAt).where(sql`${t.status} in ('pending', 'accepted')`),
    check("bookings_total_price_positive", sql`${t.totalPricePaise} > 0`),
    check(
      "bookings_sub_services_nonempty_array",
      sql`jsonb_typeof(${t.selectedSubServices}) = 'array' and jsonb_array_length(${t.selectedSubServices}) > 0`,
    ),
    check("bookings_idempotency_key_length", sql`${t.idempotencyKey} is null or length(${t.idempotencyKey}) between 1 and 255`),
    check("bookings_completed_has_time", sql`${t.status} <> 'completed' or ${t.completedAt} is not null`),
  ],
);
