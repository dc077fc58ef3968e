import { DurableObject } from "cloudflare:workers";
import { and, eq, inArray, sql } from "drizzle-orm";
import { createDb, type Db } from "../db/client";
import { type CallPartyRole, callEvents, callSessions } from "../db/schema";
import { loadConfig } from "../env";
import { AppError } from "../http/errors";
import { migrateStorage } from "../lib/do-storage";
import { createLogger } from "../lib/log";
import { dispatchOutbox, notify, type RealtimeEvent } from "../outbox/outbox";
import type { Ack, CallCommand } from "../realtime/session";
import { realtimeGateway } from "../realtime/sink";
import { checkCallPermission } from "./service";

const log = createLogger("info", { component: "call-room" });

/** Upstream rang for 30 s (docs/api-contract.md §4.4). */
export const RING_TIMEOUT_MS = 30_000;
/** From accept until the receiver's answer is relayed; the apps give up after 20 s themselves. */
export const CONNECT_TIMEOUT_MS = 30_000;
/** A connected call is closed server-side after this long (stale state guard). */
export const MAX_CALL_MS = 4 * 60 * 60 * 1000;
const MAX_SDP = 16_384;
const MAX_CANDIDATE = 2_048;

type LiveCall = {
  callSessionId: string;
  bookingId: string;
  callerId: string;
  receiverId: string;
  callerRole: CallPartyRole;
  callerName: string;
  receiverName: string;
  serviceName: string;
  status: "ringing" | "active";
  startedAt: number;
  answeredAt?: number;
  /** The answer was relayed: signalling finished, media is the peers' business. */
  connectedAt?: number;
};

type Outcome = {
  status: "ended" | "rejected" | "missed" | "failed";
  reason: "hangup" | "cancelled" | "rejected" | "timeout" | "connect_timeout" | "disconnect" | "superseded" | "max_duration";
  endedBy: string | null;
  /** Events to each party, already shaped for the apps. */
  toCaller?: RealtimeEvent["payload"] & { event: string };
  toReceiver?: RealtimeEvent["payload"] & { event: string };
};

export type CallCommandInput = { command: CallCommand; userId: string; bookingId: string; data: Record<string, unknown> | undefined };

const fail = (errorCode: string, message: string): Ack => ({ status: "error", errorCode, message });
const success: Ack = { status: "success" };

/**
 * Owns the masked-call room of one booking (name = booking id): at most one live call, its state
 * machine ringing → active → ended/rejected/missed/failed, its alarms (30 s ring timeout, connect
 * timeout, maximum duration), and the routing of offer/answer/ICE between the booking's two stored
 * parties. Identity comes from the caller's authenticated socket; the payload's `to`/`receiverId`
 * are ignored (the apps send wrong ones, docs/api-contract.md §4.2). Call sessions and events are
 * recorded in Postgres; SDP and ICE are relayed, never stored.
 *
 * Commands are serialised through one promise chain: they await the database and other objects,
 * which opens the input gate (docs/payments.md §2.3), and accept/end/timeout must not interleave.
 */
