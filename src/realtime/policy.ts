/**
 * Real-time policy (README "Real-time policy"): what a socket may receive.
 *
 * - A socket that proved identity (CONNECT `auth.token`) gets every event of its own user, in full.
 * - A socket that only said `join(userId)` (three of the apps' four connections send no token) gets
 *   content-free triggers: the event name and nothing that identifies anyone. This is enforced
 *   here, at the last hop, whatever audience the emitter chose, so a mistake elsewhere cannot leak
 *   a booking row or an amount to someone who merely knows a user id.
 */
export const TRIGGER_EVENTS = new Set([
  "booking_created",
  "booking_updated",
  "booking_unread_count_update",
  "booking_viewed",
  "notification_created",
  "notification_updated",
  "notification_deleted",
]);

/** Fields an unauthenticated socket may see: opaque ids of the notification itself and its kind. */
const TRIGGER_FIELDS: Record<string, readonly string[]> = {
  notification_updated: ["id"],
  notification_deleted: ["id"],
};

/**
 * `notification_created` as the apps read it (docs/api-contract.md §4.3: they prepend
 * `notification.{id, title, message, created_at, is_read}`, then re-fetch the list and the count),
 * with a generic title and message: the real text arrives with the re-fetch, over HTTP, with a
 * token. Keeping the shape means a handler that reads `data.notification.id` never throws.
 */
export function notificationTrigger(p: { id?: unknown; type?: unknown; createdAt?: unknown } | undefined): Record<string, unknown> {
  const id = typeof p?.id === "string" ? p.id : undefined;
  const type = typeof p?.type === "string" ? p.type : undefined;
  const createdAt = typeof p?.createdAt === "string" ? p.createdAt : new Date().toISOString();
  return {
    id,
    type,
    createdAt,
    notification: { id, title: "New notification", message: "You have a new notification.", created_at: createdAt, is_read: false },
  };
}

/**
 * A live event for one user's sockets, as the outbox stores it (src/outbox/outbox.ts `emit`, `notify`)
 * and the user's hub fans it out. `any` events are content-free triggers that unauthenticated sockets
 * may get; `authenticated` ones (personal data, amounts, call:*) go only to sockets that proved identity.
 */
export type RealtimeEvent = {
  userId: string;
  event: string;
  payload?: Record<string, unknown>;
  audience?: "any" | "authenticated";
};

export type Delivery = { event: string; payload?: unknown };

/** What one socket receives for one event; null means nothing. */
export function deliveryFor(e: RealtimeEvent, authenticated: boolean): Delivery | null {
  if (authenticated) return { event: e.event, payload: e.payload };
  if (e.audience === "authenticated" || !TRIGGER_EVENTS.has(e.event)) return null;
  if (e.event === "notification_created") return { event: e.event, payload: notificationTrigger(e.payload) };
  const allowed = TRIGGER_FIELDS[e.event] ?? [];
  const payload: Record<string, unknown> = {};
  for (const k of allowed) {
    const v = e.payload?.[k];
    if (typeof v === "string" || typeof v === "number") payload[k] = v;
  }
  return { event: e.event, payload };
}
