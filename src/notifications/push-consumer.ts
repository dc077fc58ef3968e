import { and, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { createDb, type HttpDb } from "../db/client";
import { pushDeliveries } from "../db/schema";
import { loadConfig } from "../env";
import { createLogger } from "../lib/log";
import {
  chunk,
  EXPO_SEND_CHUNK,
  type ExpoMessage,
  ExpoRejectedError,
  ExpoTemporaryError,
  type ExpoTicket,
  RETRYABLE_EXPO_ERRORS,
  sendExpoMessages,
} from "./expo";

/**
 * Consumer of the `notifications` queue: one message per notification to push
 * (`{kind:'push', outboxId, notificationId, userId, title, body, data}`, written by the outbox).
 *
 * 1. Claim: one `push_deliveries` row per (notification, active device) the user's settings allow,
 *    inserted or re-claimed in one statement. The unique (notification_id, push_token_id) makes a
 *    redelivered message a no-op for every device that already has an answer (sent, delivered,
 *    failed); a row still `queued` is leased for LEASE_SECONDS so two consumers holding the same
 *    message at once do not both send it.
 * 2. Send in Expo requests of at most 100 messages.
 * 3. Record tickets; DeviceNotRegistered deactivates the token; definite errors fail the row;
 *    429/5xx/timeouts and rate-limit tickets release the lease for a retry.
 * 4. Ack a message once none of its rows is still `queued`; otherwise `retry` with exponential
 *    backoff. After the queue's max_retries it reaches `notifications-dlq` (recordDeadLetters).
 */

const LEASE_SECONDS = 60;
const BACKOFF_BASE_SECONDS = 15;
const BACKOFF_MAX_SECONDS = 900;

const PushMessageSchema = z.object({
  kind: z.literal("push"),
  outboxId: z.number().int().optional(),
  notificationId: z.uuid(),
  userId: z.uuid(),
  title: z.string(),
  body: z.string(),
  data: z.record(z.string(), z.unknown()).default({}),
});
type PushMessage = z.infer<typeof PushMessageSchema>;

/** Which switch of notification_settings governs a push (upstream stored them and never read them). */
const REMINDER_TYPES = new Set(["daily_reminder", "hourly_reminder", "morning_summary", "custom_reminder", "booking_reminder"]);
export function settingFor(data: Record<string, unknown>): "reminders" | "booking_updates" | "promotional" | "always" {
  const type = typeof data.type === "string" ? data.type : "";
  if (REMINDER_TYPES.has(type)) return "reminders";
  if (type === "promotional") return "promotional";
  if (type === "booking" || type.startsWith("booking_") || type === "service_completed") return "booking_updates";
  return "always";
}

/** Seconds before attempt `attempts + 1`: 15, 30, 60, … capped at 15 minutes, ±20 % jitter. */
export function backoffSeconds(attempts: number, retryAfter?: number): number {
  const base = Math.min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** Math.max(0, attempts - 1));
  const jittered = Math.round(base * (0.8 + Math.random() * 0.4));
  return Math.min(BACKOFF_MAX_SECONDS, Math.max(jittered, Math.ceil(retryAfter ?? 0)));
}

type Claimed = {
  id: string;
  notification_id: string;
  user_id: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  token: string;
  sound: boolean;
  badge: number;
};

async function claimDeliveries(db: HttpDb, messages: PushMessage[]): Promise<Claimed[]> {
  const rows = JSON.stringify(
    messages.map((m) => ({
      notification_id: m.notificationId,
      user_id: m.userId,
      title: m.title,
      body: m.body,
      data: m.data,
      setting: settingFor(m.data),
    })),
  );
  const res = await db.execute<Claimed>(sql`
    with m as (
      select * from jsonb_to_recordset(${rows}::jsonb)
        as m(notification_id uuid, user_id uuid, title text, body text, data jsonb, setting text)
    ), claimed as (
      insert into push_deliveries as d (user_id, push_token_id, notification_id, title, body, data, status, attempts)
      select m.user_id, pt.id, m.notification_id, m.title, m.body, coalesce(m.data, '{}'::jsonb), 'queued', 1
      from m
      join notifications n on n.id = m.notification_id and n.user_id = m.user_id
      join push_tokens pt on pt.user_id = m.user_id and pt.is_active
      left join notification_settings s on s.user_id = m.user_id
      where case m.setting
        when 'reminders' then coalesce(s.reminders, true)
        when 'booking_updates' then coalesce(s.booking_updates, true)
        when 'promotional' then coalesce(s.promotional, false)
        else true end
      on conflict (notification_id, push_token_id) do update
        set attempts = d.attempts + 1, updated_at = now()
        where d.status = 'queued' and d.updated_at < now() - make_interval(secs => ${LEASE_SECONDS})
      returning d.id, d.notification_id, d.push_token_id, d.user_id, d.title, d.body, d.data
    )
    select c.id, c.notification_id, c.user_id, c.title, c.body, c.data, pt.token,
           coalesce(s.sound_enabled, true) as sound,
           (select count(*)::int from notifications u where u.user_id = c.user_id and u.read_at is null) as badge
    from claimed c
    join push_tokens pt on pt.id = c.push_token_id
    left join notification_settings s on s.user_id = c.user_id`);
  return res.rows.map((r) => ({ ...r, badge: Number(r.badge) }));
}

