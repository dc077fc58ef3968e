import { sql } from "drizzle-orm";
import { boolean, char, check, integer, pgTable, text, unique, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, updatedAt } from "./columns";

/**
 * Service categories. `name` is the slug the apps map to their screens (`plumber`, `mason-mastri`,
 * `labors`, ...; docs/api-contract.md §3.4, §3.5), exactly the rows upstream's seed script created.
 * The front-end category ids (`labor`, `painter`, `painting-cleaning`, ...) are mapped to these slugs
 * at the edge, not stored.
 *
 * The listing fee lives here. Upstream also had `service_pricing` plans, but a fresh database never
 * had a row (migration 012 ran before the seed), payments fell back to `base_price` (₹99 for every
 * paid service), and no app sends a `pricingPlanId`; so the table is dropped. What a payment bought
 * (amount, validity) is frozen on the payment order instead.
 */
export const servicesMaster = pgTable(
  "services_master",
  {
    id: id(),
    name: text("name").notNull(),
    category: text("category"),
    /** `labors` is free: a labour listing is activated at registration for a year. */
    isPaid: boolean("is_paid").notNull().default(true),
    /** Provider's listing subscription price. ₹99 → 9900. */
    listingFeePaise: integer("listing_fee_paise").notNull().default(9900),
    /** What one payment (or a free registration) activates. Upstream: 30 days paid, 365 days free. */
    listingValidityDays: integer("listing_validity_days").notNull().default(30),
    currency: char("currency", { length: 3 }).notNull().default("INR"),
    /** Hidden categories are not listed to customers nor registrable (e.g. no sub-services). */
    isActive: boolean("is_active").notNull().default(true),
    sortOrder: integer("sort_order").notNull().default(0),
    /**
     * Edge-cache generation of this category's public reads (provider lists, listing details,
     * featured providers). Bumped by triggers (migration `*_listings_cache_version`) whenever a
     * listing, a price, a provider's public profile or a rating changes, whoever writes it
     * (registration, payment activation, expiry cron, ratings, admin removal); the cache key
     * carries it, so a change is visible on the next read in every data centre.
     */
    listingsVersion: integer("listings_version").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("services_master_name_uq").on(t.name),
    check("services_master_slug_format", sql`${t.name} ~ '^[a-z0-9]+(-[a-z0-9]+)*$'`),
    check(
      "services_master_fee_matches_is_paid",
      sql`(${t.isPaid} and ${t.listingFeePaise} > 0) or (not ${t.isPaid} and ${t.listingFeePaise} = 0)`,
    ),
    check("services_master_validity_positive", sql`${t.listingValidityDays} > 0`),
    check("services_master_currency_inr", sql`${t.currency} = 'INR'`),
  ],
);

/**
 * The sub-services a provider may price for a category (upstream hard-coded them per category in
 * `utils/subServicesValidation.js`). `slug` is the id the apps send (`tap-installation`) and
 * read back as `serviceId`. Providers set their own prices; upstream had no default price, so
 * `default_price_paise` is optional (a hint for the registration form).
 */
export const subServices = pgTable(
  "sub_services",
  {
    id: id(),
    serviceId: uuid("service_id")
      .notNull()
      .references(() => servicesMaster.id, { onDelete: "restrict" }),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    defaultPricePaise: integer("default_price_paise"),
    isActive: boolean("is_active").notNull().default(true),
    sortOrder: integer("sort_order").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("sub_services_service_slug_uq").on(t.serviceId, t.slug),
    // Target of provider_sub_services' composite FK (a price must be for a sub-service of the listing's category).
    unique("sub_services_id_service_uq").on(t.id, t.serviceId),
    check("sub_services_slug_format", sql`${t.slug} ~ '^[a-z0-9]+(-[a-z0-9]+)*$'`),
    check("sub_services_default_price_positive", sql`${t.defaultPricePaise} is null or ${t.defaultPricePaise} > 0`),
  ],
);
