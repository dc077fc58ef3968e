import { sql } from "drizzle-orm";
import { check, index, pgTable, unique, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz } from "./columns";
import { paymentOrders } from "./payments";
import { users } from "./users";

/**
 * Customer access to labour listings (₹99 for 7 days), one row per paid order. Upstream kept a status
 * and dates on `users`, never enforced them server-side, and its expiry job crashed. Access now = a
 * window covering now() (`labourWindowNow` in payments/labour-access.ts: the one definition the status
 * endpoint and the bookings check share); nothing has to flip a status at expiry.
 *
 * - `order_id` is unique: applying the same payment twice (callback + verify + reconciliation) grants once.
 * - A renewal starts at the current window's end; the exclusion constraint
 *   `labour_access_no_overlap` (custom migration, btree_gist) rejects overlapping windows per user,
 *   so two concurrent renewals cannot both extend from the same old expiry.
 * - A full refund deletes its order's window and moves the windows after it earlier by its unused part
 *   (refunds/service.ts), so the paid windows stay back to back from now and none is stranded later.
 */
export const labourAccess = pgTable(
  "labour_access",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    orderId: uuid("order_id")
      .notNull()
      .references(() => paymentOrders.id, { onDelete: "restrict" }),
    startsAt: timestamptz("starts_at").notNull(),
    expiresAt: timestamptz("expires_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique("labour_access_order_uq").on(t.orderId),
    index("labour_access_user_expires_idx").on(t.userId, t.expiresAt.desc()),
    check("labour_access_window_order", sql`${t.expiresAt} > ${t.startsAt}`),
  ],
);
