import type { SQL } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { categoryLabel, publicServiceName } from "../listings/categories";
import { displayDate } from "./time";

/**
 * Bookings (create.ts, status.ts, lists.ts, feedback.ts) share these: the statuses, the labels their
 * notifications quote, and raw rows of their statements.
 *
 * Round trips (each pays the full distance to the database): a read is one statement or one batch.
 * A write is one non-interactive batch (`db.http.batch`, one transaction) in which the rules are SQL
 * (compare-and-set, guarded inserts, advisory locks held to commit, constraints) and the change
 * writes its own notifications and socket events (`changeWithOutbox`), so they commit together.
 * When a notification quotes the booking (names, service, slot), a plain read comes first: two
 * round trips, the read also answering the common 404/409 without writing. No interactive
 * transaction: no lock has to be held across application logic here.
 */

export type Row = Record<string, unknown>;
export const rowsOf = async (db: HttpDb, q: SQL): Promise<Row[]> => (await db.execute(q)).rows as Row[];

export type { BookingStatus } from "../db/schema";

/** A category as booking notifications name it: its name in the user app, printed ("painting" → "Painting Cleaning"). */
export const serviceLabel = (name: string): string => categoryLabel(publicServiceName(name));

/** The appointment as notifications quote it ("Sat, 28 Nov 2026 at 10:30 AM"). */
export const when = (date: string, time: string) => `${displayDate(date)} at ${time}`;