export class CallRoom extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateStorage(ctx.storage, ["CREATE TABLE IF NOT EXISTS live_call (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL)"]);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private load(): LiveCall | undefined {
    const row = this.sql.exec<{ json: string }>("SELECT json FROM live_call WHERE id = 1").toArray()[0];
    return row ? (JSON.parse(row.json) as LiveCall) : undefined;
  }

  private save(call: LiveCall | undefined): void {
    if (!call) this.sql.exec("DELETE FROM live_call");
    else
      this.sql.exec(
        "INSERT INTO live_call (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
        JSON.stringify(call),
      );
  }

  private db(): Db {
    return createDb(loadConfig(this.env));
  }

  private hub(userId: string) {
    return this.env.USER_HUB.get(this.env.USER_HUB.idFromName(userId));
  }

  /** Sends call:* to the authenticated sockets of one party; returns how many took it. */
  private async send(userId: string, event: string, payload: Record<string, unknown>): Promise<number> {
    try {
      const reached = await this.hub(userId).deliver([{ userId, event, payload, audience: "authenticated" }]);
      return reached.authenticated;
    } catch (err) {
      log.warn("call event delivery failed", { event, error: err instanceof Error ? err.message : String(err) });
      return 0;
    }
  }

  /** Current call, for tests and diagnostics. */
  async snapshot(): Promise<LiveCall | null> {
    return this.load() ?? null;
  }

  async command(input: CallCommandInput): Promise<Ack> {
    return this.serial(async () => {
      try {
        switch (input.command) {
          case "call:initiate":
            return await this.initiate(input);
          case "call:accept":
            return await this.accept(input);
          case "call:reject":
            return await this.reject(input);
          case "call:end":
            return await this.end(input);
          case "call:offer":
          case "call:answer":
          case "call:ice-candidate":
            return await this.relay(input);
        }
      } catch (err) {
        if (err instanceof AppError) return fail(err.code, err.message);
        log.error("call command failed", { command: input.command, error: err instanceof Error ? err.message : String(err) });
        return fail("WEBRTC_ERROR", "Call service error");
      }
    });
  }

  /** The user's last call-capable socket closed (from their UserHub). */
  async partyGone(userId: string): Promise<void> {
    await this.serial(async () => {
      const call = this.load();
      if (!call || (userId !== call.callerId && userId !== call.receiverId)) return;
      const duration = call.answeredAt ? Math.floor((Date.now() - call.answeredAt) / 1000) : 0;
      const ended = { event: "call:ended", bookingId: call.bookingId, duration, endedBy: userId, reason: "disconnect" };
      await this.finish(call, {
        status: call.status === "active" ? "ended" : "missed",
        reason: "disconnect",
        endedBy: null,
        toCaller: userId === call.callerId ? undefined : ended,
        toReceiver: userId === call.receiverId ? undefined : ended,
      });
    });
  }

  override async alarm(): Promise<void> {
    await this.serial(async () => {
      const call = this.load();
      if (!call) return;
      const now = Date.now();
      if (call.status === "ringing") {
        if (now < call.startedAt + RING_TIMEOUT_MS) return void (await this.ctx.storage.setAlarm(call.startedAt + RING_TIMEOUT_MS));
        // Upstream's timeout payload; the receiver is told too, so its ringing screen closes.
        const ended = {
          event: "call:ended",
          bookingId: call.bookingId,
          duration: 0,
          endedBy: "timeout",
          reason: "Call timed out - no answer",
        };
        await this.finish(call, { status: "missed", reason: "timeout", endedBy: null, toCaller: ended, toReceiver: ended });
        return;
      }
      if (!call.connectedAt) {
        const deadline = (call.answeredAt ?? now) + CONNECT_TIMEOUT_MS;
        if (now < deadline) return void (await this.ctx.storage.setAlarm(deadline));
        const ended = { event: "call:ended", bookingId: call.bookingId, duration: 0, endedBy: "timeout", reason: "Call could not connect" };
        await this.finish(call, { status: "failed", reason: "connect_timeout", endedBy: null, toCaller: ended, toReceiver: ended });
        return;
      }
      const deadline = call.connectedAt + MAX_CALL_MS;
      if (now < deadline) return void (await this.ctx.storage.setAlarm(deadline));
      const duration = Math.floor((now - (call.answeredAt ?? now)) / 1000);
      const ended = { event: "call:ended", bookingId: call.bookingId, duration, endedBy: "timeout", reason: "Maximum call length reached" };
      await this.finish(call, { status: "ended", reason: "max_duration", endedBy: null, toCaller: ended, toReceiver: ended });
    });
  }

  // ---- commands --------------------------------------------------------------------------------

  private async initiate(input: CallCommandInput): Promise<Ack> {
    const callerType = input.data?.callerType;
    const db = this.db();
    try {
      const parties = await checkCallPermission(db.http, {
        bookingId: input.bookingId,
        userId: input.userId,
        callerType: callerType === "user" || callerType === "provider" ? callerType : undefined,
      });
      const existing = this.load();
      if (existing?.status === "ringing" && existing.callerId === input.userId) {
        // A repeated initiate (retry, second tap) rings again instead of starting a second call.
        await this.send(existing.receiverId, "call:incoming", this.incomingPayload(existing));
        return success;
      }
      if (existing) {
        // Upstream let a new initiate replace the old call; both parties hear that the old one ended.
        const duration = existing.answeredAt ? Math.floor((Date.now() - existing.answeredAt) / 1000) : 0;
        const ended = { event: "call:ended", bookingId: existing.bookingId, duration, endedBy: input.userId, reason: "superseded" };
        await this.finish(existing, {
          status: existing.status === "active" ? "ended" : "missed",
          reason: "superseded",
          endedBy: input.userId,
          toCaller: ended,
          toReceiver: ended,
        });
      }
      // Any live row left by a lost room state is closed in the same batch, so the one-live-call
      // unique index never blocks a new call.
      const [, inserted] = await db.http.batch([
        db.http
          .update(callSessions)
          .set({ status: "failed", endedAt: sql`now()`, endReason: "stale" })
          .where(and(eq(callSessions.bookingId, input.bookingId), inArray(callSessions.status, ["ringing", "active"]))),
        db.http
          .insert(callSessions)
          .values({
            bookingId: input.bookingId,
            callerId: parties.caller.id,
            receiverId: parties.receiver.id,
            callerRole: parties.caller.role,
          })
          .returning({ id: callSessions.id, startedAt: callSessions.startedAt }),
      ]);
      const row = inserted[0]!;
      const call: LiveCall = {
        callSessionId: row.id,
        bookingId: input.bookingId,
        callerId: parties.caller.id,
        receiverId: parties.receiver.id,
        callerRole: parties.caller.role,
        callerName: parties.caller.name,
        receiverName: parties.receiver.name,
        serviceName: parties.serviceName,
        status: "ringing",
        startedAt: Date.now(),
      };
      this.save(call);
      await this.ctx.storage.setAlarm(call.startedAt + RING_TIMEOUT_MS);
      await db.http
        .insert(callEvents)
        .values({ callSessionId: row.id, actorId: input.userId, eventType: "initiate", data: { callerRole: call.callerRole } });
      await Promise.all([this.hub(call.callerId).trackCall(call.bookingId), this.hub(call.receiverId).trackCall(call.bookingId)]);
      const reached = await this.send(call.receiverId, "call:incoming", this.incomingPayload(call));
      if (reached === 0) await this.pushIncoming(db, call);
      return success;
    } finally {
      this.ctx.waitUntil(db.close());
    }
  }

  private incomingPayload(call: LiveCall): Record<string, unknown> {
    return {
      bookingId: call.bookingId,
      callerId: call.callerId,
      callerName: call.callerName,
      receiverId: call.receiverId,
      receiverName: call.receiverName,
      serviceName: call.serviceName,
    };
  }

  /** The receiver has no live call-capable socket: an Expo push through the outbox wakes the app. */
  private async pushIncoming(db: Db, call: LiveCall): Promise<void> {
    try {
      await db.transaction((tx) =>
        notify(tx, {
          userId: call.receiverId,
          title: "Incoming call",
          message: `${call.callerName} is calling about ${call.serviceName}`,
          type: "call",
          data: { bookingId: call.bookingId, callerName: call.callerName, serviceName: call.serviceName, kind: "incoming_call" },
          push: true,
          dedupKey: `call:${call.callSessionId}`,
        }),
      );
      await this.event(db, call.callSessionId, null, "push_sent", {});
      const env = this.env;
      this.ctx.waitUntil(
        (async () => {
          const d = createDb(loadConfig(env));
          try {
            await dispatchOutbox(env, d, realtimeGateway);
          } finally {
            await d.close();
          }
        })().catch((err: unknown) => log.warn("incoming call push dispatch failed", { error: String(err) })),
      );
    } catch (err) {
      log.warn("incoming call push failed", { error: err instanceof Error ? err.message : String(err) });
    }
  }

  private async accept(input: CallCommandInput): Promise<Ack> {
    const call = this.load();
    if (call?.status !== "ringing") return fail("WEBRTC_ERROR", "No ringing call for this booking");
    if (input.userId !== call.receiverId) return fail("WEBRTC_PERMISSION_DENIED", "Only the person being called can accept");
    const now = Date.now();
    this.save({ ...call, status: "active", answeredAt: now });
    await this.ctx.storage.setAlarm(now + CONNECT_TIMEOUT_MS);
    await this.persist(call.callSessionId, { status: "active", answeredAt: new Date(now) }, input.userId, "accept");
    await this.send(call.callerId, "call:accepted", { bookingId: call.bookingId, receiverId: call.receiverId, socketId: "" });
    return success;
  }

  private async reject(input: CallCommandInput): Promise<Ack> {
    const call = this.load();
    if (call?.status !== "ringing") return fail("WEBRTC_ERROR", "No ringing call for this booking");
    if (input.userId !== call.receiverId) return fail("WEBRTC_PERMISSION_DENIED", "Only the person being called can reject");
    const raw = input.data?.reason;
    const reason = typeof raw === "string" && raw.length > 0 ? raw.slice(0, 100) : "declined";
    await this.finish(call, {
      status: "rejected",
      reason: "rejected",
      endedBy: input.userId,
      toCaller: { event: "call:rejected", bookingId: call.bookingId, reason },
    });
    return success;
  }

  private async end(input: CallCommandInput): Promise<Ack> {
    const call = this.load();
    if (!call) return success; // already over (both sides often send end); idempotent
    if (input.userId !== call.callerId && input.userId !== call.receiverId) {
      return fail("WEBRTC_PERMISSION_DENIED", "Not a party of this call");
    }
    const duration = call.answeredAt ? Math.floor((Date.now() - call.answeredAt) / 1000) : 0;
    const ended = { event: "call:ended", bookingId: call.bookingId, duration, endedBy: input.userId };
    await this.finish(call, {
      status: call.status === "active" ? "ended" : "missed",
      reason: call.status === "active" ? "hangup" : "cancelled",
      endedBy: input.userId,
      toCaller: ended,
      toReceiver: ended,
    });
    return success;
  }

  /** offer → receiver, answer → caller, ICE → the other party; always the booking's stored parties. */
  private async relay(input: CallCommandInput): Promise<Ack> {
    const call = this.load();
    if (!call) return fail("WEBRTC_ERROR", "No call for this booking");
    const fromCaller = input.userId === call.callerId;
    if (!fromCaller && input.userId !== call.receiverId) return fail("WEBRTC_PERMISSION_DENIED", "Not a party of this call");
    if (call.status !== "active") return fail("WEBRTC_ERROR", "The call has not been accepted");
    const to = fromCaller ? call.receiverId : call.callerId;
    const data = input.data ?? {};
    if (input.command === "call:offer" || input.command === "call:answer") {
      const key = input.command === "call:offer" ? "offer" : "answer";
      const desc = sessionDescription(data[key], key);
      if (!desc) return fail("WEBRTC_INVALID_PAYLOAD", `Invalid ${key}`);
      await this.send(to, input.command, { bookingId: call.bookingId, [key]: desc, from: input.userId });
      if (key === "answer" && !call.connectedAt) {
        const now = Date.now();
        this.save({ ...call, connectedAt: now });
        await this.ctx.storage.setAlarm(now + MAX_CALL_MS);
        await this.event(null, call.callSessionId, input.userId, "connected", {});
      }
      return success;
    }
    const candidate = iceCandidate(data.candidate);
    if (!candidate) return fail("WEBRTC_INVALID_PAYLOAD", "Invalid ICE candidate");
    await this.send(to, "call:ice-candidate", { bookingId: call.bookingId, candidate, from: input.userId });
    return success;
  }

  // ---- ending and recording ----------------------------------------------------------------------

  private async finish(call: LiveCall, o: Outcome): Promise<void> {
    // The room forgets the call first: whatever else fails, it is over.
    this.save(undefined);
    await this.ctx.storage.deleteAlarm();
    const now = Date.now();
    const duration = call.answeredAt && o.status === "ended" ? Math.floor((now - call.answeredAt) / 1000) : 0;
    await this.persist(
      call.callSessionId,
      { status: o.status, endedAt: new Date(now), endedBy: o.endedBy, endReason: o.reason, durationSeconds: duration },
      o.endedBy,
      o.reason,
    );
    await Promise.all([
      this.hub(call.callerId)
        .untrackCall(call.bookingId)
        .catch(() => undefined),
      this.hub(call.receiverId)
        .untrackCall(call.bookingId)
        .catch(() => undefined),
    ]);
    const sends: Promise<number>[] = [];
    if (o.toCaller) {
      const { event, ...payload } = o.toCaller;
      sends.push(this.send(call.callerId, event, payload));
    }
    if (o.toReceiver) {
      const { event, ...payload } = o.toReceiver;
      sends.push(this.send(call.receiverId, event, payload));
    }
    await Promise.all(sends);
  }

  private async persist(callSessionId: string, set: Partial<typeof callSessions.$inferInsert>, actorId: string | null, eventType: string) {
    const db = this.db();
    try {
      await db.http.batch([
        db.http
          .update(callSessions)
          .set({ ...set, updatedAt: sql`now()` })
          .where(eq(callSessions.id, callSessionId)),
        db.http.insert(callEvents).values({ callSessionId, actorId, eventType, data: {} }),
      ]);
    } catch (err) {
      log.error("call state not recorded", { callSessionId, eventType, error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.ctx.waitUntil(db.close());
    }
  }

  private async event(dbIn: Db | null, callSessionId: string, actorId: string | null, eventType: string, data: Record<string, unknown>) {
    const db = dbIn ?? this.db();
    try {
      await db.http.insert(callEvents).values({ callSessionId, actorId, eventType, data });
    } catch (err) {
      log.warn("call event not recorded", { eventType, error: err instanceof Error ? err.message : String(err) });
    } finally {
      if (!dbIn) this.ctx.waitUntil(db.close());
    }
  }
}

function sessionDescription(v: unknown, type: "offer" | "answer"): { type: string; sdp: string } | null {
  if (!v || typeof v !== "object") return null;
  const d = v as { type?: unknown; sdp?: unknown };
  if (d.type !== type || typeof d.sdp !== "string" || d.sdp.length > MAX_SDP) return null;
  return { type, sdp: d.sdp };
}

function iceCandidate(v: unknown): { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null {
  if (!v || typeof v !== "object") return null;
  const c = v as { candidate?: unknown; sdpMid?: unknown; sdpMLineIndex?: unknown };
  if (typeof c.candidate !== "string" || c.candidate.length > MAX_CANDIDATE) return null;
  return {
    candidate: c.candidate,
    sdpMid: typeof c.sdpMid === "string" ? c.sdpMid.slice(0, 64) : null,
    sdpMLineIndex: typeof c.sdpMLineIndex === "number" ? c.sdpMLineIndex : null,
  };
}
