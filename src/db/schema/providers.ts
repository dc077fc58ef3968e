import { sql } from "drizzle-orm";
import { boolean, check, foreignKey, index, integer, pgEnum, pgTable, text, unique, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { servicesMaster, subServices } from "./catalogue";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { users } from "./users";

/**
 * A provider's profile, created on the first service registration (as upstream). Dropped from
 * upstream: `experience_years` (a trigger-synced copy of `years_of_experience`), and `state`, `city`,
 * `business_name`, `rating`, `total_reviews`, which nothing maintained: location comes from the
 * home address, ratings from `ratings`. `service_description` moved to the listing it describes.
 */
export const providerProfiles = pgTable(
  "provider_profiles",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    /** Non-null: the apps render it unguarded (docs/api-contract.md §3.4). */
    yearsOfExperience: integer("years_of_experience").notNull().default(0),
    isEngineeringProvider: boolean("is_engineering_provider").notNull().default(false),
    engineeringCertificateUrl: text("engineering_certificate_url"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("provider_profiles_user_uq").on(t.userId),
    check("provider_profiles_experience_range", sql`${t.yearsOfExperience} between 0 and 80`),
  ],
);

/**
 * Listing lifecycle. `pending` until the listing fee is paid (labour listings are free and start
 * `active`), `expired` after `expires_at`, `deleted` instead of a row delete.
 */
export const listingStatus = pgEnum("listing_status", ["pending", "active", "expired", "deleted"]);

/**
 * A provider's listing in one category. Soft-deleted: upstream's DELETE cascaded into
 * `payment_transactions` and erased paid history; payment orders reference this row with
 * ON DELETE RESTRICT. One live listing per provider and category (upstream had no such key).
 */
export const providerServices = pgTable(
  "provider_services",
  {
    id: id(),
    providerId: uuid("provider_id")
      .notNull()
      .references(() => providerProfiles.id, { onDelete: "restrict" }),
    serviceId: uuid("service_id")
      .notNull()
      .references(() => servicesMaster.id, { onDelete: "restrict" }),
    status: listingStatus("status").notNull().default("pending"),
    /** Non-null: the apps call `.toLowerCase()` on it in listings (docs/api-contract.md §1.7). */
    serviceDescription: text("service_description").notNull().default(""),
    workingProofUrls: text("working_proof_urls").array().notNull().default(sql`'{}'::text[]`),
    /** Start of the current paid window; renewals extend `expires_at` from the old end. */
    activatedAt: timestamptz("activated_at"),
    expiresAt: timestamptz("expires_at"),
    /**
     * The `expires_at` an expiry warning was last sent for. Renewing moves `expires_at`, which re-arms
     * the warning; upstream de-duplicated per user, so a second listing's warning was swallowed.
     */
    expiryWarningSentFor: timestamptz("expiry_warning_sent_for"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamptz("deleted_at"),
  },
  (t) => [
    uniqueIndex("provider_services_live_uq").on(t.providerId, t.serviceId).where(sql`${t.status} <> 'deleted'`),
    // Targets of composite FKs: bookings (listing belongs to that provider) and provider_sub_services
    // (priced sub-service belongs to the listing's category).
    unique("provider_services_id_provider_uq").on(t.id, t.providerId),
    unique("provider_services_id_service_uq").on(t.id, t.serviceId),
    index("provider_services_service_status_idx").on(t.serviceId, t.status, t.expiresAt),
    index("provider_services_provider_idx").on(t.providerId),
    index("provider_services_active_expiry_idx").on(t.expiresAt).where(sql`${t.status} = 'active'`),
    check("provider_services_deleted_at_matches_status", sql`(${t.status} = 'deleted') = (${t.deletedAt} is not null)`),
    check(
      "provider_services_active_has_window",
      sql`${t.status} <> 'active' or (${t.activatedAt} is not null and ${t.expiresAt} is not null)`,
    ),
    check("provider_services_window_order", sql`${t.expiresAt} is null or ${t.activatedAt} is null or ${t.expiresAt} > ${t.activatedAt}`),
  ],
);

/**
 * A provider's price for one sub-service of a listing. `service_id` is repeated so two composite FKs
 * can prove the sub-service belongs to the listing's category.
 */
export const providerSubServices = pgTable(
  "provider_sub_services",
  {
    id: id(),
    providerServiceId: uuid("provider_service_id").notNull(),
    serviceId: uuid("service_id").notNull(),
    subServiceId: uuid("sub_service_id").notNull(),
    pricePaise: integer("price_paise").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    foreignKey({
      name: "provider_sub_services_listing_fk",
      columns: [t.providerServiceId, t.serviceId],
      foreignColumns: [providerServices.id, providerServices.serviceId],
    }).onDelete("cascade"),
    foreignKey({
      name: "provider_sub_services_sub_service_fk",
      columns: [t.subServiceId, t.serviceId],
      foreignColumns: [subServices.id, subServices.serviceId],
    }).onDelete("restrict"),
    unique("provider_sub_services_listing_sub_service_uq").on(t.providerServiceId, t.subServiceId),
    check("provider_sub_services_price_positive", sql`${t.pricePaise} > 0`),
  ],
);
