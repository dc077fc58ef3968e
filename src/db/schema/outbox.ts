import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, timestamptz } from "./columns";

/**
 * Transactional outbox. A domain change and the events it causes (socket `booking_updated`,
 * pushes, in-app notifications) are written in one transaction; a dispatcher forwards undispatched
 * rows to the realtime hub / Queues after commit and stamps `dispatched_at`. Upstream fired these
 * from `setImmediate` after responding, so a crash lost them. Consumers must be
 * idempotent: a row can be dispatched more than once.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** e.g. `booking.created`, `push.send`, `notification.created` */
    topic: text("topic").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
    dispatchedAt: timestamptz("dispatched_at"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
  },
  (t) => [index("outbox_undispatched_idx").on(t.id).where(sql`${t.dispatchedAt} is null`)],
);