type Outcome =
  | { id: string; status: "sent"; ticketId: string }
  | { id: string; status: "failed"; code: string; message: string; deactivate: boolean }
  | { id: string; status: "retry"; code: string; message: string; retryAfter?: number };

function fromTicket(id: string, ticket: ExpoTicket): Outcome {
  if (ticket.status === "ok") return { id, status: "sent", ticketId: ticket.id };
  const code = ticket.details?.error ?? "UnknownError";
  const message = (ticket.message ?? "").slice(0, 500);
  if (RETRYABLE_EXPO_ERRORS.has(code)) return { id, status: "retry", code, message };
  return { id, status: "failed", code, message, deactivate: code === "DeviceNotRegistered" };
}

/** One statement: delivery rows take their outcome; `retry` rows give their lease back; dead devices are switched off. */
async function recordOutcomes(db: HttpDb, outcomes: Outcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const rows = JSON.stringify(
    outcomes.map((o) => ({
      id: o.id,
      status: o.status,
      ticket_id: o.status === "sent" ? o.ticketId : null,
      error_code: o.status === "sent" ? null : o.code,
      error_message: o.status === "sent" ? null : o.message,
      deactivate: o.status === "failed" && o.deactivate,
    })),
  );
  await db.execute(sql`
    with o as (
      select * from jsonb_to_recordset(${rows}::jsonb)
        as o(id uuid, status text, ticket_id text, error_code text, error_message text, deactivate boolean)
    ), upd as (
      update push_deliveries d set
        status = case when o.status = 'retry' then d.status else o.status::push_delivery_status end,
        ticket_id = coalesce(o.ticket_id, d.ticket_id),
        error_code = o.error_code,
        error_message = o.error_message,
        updated_at = case when o.status = 'retry' then '-infinity'::timestamptz else now() end
      from o where d.id = o.id
      returning d.push_token_id, o.deactivate
    )
    update push_tokens t set is_active = false, deactivated_reason = 'DeviceNotRegistered'
    from upd where upd.deactivate and t.id = upd.push_token_id and t.is_active`);
}

function toExpo(c: Claimed): ExpoMessage {
  return {
    to: c.token,
    title: c.title,
    body: c.body,
    data: c.data,
    sound: c.sound ? "default" : null,
    priority: "high",
    channelId: "default",
    ttl: 86_400,
    badge: c.badge,
  };
}

/** Sends the claimed rows in Expo requests of ≤100; a failed request decides only its own rows. */
async function send(config: Parameters<typeof sendExpoMessages>[0], claimed: Claimed[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const part of chunk(claimed, EXPO_SEND_CHUNK)) {
    try {
      const tickets = await sendExpoMessages(config, part.map(toExpo));
      part.forEach((c, i) => {
        outcomes.push(fromTicket(c.id, tickets[i]!));
      });
    } catch (err) {
      const message = err instanceof Error ? err.message.slice(0, 500) : String(err);
      if (err instanceof ExpoRejectedError) {
        for (const c of part) outcomes.push({ id: c.id, status: "failed", code: "ExpoRejected", message, deactivate: false });
      } else {
        const retryAfter = err instanceof ExpoTemporaryError ? err.retryAfterSeconds : undefined;
        for (const c of part) outcomes.push({ id: c.id, status: "retry", code: "ExpoUnavailable", message, retryAfter });
      }
    }
  }
  return outcomes;
}

