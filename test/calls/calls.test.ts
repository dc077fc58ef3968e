import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { and, asc, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { callEvents, callLogs, callSessions, notifications, outbox } from "../../src/db/schema";
import { api, seedUser, testDb } from "../harness";
import { seedBooking } from "../realtime/fixtures";
import { settle, TestSocket } from "../realtime/socket-client";

const sockets: TestSocket[] = [];
async function phone(token?: string) {
  const s = await TestSocket.connect({ token });
  sockets.push(s);
  return s;
}
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

const room = (bookingId: string) => env.CALL_ROOM.get(env.CALL_ROOM.idFromName(bookingId));
const OFFER = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" };
const ANSWER = { type: "answer", sdp: "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n" };
const CAND = (n: number) => ({ candidate: `candidate:${n} 1 udp 2122260223 10.0.0.${n} 5${n}000 typ host`, sdpMid: "0", sdpMLineIndex: 0 });

async function sessionsOf(bookingId: string) {
  const db = testDb();
  try {
    return await db.http.select().from(callSessions).where(eq(callSessions.bookingId, bookingId)).orderBy(asc(callSessions.startedAt));
  } finally {
    await db.close();
  }
}

/** Both parties with the WebRTC socket (token in CONNECT auth, join 100 ms later in the app). */
async function partiesOnline(opts: Parameters<typeof seedBooking>[0] = {}) {
  const b = await seedBooking(opts);
  const [cust, prov] = await Promise.all([phone(b.customer.token), phone(b.provider.token)]);
  await Promise.all([cust.emitWithAck("join", b.customer.id), prov.emitWithAck("join", b.provider.id)]);
  return { ...b, cust, prov };
}

describe("the call story: customer calls provider", () => {
  it("initiate → incoming → accept → offer/answer → ICE both ways → end; both get call:ended; all recorded", async () => {
    const { bookingId, customer, provider, serviceName, cust, prov } = await partiesOnline();

    const http = await api("POST", "/api/calls/initiate", { token: customer.token, body: { bookingId, callerType: "user" } });
    expect(http.status).toBe(200);
    expect(http.body).toMatchObject({
      status: "success",
      data: {
        bookingId,
        callerId: customer.id,
        callerName: customer.fullName,
        receiverId: provider.id,
        receiverName: provider.fullName,
        serviceName,
      },
    });
    expect(http.text).not.toContain(customer.phone);
    expect(http.text).not.toContain(provider.phone);

    expect(await cust.emitWithAck("call:initiate", { bookingId, callerType: "user" })).toEqual({ status: "success" });
    const incoming = await prov.waitFor("call:incoming");
    expect(incoming).toEqual({
      bookingId,
      callerId: customer.id,
      callerName: customer.fullName,
      receiverId: provider.id,
      receiverName: provider.fullName,
      serviceName,
    });

    prov.emit("call:accept", { bookingId, receiverId: provider.id });
    expect(await cust.waitFor("call:accepted")).toMatchObject({ bookingId, receiverId: provider.id });

    cust.emit("call:offer", { bookingId, offer: OFFER, to: provider.id });
    expect(await prov.waitFor("call:offer")).toEqual({ bookingId, offer: OFFER, from: customer.id });
    // The receiver's `to` is its own id (docs/api-contract.md §4.2): routing ignores it.
    prov.emit("call:answer", { bookingId, answer: ANSWER, to: customer.id });
    expect(await cust.waitFor("call:answer")).toEqual({ bookingId, answer: ANSWER, from: provider.id });
    prov.emit("call:ice-candidate", { bookingId, candidate: CAND(1), to: provider.id });
    cust.emit("call:ice-candidate", { bookingId, candidate: CAND(2), to: provider.id });
    expect(await cust.waitFor("call:ice-candidate")).toEqual({ bookingId, candidate: CAND(1), from: provider.id });
    expect(await prov.waitFor("call:ice-candidate")).toEqual({ bookingId, candidate: CAND(2), from: customer.id });

    cust.emit("call:end", { bookingId, userId: customer.id });
    const [a, b] = await Promise.all([cust.waitFor("call:ended"), prov.waitFor("call:ended")]);
    for (const ended of [a, b]) expect(ended).toEqual({ bookingId, duration: expect.any(Number), endedBy: customer.id });
    expect(a.duration).toBeGreaterThanOrEqual(0);

    const [row] = await sessionsOf(bookingId);
    expect(row).toMatchObject({
      status: "ended",
      callerId: customer.id,
      receiverId: provider.id,
      callerRole: "user",
      endedBy: customer.id,
      endReason: "hangup",
    });
    expect(row!.answeredAt).not.toBeNull();
    const db = testDb();
    const events = await db.http
      .select({ t: callEvents.eventType })
      .from(callEvents)
      .where(eq(callEvents.callSessionId, row!.id))
      .orderBy(asc(callEvents.createdAt));
    expect(events.map((e) => e.t)).toEqual(["initiate", "accept", "connected", "hangup"]);
    // SDP and candidates are relayed, never stored.
    expect(JSON.stringify(events)).not.toContain("candidate:");

    // The hanging-up side posts the log (fire-and-forget in the app).
    const log = await api("POST", "/api/calls/log", {
      token: customer.token,
      body: { bookingId, duration: 42, callerType: "user", status: "completed" },
    });
    expect(log.status).toBe(201);
    const [logged] = await db.http.select().from(callLogs).where(eq(callLogs.id, log.body.data.callLogId));
    expect(logged).toMatchObject({
      callSessionId: row!.id,
      loggedBy: customer.id,
      callerRole: "user",
      durationSeconds: 42,
      status: "completed",
    });
    await db.close();
  });

  it("the provider can call the customer too (callerType 'provider')", async () => {
    const { bookingId, customer, provider, cust, prov } = await partiesOnline();
    expect(await prov.emitWithAck("call:initiate", { bookingId, callerType: "provider" })).toEqual({ status: "success" });
    expect(await cust.waitFor("call:incoming")).toMatchObject({ callerId: provider.id, receiverId: customer.id });
    prov.emit("call:end", { bookingId, userId: provider.id });
    expect(await cust.waitFor("call:ended")).toMatchObject({ duration: 0, endedBy: provider.id });
    expect((await sessionsOf(bookingId))[0]).toMatchObject({ status: "missed", endReason: "cancelled", callerRole: "provider" });
  });

  it("reject: the caller gets call:rejected {reason}", async () => {
    const { bookingId, provider, cust, prov } = await partiesOnline();
    await cust.emitWithAck("call:initiate", { bookingId, callerType: "user" });
    await prov.waitFor("call:incoming");
    prov.emit("call:reject", { bookingId, reason: "declined" });
    expect(await cust.waitFor("call:rejected")).toEqual({ bookingId, reason: "declined" });
    expect((await sessionsOf(bookingId))[0]).toMatchObject({ status: "rejected", endedBy: provider.id, endReason: "rejected" });
    expect(await room(bookingId).snapshot()).toBeNull();
  });

  it("ring timeout: after 30 s unanswered both sides get call:ended {endedBy:'timeout'}", async () => {
    const { bookingId, cust, prov } = await partiesOnline();
    await cust.emitWithAck("call:initiate", { bookingId, callerType: "user" });
    await prov.waitFor("call:incoming");
    // An early alarm (at-least-once delivery) does nothing.
    await runDurableObjectAlarm(room(bookingId));
    expect(await room(bookingId).snapshot()).toMatchObject({ status: "ringing" });
    await runInDurableObject(room(bookingId), (_i, state) => {
      const call = JSON.parse(state.storage.sql.exec<{ json: string }>("SELECT json FROM live_call").one().json);
      call.startedAt -= 31_000;
      state.storage.sql.exec("UPDATE live_call SET json = ?", JSON.stringify(call));
    });
    await runDurableObjectAlarm(room(bookingId));
    const expected = { bookingId, duration: 0, endedBy: "timeout", reason: "Call timed out - no answer" };
    expect(await cust.waitFor("call:ended")).toEqual(expected);
    expect(await prov.waitFor("call:ended")).toEqual(expected);
    expect((await sessionsOf(bookingId))[0]).toMatchObject({ status: "missed", endReason: "timeout", endedBy: null });
  });

  it("connect timeout: accepted but never answered ends as failed", async () => {
    const { bookingId, provider, cust, prov } = await partiesOnline();
    await cust.emitWithAck("call:initiate", { bookingId });
    await prov.waitFor("call:incoming");
    prov.emit("call:accept", { bookingId, receiverId: provider.id });
    await cust.waitFor("call:accepted");
    await runInDurableObject(room(bookingId), (_i, state) => {
      const call = JSON.parse(state.storage.sql.exec<{ json: string }>("SELECT json FROM live_call").one().json);
      call.answeredAt -= 31_000;
      state.storage.sql.exec("UPDATE live_call SET json = ?", JSON.stringify(call));
    });
    await runDurableObjectAlarm(room(bookingId));
    expect(await cust.waitFor("call:ended")).toMatchObject({ endedBy: "timeout", duration: 0 });
    expect(await prov.waitFor("call:ended")).toMatchObject({ endedBy: "timeout" });
    expect((await sessionsOf(bookingId))[0]).toMatchObject({ status: "failed", endReason: "connect_timeout" });
  });

  it("a call ends only when the party's last call-capable socket goes; other sockets come and go freely", async () => {
    const { bookingId, customer, provider, cust, prov } = await partiesOnline();
    // The provider's booking and notification sockets (no token) plus a second WebRTC socket.
    const provBookings = await phone();
    await provBookings.emitWithAck("join", provider.id);
    const prov2 = await phone(provider.token);
    await cust.emitWithAck("call:initiate", { bookingId });
    await prov.waitFor("call:incoming");
    await prov2.waitFor("call:incoming"); // every WebRTC socket of the receiver rings
    prov.emit("call:accept", { bookingId, receiverId: provider.id });
    await cust.waitFor("call:accepted");

    provBookings.close();
    prov.close();
    await settle(300);
    expect(await room(bookingId).snapshot()).toMatchObject({ status: "active" });
    expect(cust.seen("call:ended")).toHaveLength(0);

    prov2.close(); // the last one
    expect(await cust.waitFor("call:ended")).toMatchObject({ bookingId, endedBy: provider.id, reason: "disconnect" });
    expect((await sessionsOf(bookingId))[0]).toMatchObject({ status: "ended", endReason: "disconnect", endedBy: null });
    expect(customer.id).not.toBe(provider.id);
  });

  it("a receiver with no live call socket gets an incoming-call push (and an in-app notification)", async () => {
    const b = await seedBooking();
    const cust = await phone(b.customer.token);
    expect(await cust.emitWithAck("call:initiate", { bookingId: b.bookingId, callerType: "user" })).toEqual({ status: "success" });
    const db = testDb();
    const [n] = await db.http.select().from(notifications).where(eq(notifications.userId, b.provider.id));
    expect(n).toMatchObject({ type: "call", title: "Incoming call" });
    expect(n!.message).not.toContain(b.customer.phone);
    const pushes = await db.http
      .select()
      .from(outbox)
      .where(and(eq(outbox.topic, "push.send")));
    expect(pushes.some((p) => (p.payload as { userId?: string }).userId === b.provider.id)).toBe(true);
    await db.close();
  });
});

describe("call permissions", () => {
  it.each([
    ["completed booking", { status: "completed" as const }, "customer", "CALL_STATUS_NOT_ALLOWED"],
    ["cancelled booking", { status: "cancelled" as const }, "provider", "CALL_STATUS_NOT_ALLOWED"],
    ["unpaid listing, customer calling", { listingStatus: "pending" as const }, "customer", "PROVIDER_CALLS_DISABLED"],
    ["same person on both sides", { samePerson: true }, "customer", "CALL_SELF_NOT_ALLOWED"],
    ["unverified caller", { unverified: "customer" as const }, "customer", "CALLER_NOT_VERIFIED"],
    ["unverified receiver", { unverified: "provider" as const }, "customer", "RECEIVER_NOT_VERIFIED"],
  ])("%s → %s", async (_name, opts, who, code) => {
    const b = await seedBooking(opts);
    const caller = who === "customer" ? b.customer : b.provider;
    const http = await api("POST", "/api/calls/initiate", {
      token: caller.token,
      body: { bookingId: b.bookingId, callerType: who === "customer" ? "user" : "provider" },
    });
    expect(http.body).toMatchObject({ status: "error", errorCode: code });
    const s = await phone(caller.token);
    expect(await s.emitWithAck("call:initiate", { bookingId: b.bookingId })).toMatchObject({ status: "error", errorCode: code });
    expect(await s.waitFor("call:error")).toMatchObject({ bookingId: b.bookingId, errorCode: code });
  });

  it("the provider may call about a pending booking even before paying; callerType must match the role", async () => {
    const b = await seedBooking({ status: "pending", listingStatus: "pending" });
    const ok = await api("POST", "/api/calls/initiate", {
      token: b.provider.token,
      body: { bookingId: b.bookingId, callerType: "provider" },
    });
    expect(ok.body.status).toBe("success");
    const wrong = await api("POST", "/api/calls/initiate", {
      token: b.provider.token,
      body: { bookingId: b.bookingId, callerType: "user" },
    });
    expect(wrong.body).toMatchObject({ status: "error", errorCode: "CALLER_ROLE_MISMATCH" });
  });

  it("needs a token, a valid body, and a real booking", async () => {
    expect((await api("POST", "/api/calls/initiate", { body: { bookingId: crypto.randomUUID() } })).status).toBe(401);
    const u = await seedUser("user");
    expect((await api("POST", "/api/calls/initiate", { token: u.token, body: { bookingId: "nope" } })).status).toBe(400);
    const missing = await api("POST", "/api/calls/initiate", { token: u.token, body: { bookingId: crypto.randomUUID() } });
    expect(missing.status).toBe(404);
    expect(missing.body.errorCode).toBe("CALL_BOOKING_NOT_FOUND");
    expect((await api("POST", "/api/calls/log", { body: { bookingId: crypto.randomUUID(), duration: 1 } })).status).toBe(401);
  });

  it("a third user cannot initiate, accept, signal, end, log, or hear anything of the booking's call", async () => {
    const { bookingId, customer, provider, cust, prov } = await partiesOnline();
    const intruder = await seedUser("provider");
    const spy = await phone(intruder.token);
    // ...and the intruder's other trick from upstream: an unauthenticated join as the victim.
    const eavesdrop = await phone();
    await eavesdrop.emitWithAck("join", provider.id);

    const http = await api("POST", "/api/calls/initiate", { token: intruder.token, body: { bookingId, callerType: "provider" } });
    expect(http.body).toMatchObject({ status: "error", errorCode: "CALL_BOOKING_NOT_FOUND" });
    expect(await spy.emitWithAck("call:initiate", { bookingId, callerType: "provider" })).toMatchObject({
      errorCode: "CALL_BOOKING_NOT_FOUND",
    });

    await cust.emitWithAck("call:initiate", { bookingId });
    await prov.waitFor("call:incoming");
    expect(await spy.emitWithAck("call:accept", { bookingId, receiverId: provider.id })).toMatchObject({
      errorCode: "WEBRTC_PERMISSION_DENIED",
    });
    expect(await spy.emitWithAck("call:reject", { bookingId })).toMatchObject({ errorCode: "WEBRTC_PERMISSION_DENIED" });
    prov.emit("call:accept", { bookingId, receiverId: provider.id });
    await cust.waitFor("call:accepted");
    expect(await spy.emitWithAck("call:offer", { bookingId, offer: OFFER, to: customer.id })).toMatchObject({
      errorCode: "WEBRTC_PERMISSION_DENIED",
    });
    expect(await spy.emitWithAck("call:ice-candidate", { bookingId, candidate: CAND(9), to: customer.id })).toMatchObject({
      status: "error",
    });
    expect(await spy.emitWithAck("call:end", { bookingId, userId: customer.id })).toMatchObject({ errorCode: "WEBRTC_PERMISSION_DENIED" });
    cust.emit("call:offer", { bookingId, offer: OFFER, to: intruder.id }); // a `to` pointing at the intruder is ignored
    await prov.waitFor("call:offer");
    await settle();
    expect(cust.seen("call:offer")).toHaveLength(0);
    expect(await room(bookingId).snapshot()).toMatchObject({ status: "active" });
    expect(spy.events.map((e) => e.event).filter((e) => e !== "call:error")).toEqual([]);
    expect(eavesdrop.seen("call:")).toHaveLength(0);

    const log = await api("POST", "/api/calls/log", {
      token: intruder.token,
      body: { bookingId, duration: 5, callerType: "provider", status: "completed" },
    });
    expect(log.body).toMatchObject({ status: "error", errorCode: "CALL_HISTORY_ACCESS_DENIED" });
  });

  it("an unauthenticated socket is refused for every call command", async () => {
    const { bookingId, customer } = await partiesOnline();
    const anon = await phone();
    await anon.emitWithAck("join", customer.id);
    for (const ev of ["call:initiate", "call:accept", "call:reject", "call:offer", "call:answer", "call:ice-candidate", "call:end"]) {
      expect(await anon.emitWithAck(ev, { bookingId })).toMatchObject({ status: "error", errorCode: "WEBRTC_NOT_AUTHENTICATED" });
    }
    await settle();
    expect(anon.seen("call:")).toHaveLength(0);
  });
});
