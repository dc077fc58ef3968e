import { and, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import { createDb, type HttpDb, type TxDb } from "../db/client";
import { notifications, outbox } from "../db/schema";
import { loadConfig } from "../env";
import { createLogger } from "../lib/log";
import { notificationTrigger, type RealtimeEvent } from "../realtime/policy";
import { realtimeGateway, type SessionsRevoked } from "../realtime/sink";

export type { RealtimeEvent, SessionsRevoked };

const log = createLogger("info", { component: "outbox" });

/**
 * The one small interface every capability uses to tell people things (transactional outbox):
 * `notify` writes the in-app notification and queues its push and its live socket event, `emit`
 * queues a live socket event only. Both write rows inside the caller's transaction, so an event is
 * sent if and only if the change it announces committed. `dispatchOutbox` (after commit, via
 * waitUntil, and from the cron sweep) forwards rows to the notifications queue (push) and to the
 * realtime gateway (sockets). Delivery is at least once; consumers are idempotent.
 *
 * Realtime audience: `any` events are content-free triggers that unauthenticated sockets may get
 * (booking_updated, booking_unread_count_update, notification_created reduced to ids);
 * `authenticated` events (personal data, amounts, call:*) go only to sockets that proved identity.
 */
export type Executor = TxDb | HttpDb;

export type NotifyInput = {
  userId: string;
  title: string;
  message: string;
  /** booking | payment | rating | report | welcome | service_expiry | labour_access | system */
  type: string;
  /** Also the push's `data`; `data.type` (e.g. daily_reminder) and `data.screen` are what the apps route on. */
  data?: Record<string, unknown>;
  /** Send an Expo push too (default true). */
  push?: boolean;
  /** Makes a repeated notify (cron re-run, redelivered message) a no-op. */
  dedupKey?: string;
};

/** The queue message the notifications consumer reads (src/notifications/push-consumer.ts). */
export type PushMessage = {
  kind: "push";
  outboxId: number;
  notificationId: string;
  userId: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
};

/**
 * `sessionsRevoked` rows are written by src/sessions/tokens.ts `revokeSessions` in the revoking statement
 * itself; their payload is `SessionsRevoked`.
 */
export const OUTBOX_TOPICS = { push: "push.send", realtime: "realtime.emit", sessionsRevoked: "realtime.sessions_revoked" } as const;

/** Cloudflare Queues: at most 100 messages and 256 KB per sendBatch (miniflare enforces 100 / 288 KB). */
const QUEUE_BATCH_COUNT = 100;
const QUEUE_BATCH_BYTES = 200_000;
/** A row that failed this many dispatches stays in the table with `last_error` for an operator instead of being retried forever. */
export const MAX_DISPATCH_ATTEMPTS = 20;
/** Rows per INSERT, well under Postgres' 65535 bind parameters. */
const INSERT_CHUNK = 1000;

export async function notify(executor: Executor, input: NotifyInput): Promise<{ id: string } | null> {
  const [row] = await notifyMany(executor, [input]);
  return row ? { id: row.id } : null;
}

/**
 * `notify` for many recipients at once (cron jobs): at most three statements however many rows.
 * Returns the notifications actually written; inputs whose `dedupKey` already exists are skipped.
 */
export async function notifyMany(
  executor: Executor,
  inputs: NotifyInput[],
  /** Socket events of the same change, written with the notifications' outbox rows (one insert). */
  events: RealtimeEvent[] = [],
): Promise<{ id: string; userId: string; dedupKey: string | null }[]> {
  // Both executors share drizzle's insert builder; the union only confuses overload resolution.
  const db = executor as TxDb;
  const written: { id: string; userId: string; dedupKey: string | null }[] = [];
  const rows: { topic: string; payload: Record<string, unknown> }[] = [];
  // Grouped by the push flag, so every returned row knows whether to push without relying on RETURNING order.
  for (const push of [true, false]) {
    const group = inputs.filter((i) => (i.push !== false) === push);
    for (let i = 0; i < group.length; i += INSERT_CHUNK) {
      const inserted = await db
        .insert(notifications)
        .values(
          group.slice(i, i + INSERT_CHUNK).map((n) => ({
            userId: n.userId,
            title: n.title,
            message: n.message,
            type: n.type,
            data: n.data ?? {},
            dedupKey: n.dedupKey,
          })),
        )
        .onConflictDoNothing({ target: notifications.dedupKey })
        .returning({
          id: notifications.id,
          userId: notifications.userId,
          title: notifications.title,
          message: notifications.message,
          type: notifications.type,
          data: notifications.data,
          dedupKey: notifications.dedupKey,
          createdAt: notifications.createdAt,
        });
      for (const n of inserted) {
        written.push({ id: n.id, userId: n.userId, dedupKey: n.dedupKey });
        rows.push({
          topic: OUTBOX_TOPICS.realtime,
          payload: {
            userId: n.userId,
            event: "notification_created",
            audience: "any",
            // Only what cannot identify anyone, in the shape the apps read (src/realtime/policy.ts).
            payload: notificationTrigger({ id: n.id, type: n.type, createdAt: n.createdAt.toISOString() }),
          },
        });
        if (push) {
          rows.push({
            topic: OUTBOX_TOPICS.push,
            payload: {
              notificationId: n.id,
              userId: n.userId,
              title: n.title,
              body: n.message,
              data: pushData(n.id, n.type, n.data),
            },
          });
        }
      }
    }
  }
  for (const e of events) rows.push({ topic: OUTBOX_TOPICS.realtime, payload: { audience: "any", ...e } as Record<string, unknown> });
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await db.insert(outbox).values(rows.slice(i, i + INSERT_CHUNK));
  return written;
}

/** Stands for the notification's created_at in the outbox rows changeWithOutbox builds (no app value looks like it). */
const CREATED_AT_PLACEHOLDER = "bx:notification.created_at";

/**
 * `notifyMany` for a non-interactive batch (`db.http.batch([...])`): ONE statement that makes a
 * change and writes what announces it, so both commit or neither does, in one round trip. `change`
 * is a data-modifying statement with RETURNING (a compare-and-set `UPDATE … WHERE status = … RETURNING`,
 * a guarded `INSERT … SELECT … WHERE … RETURNING`); the notifications, their pushes and socket
 * triggers and `events` are written only if it returns a row, and the statement returns its rows.
 * The outbox rows are the ones notifyMany writes (same payloads, same order); a repeated `dedupKey`
 * is skipped with its rows.
 */
export function changeWithOutbox(change: SQL, inputs: NotifyInput[], events: RealtimeEvent[] = []): SQL {
  // Ids are minted here so the push rows can name their notification before it exists.
  const notes = inputs.map((n) => ({ ...n, id: crypto.randomUUID() }));
  const rows: { ord: number; topic: string; payload: Record<string, unknown>; note: string | null; stamp: boolean }[] = [];
  const add = (topic: string, payload: Record<string, unknown>, note: string | null, stamp = false) =>
    rows.push({ ord: rows.length, topic, payload, note, stamp });
  for (const push of [true, false]) {
    for (const n of notes.filter((i) => (i.push !== false) === push)) {
      const trigger = notificationTrigger({ id: n.id, type: n.type, createdAt: CREATED_AT_PLACEHOLDER });
      add(OUTBOX_TOPICS.realtime, { userId: n.userId, event: "notification_created", audience: "any", payload: trigger }, n.id, true);
      if (push) {
        const data = pushData(n.id, n.type, n.data ?? {});
        add(OUTBOX_TOPICS.push, { notificationId: n.id, userId: n.userId, title: n.title, body: n.message, data }, n.id);
      }
    }
  }
  for (const e of events) add(OUTBOX_TOPICS.realtime, { audience: "any", ...e }, null);
  const noteRows = notes.map((n) => ({
    id: n.id,
    user_id: n.userId,
    title: n.title,
    message: n.message,
    type: n.type,
    data: n.data ?? {},
    dedup_key: n.dedupKey ?? null,
  }));
  // The trigger's createdAt is the notification row's, which only the database knows.
  return sql`
    with change as (${change}),
    note as (
      insert into notifications (id, user_id, title, message, type, data, dedup_key)
      select n.id, n.user_id, n.title, n.message, n.type, n.data, n.dedup_key
        from jsonb_to_recordset(${JSON.stringify(noteRows)}::jsonb)
             as n(id uuid, user_id uuid, title text, message text, type text, data jsonb, dedup_key text)
       where exists (select 1 from change)
      on conflict (dedup_key) do nothing
      returning id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at),
    queued as (
      insert into outbox (topic, payload)
      select r.topic,
             case when r.stamp then replace(r.payload::text, ${JSON.stringify(CREATED_AT_PLACEHOLDER)}, to_json(note.created_at)::text)::jsonb
                  else r.payload end
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(ord int, topic text, payload jsonb, note uuid, stamp boolean)
        left join note on note.id = r.note
       where exists (select 1 from change) and (r.note is null or note.id is not null)
       order by r.ord
      returning 1)
    select * from change`;
}

/**
 * `notify` as ONE statement, not yet sent, to put in a non-interactive batch (`db.http.batch([...])`)
 * beside the change it announces: the batch commits the change, the notification and its outbox rows
 * together, in one round trip. The notification id is minted here, so the caller can name it before
 * the batch runs. `when` (SQL) makes the notification conditional on an earlier statement of the
 * batch having happened. Same rows as `notify`: the socket trigger carries the row's own created_at.
 */
export function notifyStatement(db: HttpDb, input: NotifyInput, opts: { when?: SQL } = {}) {
  const id = crypto.randomUUID();
  const data = input.data ?? {};
  const rows: { topic: string; payload: Record<string, unknown> }[] = [
    {
      topic: OUTBOX_TOPICS.realtime,
      payload: {
        userId: input.userId,
        event: "notification_created",
        audience: "any",
        // createdAt (here and in notification.created_at) is set from the inserted row below.
        payload: notificationTrigger({ id, type: input.type, createdAt: "" }),
      },
    },
  ];
  if (input.push !== false) {
    rows.push({
      topic: OUTBOX_TOPICS.push,
      payload: { notificationId: id, userId: input.userId, title: input.title, body: input.message, data: pushData(id, input.type, data) },
    });
  }
  const stamp = sql`to_char(n.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const query = db.execute(sql`
    with n as (
      insert into ${notifications} (id, user_id, title, message, type, data, dedup_key)
      select ${id}::uuid, ${input.userId}::uuid, ${input.title}, ${input.message}, ${input.type}, ${JSON.stringify(data)}::jsonb, ${input.dedupKey ?? null}
       where ${opts.when ?? sql`true`}
      on conflict (dedup_key) do nothing
      returning created_at
    )
    insert into ${outbox} (topic, payload)
    select r.topic,
           case when r.topic = ${OUTBOX_TOPICS.realtime}
                then jsonb_set(jsonb_set(r.payload, '{payload,createdAt}', to_jsonb(${stamp})), '{payload,notification,created_at}', to_jsonb(${stamp}))
                else r.payload end
      from n, jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(topic text, payload jsonb)`);
  return { id, query };
}

/**
 * What a tapped push carries: the apps route on `data.screen` (bookings | notifications | profile |
 * services | earnings; docs/api-contract.md §3.11), so every push names one.
 */
function pushData(notificationId: string, type: string, data: Record<string, unknown>): Record<string, unknown> {
  const screen =
    typeof data.screen === "string"
      ? data.screen
      : type === "booking"
        ? "bookings"
        : type === "service_expiry"
          ? "services"
          : "notifications";
  return { type, ...data, screen, notificationId };
}

export async function emit(db: Executor, events: RealtimeEvent | RealtimeEvent[]): Promise<void> {
  const list = Array.isArray(events) ? events : [events];
  if (list.length === 0) return;
  await (db as TxDb)
    .insert(outbox)
    .values(list.map((e) => ({ topic: OUTBOX_TOPICS.realtime, payload: { audience: "any", ...e } as Record<string, unknown> })));
}

/** `emit` as one statement, not yet sent, for a non-interactive batch; `when` as in `notifyStatement`. */
export function emitStatement(db: HttpDb, events: RealtimeEvent[], opts: { when?: SQL } = {}) {
  const rows = events.map((e) => ({ topic: OUTBOX_TOPICS.realtime, payload: { audience: "any", ...e } }));
  return db.execute(sql`
    insert into ${outbox} (topic, payload)
    select r.topic, r.payload from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(topic text, payload jsonb)
     where ${opts.when ?? sql`true`}`);
}

/**
 * Where dispatched rows that are not pushes go: live events to users' sockets, revoked sessions to
 * the sockets they opened. In the worker that is the realtime gateway (src/realtime/sink.ts
 * `realtimeGateway`); a test may pass its own.
 */
export type OutboxSinks = {
  /** Best effort: a socket that misses an event refetches on its next screen load. */
  deliver(env: Env, events: RealtimeEvent[]): Promise<void>;
  /** Throws when it could not close them, so the rows stay for the sweep. */
  closeSessions(env: Env, revoked: SessionsRevoked[]): Promise<void>;
};

type OutboxRow = typeof outbox.$inferSelect;

/**
 * Sends push rows to the queue in batches Queues accepts. A batch that fails is retried message by
 * message, so one bad row (oversized, malformed) cannot hold back the rows around it.
 * Returns the error of every row that could not be sent.
 */
async function enqueuePushes(env: Env, rows: OutboxRow[]): Promise<Map<number, string>> {
  const failed = new Map<number, string>();
  const batches: { row: OutboxRow; body: PushMessage }[][] = [];
  let current: { row: OutboxRow; body: PushMessage }[] = [];
  let bytes = 0;
  for (const row of rows) {
    const body = { ...row.payload, kind: "push", outboxId: row.id } as PushMessage;
    const size = JSON.stringify(body).length + 100;
    if (current.length > 0 && (current.length >= QUEUE_BATCH_COUNT || bytes + size > QUEUE_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push({ row, body });
    bytes += size;
  }
  if (current.length) batches.push(current);
  for (const batch of batches) {
    try {
      await env.NOTIFY_QUEUE.sendBatch(batch.map((m) => ({ body: m.body, contentType: "json" as const })));
    } catch {
      for (const m of batch) {
        try {
          await env.NOTIFY_QUEUE.send(m.body, { contentType: "json" });
        } catch (err) {
          failed.set(m.row.id, err instanceof Error ? err.message : String(err));
        }
      }
    }
  }
  return failed;
}

/**
 * Forwards undispatched outbox rows (oldest first, at most `limit`): pushes go to NOTIFY_QUEUE,
 * realtime events and revoked sessions to `sinks`. Rows are claimed with SKIP LOCKED so concurrent dispatchers
 * (several requests' waitUntil plus the cron sweep) never send the same row twice in one pass.
 * A row that cannot be enqueued keeps `dispatched_at` null, counts an attempt and records
 * `last_error`; after MAX_DISPATCH_ATTEMPTS it is left for an operator.
 */
export async function dispatchOutbox(
  env: Env,
  db: { transaction: <T>(fn: (tx: TxDb) => Promise<T>) => Promise<T> },
  sinks: OutboxSinks,
  limit = 200,
): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .select()
      .from(outbox)
      .where(and(isNull(outbox.dispatchedAt), lt(outbox.attempts, MAX_DISPATCH_ATTEMPTS)))
      .orderBy(outbox.id)
      .limit(limit)
      .for("update", { skipLocked: true });
    if (rows.length === 0) return 0;
    const pushes = rows.filter((r) => r.topic === OUTBOX_TOPICS.push);
    const live = rows.filter((r) => r.topic === OUTBOX_TOPICS.realtime).map((r) => r.payload as unknown as RealtimeEvent);
    const failed = pushes.length ? await enqueuePushes(env, pushes) : new Map<number, string>();
    const revocations = rows.filter((r) => r.topic === OUTBOX_TOPICS.sessionsRevoked);
    const known = new Set<string>(Object.values(OUTBOX_TOPICS));
    for (const r of rows) {
      if (!known.has(r.topic)) failed.set(r.id, `unknown topic ${r.topic}`);
    }
    if (live.length) {
      // Live events are best effort: a socket that misses one refetches on its next screen load.
      await sinks.deliver(env, live).catch(() => undefined);
    }
    if (revocations.length) {
      // Not best effort: a socket left open would keep a revoked session's calls. Retried by the sweep.
      try {
        await sinks.closeSessions(
          env,
          revocations.map((r) => r.payload as unknown as SessionsRevoked),
        );
      } catch (err) {
        for (const r of revocations) failed.set(r.id, err instanceof Error ? err.message : String(err));
      }
    }
    const sent = rows.filter((r) => !failed.has(r.id)).map((r) => r.id);
    if (sent.length) {
      await tx
        .update(outbox)
        .set({ dispatchedAt: sql`now()`, attempts: sql`${outbox.attempts} + 1`, lastError: null })
        .where(inArray(outbox.id, sent));
    }
    if (failed.size) {
      const errors = JSON.stringify([...failed].map(([id, error]) => ({ id, error: error.slice(0, 500) })));
      await tx.execute(sql`
        update ${outbox} o set attempts = o.attempts + 1, last_error = e.error
        from jsonb_to_recordset(${errors}::jsonb) as e(id bigint, error text)
        where o.id = e.id`);
      log.warn("outbox rows not dispatched", { count: failed.size, ids: [...failed.keys()] });
    }
    return sent.length;
  });
}

/** Drains the outbox: at most 10 passes of 200 rows per call (the cron sweep, and cron tasks that notified). */
export async function sweepOutbox(
  env: Env,
  db: { transaction: <T>(fn: (tx: TxDb) => Promise<T>) => Promise<T> },
  sinks: OutboxSinks,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < 10; i++) {
    const n = await dispatchOutbox(env, db, sinks);
    total += n;
    if (n === 0) break;
  }
  return total;
}

/**
 * Call after a transaction that wrote outbox rows has committed: dispatches them in the background
 * on a database handle of its own (the request's handle closes when the response is sent), to the
 * push queue and the realtime gateway. Whatever this misses, the two-minute cron sweep picks up.
 */
export function dispatchAfterCommit(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): void {
  ctx.waitUntil(
    (async () => {
      const db = createDb(loadConfig(env));
      try {
        await dispatchOutbox(env, db, realtimeGateway);
      } catch (err) {
        log.warn("outbox dispatch failed; cron will retry", { error: err instanceof Error ? err.message : String(err) });
      } finally {
        await db.close();
      }
    })(),
  );
}
