import { timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Column helpers shared by every domain file.
 *
 * Every instant is `timestamptz` (stored as UTC). The old system wrote IST wall-clock time into
 * `timestamp without time zone` and its API emitted every such value shifted by +05:30. India
 * time only appears when interpreting user-entered dates.
 */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** `id uuid primary key default gen_random_uuid()` */
export const id = () => uuid("id").primaryKey().defaultRandom();

export const createdAt = () => timestamptz("created_at").notNull().defaultNow();

/** Maintained by the `set_updated_at` trigger (custom migration), so raw SQL updates keep it honest too. */
export const updatedAt = () => timestamptz("updated_at").notNull().defaultNow();
