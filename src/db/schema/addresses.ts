import { sql } from "drizzle-orm";
import { index, pgEnum, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, updatedAt } from "./columns";
import { users } from "./users";

/**
 * Upstream's DB allowed `office` while its API validator allowed `work`, so saving a work address
 * was a 500. One name here; the edge maps the app's `work` to `office`.
 */
export const addressType = pgEnum("address_type", ["home", "office", "other"]);
export type AddressType = (typeof addressType.enumValues)[number];

/**
 * A user's addresses. At most one `home` address per user: upstream inserted a new home address on
 * every service registration (its ON CONFLICT had no unique key to hit), which duplicated provider
 * listings through `LEFT JOIN addresses`. Registration now upserts the home row.
 */
export const addresses = pgTable(
  "addresses",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: addressType("type").notNull().default("home"),
    state: text("state"),
    city: text("city"),
    fullAddress: text("full_address"),
    pincode: text("pincode"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("addresses_one_home_per_user_uq").on(t.userId).where(sql`${t.type} = 'home'`),
    index("addresses_user_idx").on(t.userId, t.type),
  ],
);
