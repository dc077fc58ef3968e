import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, pgEnum, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { bookings } from "./bookings";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { users } from "./users";

/**
 * In-app WebRTC calls between the two parties of a booking ("call masking": no phone numbers are
 * exchanged). Upstream kept live calls in process memory keyed by booking and wrote nothing
 * server-side; its `call_sessions`/`call_recordings` tables were Twilio leftovers, unused. The
 * Twilio-era `call_recordings`, `session_id`/`call_sid` and phone columns are dropped.
 */
export const callStatus = pgEnum("call_status", ["ringing", "active", "ended", "rejected", "missed", "failed"]);

/** The app's `callerType`. */
export const callPartyRole = pgEnum("call_party_role", ["user", "provider"]);
export type CallPartyRole = (typeof callPartyRole.enumValues)[number];

/** One call attempt, written by the signalling room. At most one live (ringing/active) call per booking. */
export const callSessions = pgTable(
  "call_sessions",
  {
    id: id(),
    bookingId: uuid("booking_id")
      .notNull()
      .references(() => bookings.id, { onDelete: "restrict" }),
    callerId: uuid("caller_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    receiverId: uuid("receiver_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    callerRole: callPartyRole("caller_role").notNull(),
    status: callStatus("status").notNull().default("ringing"),
    startedAt: timestamptz("started_at").notNull().defaultNow(),
    answeredAt: timestamptz("answered_at"),
    endedAt: timestamptz("ended_at"),
    /** NULL when the server ended it (ring timeout, disconnect). */
    endedBy: uuid("ended_by").references(() => users.id, { onDelete: "set null" }),
    /** hangup | timeout | rejected | disconnect | error */
    endReason: text("end_reason"),
    durationSeconds: integer("duration_seconds"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("call_sessions_one_live_per_booking_uq").on(t.bookingId).where(sql`${t.status} in ('ringing', 'active')`),
    index("call_sessions_booking_started_idx").on(t.bookingId, t.startedAt.desc()),
    check("call_sessions_distinct_parties", sql`${t.callerId} <> ${t.receiverId}`),
    check("call_sessions_duration_nonneg", sql`${t.durationSeconds} is null or ${t.durationSeconds} >= 0`),
    check("call_sessions_ended_has_time", sql`${t.status} in ('ringing', 'active') or ${t.endedAt} is not null`),
  ],
);

export const callLogStatus = pgEnum("call_log_status", ["completed", "failed", "missed", "rejected"]);
export type CallLogStatus = (typeof callLogStatus.enumValues)[number];

/**
 * What the app reports after a call: `POST /api/calls/log {bookingId, duration, callerType, status}`
 * plus optional diagnostics (docs/api-contract.md §3.14). `logged_by` is the
 * authenticated caller, who must be a party of the booking (upstream did not check).
 */
export const callLogs = pgTable(
  "call_logs",
  {
    id: id(),
    bookingId: uuid("booking_id")
      .notNull()
      .references(() => bookings.id, { onDelete: "restrict" }),
    callSessionId: uuid("call_session_id").references(() => callSessions.id, { onDelete: "set null" }),
    loggedBy: uuid("logged_by")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    callerRole: callPartyRole("caller_role").notNull(),
    status: callLogStatus("status").notNull().default("completed"),
    /** Client-counted seconds. */
    durationSeconds: integer("duration_seconds").notNull().default(0),
    connectionQuality: jsonb("connection_quality").$type<Record<string, unknown>>(),
    errorDetails: jsonb("error_details").$type<Record<string, unknown>>(),
    endReason: text("end_reason"),
    metrics: jsonb("metrics").$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [
    index("call_logs_booking_created_idx").on(t.bookingId, t.createdAt.desc()),
    check("call_logs_duration_range", sql`${t.durationSeconds} between 0 and 86400`),
  ],
);

/** Signalling and client events of a call (initiate, accept, reject, ice-failed, ...). */
export const callEvents = pgTable(
  "call_events",
  {
    id: id(),
    callSessionId: uuid("call_session_id").references(() => callSessions.id, { onDelete: "cascade" }),
    callLogId: uuid("call_log_id").references(() => callLogs.id, { onDelete: "cascade" }),
    actorId: uuid("actor_id").references(() => users.id, { onDelete: "set null" }),
    eventType: text("event_type").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    index("call_events_session_created_idx").on(t.callSessionId, t.createdAt),
    index("call_events_log_idx").on(t.callLogId),
    check("call_events_has_subject", sql`${t.callSessionId} is not null or ${t.callLogId} is not null`),
  ],
);
