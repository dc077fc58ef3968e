import type { RealtimeEvent } from "./policy";

/** Sessions of one user that were revoked: their sockets must close (written by src/sessions/tokens.ts `revokeSessions`). */
export type SessionsRevoked = { userId: string; sessionIds: string[] };

/**
 * The outbox's realtime sinks (src/outbox/outbox.ts `OutboxSinks`): events are grouped per user and
 * handed to that user's hub, which applies the real-time policy per socket; revoked sessions go to
 * their user's hub, which closes the sockets they opened.
 */
export async function deliverToUsers(env: Env, events: RealtimeEvent[]): Promise<void> {
  const byUser = new Map<string, RealtimeEvent[]>();
  for (const e of events) {
    if (typeof e.userId !== "string" || !e.userId) continue;
    const key = e.userId.toLowerCase();
    byUser.set(key, [...(byUser.get(key) ?? []), e]);
  }
  await Promise.all([...byUser].map(([userId, list]) => hub(env, userId).deliver(list)));
}

/** Throws when a hub could not be reached, so the outbox keeps the row for the sweep. */
export async function closeRevokedSockets(env: Env, revoked: SessionsRevoked[]): Promise<void> {
  const byUser = new Map<string, string[]>();
  for (const r of revoked) {
    if (typeof r.userId !== "string" || !r.userId || !Array.isArray(r.sessionIds)) continue;
    const key = r.userId.toLowerCase();
    byUser.set(key, [...(byUser.get(key) ?? []), ...r.sessionIds.filter((id) => typeof id === "string")]);
  }
  await Promise.all([...byUser].map(([userId, sessionIds]) => hub(env, userId).closeSessions(sessionIds)));
}

const hub = (env: Env, userId: string) => env.USER_HUB.get(env.USER_HUB.idFromName(userId));

/** What the outbox's dispatcher is given to reach sockets. */
export const realtimeGateway = { deliver: deliverToUsers, closeSessions: closeRevokedSockets };