/** The `notifications` queue consumer (src/jobs/schedule.ts). */
export async function consumePushBatch(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = loadConfig(env);
  const log = createLogger(config.LOG_LEVEL, { queue: batch.queue });
  const db = createDb(config);
  const decided = new Set<string>();
  const ack = (m: Message<unknown>) => {
    decided.add(m.id);
    m.ack();
  };
  const retry = (m: Message<unknown>, retryAfter?: number) => {
    decided.add(m.id);
    m.retry({ delaySeconds: backoffSeconds(m.attempts, retryAfter) });
  };
  try {
    const valid: { msg: Message<unknown>; body: PushMessage }[] = [];
    const invalid: Message<unknown>[] = [];
    for (const msg of batch.messages) {
      const parsed = PushMessageSchema.safeParse(msg.body);
      if (parsed.success) valid.push({ msg, body: parsed.data });
      else invalid.push(msg);
    }
    if (invalid.length) {
      // Retrying cannot fix a malformed message; it is recorded, not dropped silently.
      await recordUndeliverable(db.http, batch.queue, invalid, "push_message_invalid");
      log.error("malformed notification messages recorded and acked", { ids: invalid.map((m) => m.id) });
      invalid.forEach(ack);
    }
    if (valid.length === 0) return;

    // One claim per notification even if the batch carries it twice (a redelivery next to the original).
    const unique = [...new Map(valid.map((v) => [v.body.notificationId, v.body])).values()];
    const claimed = await claimDeliveries(db.http, unique);
    const outcomes = await send(config, claimed);
    await recordOutcomes(db.http, outcomes);

    const byId = new Map(claimed.map((c) => [c.id, c]));
    const retryAfter = new Map<string, number>();
    for (const o of outcomes) {
      if (o.status !== "retry") continue;
      const n = byId.get(o.id)!.notification_id;
      retryAfter.set(n, Math.max(retryAfter.get(n) ?? 0, o.retryAfter ?? 0));
    }
    // Rows still queued: ours that must retry, or another consumer's lease on the same notification.
    const open = await db.http
      .selectDistinct({ id: pushDeliveries.notificationId })
      .from(pushDeliveries)
      .where(
        and(
          inArray(
            pushDeliveries.notificationId,
            unique.map((u) => u.notificationId),
          ),
          eq(pushDeliveries.status, "queued"),
        ),
      );
    const stillOpen = new Set(open.map((r) => r.id));
    for (const { msg, body } of valid) {
      if (stillOpen.has(body.notificationId)) retry(msg, retryAfter.get(body.notificationId));
      else ack(msg);
    }
    const sent = outcomes.filter((o) => o.status === "sent").length;
    log.info("push batch", { messages: batch.messages.length, devices: claimed.length, sent, retry: stillOpen.size });
  } catch (err) {
    log.error("push batch failed; retrying undecided messages", { error: err instanceof Error ? err.message : String(err) });
    for (const m of batch.messages) if (!decided.has(m.id)) retry(m);
  } finally {
    ctx.waitUntil(db.close());
  }
}

const uuid = z.uuid();
const asUuid = (v: unknown) => (uuid.safeParse(v).success ? (v as string) : null);

/** An ops record (security_events, severity warning) for messages that will never be delivered. */
async function recordUndeliverable(db: HttpDb, queue: string, msgs: readonly Message<unknown>[], eventType: string): Promise<void> {
  const rows = JSON.stringify(
    msgs.map((m) => {
      const b = (m.body && typeof m.body === "object" ? m.body : {}) as Record<string, unknown>;
      return {
        user_id: asUuid(b.userId),
        metadata: {
          queue,
          messageId: m.id,
          attempts: m.attempts,
          outboxId: typeof b.outboxId === "number" ? b.outboxId : null,
          notificationId: asUuid(b.notificationId),
          kind: typeof b.kind === "string" ? b.kind.slice(0, 40) : null,
        },
      };
    }),
  );
  // A user deleted since keeps the record (user_id null) rather than failing the insert on the FK.
  await db.execute(sql`
    insert into security_events (user_id, event_type, severity, metadata)
    select u.id, ${eventType}, 'warning', r.metadata
    from jsonb_to_recordset(${rows}::jsonb) as r(user_id uuid, metadata jsonb)
    left join users u on u.id = r.user_id`);
}

/**
 * Consumer of `notifications-dlq`: messages that exhausted their retries. Their still-queued
 * delivery rows become `failed` (DeadLettered) and each message leaves a `push_dead_lettered` ops
 * record; nothing is dropped silently. If the database is down, the messages are retried.
 */
export async function recordDeadLetters(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = loadConfig(env);
  const log = createLogger(config.LOG_LEVEL, { queue: batch.queue });
  const db = createDb(config);
  try {
    const ids = [
      ...new Set(
        batch.messages
          .map((m) => asUuid((m.body as { notificationId?: unknown } | null)?.notificationId))
          .filter((x): x is string => x !== null),
      ),
    ];
    if (ids.length) {
      await db.http
        .update(pushDeliveries)
        .set({ status: "failed", errorCode: "DeadLettered", errorMessage: "retries exhausted; moved to notifications-dlq" })
        .where(and(inArray(pushDeliveries.notificationId, ids), eq(pushDeliveries.status, "queued")));
    }
    await recordUndeliverable(db.http, batch.queue, batch.messages, "push_dead_lettered");
    log.warn("push messages dead-lettered", { count: batch.messages.length, notificationIds: ids });
    batch.ackAll();
  } catch (err) {
    log.error("could not record dead-lettered push messages; retrying", { error: err instanceof Error ? err.message : String(err) });
    batch.retryAll({ delaySeconds: 60 });
  } finally {
    ctx.waitUntil(db.close());
  }
}
