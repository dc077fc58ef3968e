import { type RealtimeEvent, setRealtimeSink } from "../notifications/outbox";

/**
 * The outbox's realtime sink: events are grouped per user and handed to that user's hub, which
 * applies the real-time policy per socket. Registered at module load (imported by src/jobs/register.ts).
 */
export async function deliverToUsers(env: Env, events: RealtimeEvent[]): Promise<void> {
  const byUser = new Map<string, RealtimeEvent[]>();
  for (const e of events) {
    if (typeof e.userId !== "string" || !e.userId) continue;
    const key = e.userId.toLowerCase();
    byUser.set(key, [...(byUser.get(key) ?? []), e]);
  }
  await Promise.all([...byUser].map(([userId, list]) => env.USER_HUB.get(env.USER_HUB.idFromName(userId)).deliver(list)));
}

setRealtimeSink(deliverToUsers);
