import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { dispatchOutbox, emit, notify } from "../../src/outbox/outbox";
import { realtimeGateway } from "../../src/realtime/sink";
import { seedUser, testDb } from "../harness";
import { settle, TestSocket } from "./socket-client";

const sockets: TestSocket[] = [];
const open = async (opts: { token?: string; upgrade?: boolean } = {}) => {
  const s = await TestSocket.connect(opts);
  sockets.push(s);
  return s;
};
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

const sessionStub = (sid: string) => env.REALTIME_SESSION.get(env.REALTIME_SESSION.idFromString(sid));
const hubStub = (userId: string) => env.USER_HUB.get(env.USER_HUB.idFromName(userId));

/** What the marketplace does after a commit: outbox rows, then dispatch (the HTTP path's waitUntil). */
async function emitThroughOutbox(write: (db: ReturnType<typeof testDb>) => Promise<unknown>) {
  const db = testDb();
  try {
    await write(db);
    await dispatchOutbox(env, db, realtimeGateway);
  } finally {
    await db.close();
  }
}

describe("Engine.IO handshake and transports", () => {
  it("answers the polling handshake with the open packet the client expects", async () => {
    const res = await SELF.fetch("http://127.0.0.1/socket.io/?EIO=4&transport=polling&t=abc");
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body.startsWith("0{")).toBe(true);
    const open = JSON.parse(body.slice(1));
    expect(open).toEqual({
      sid: expect.stringMatching(/^[0-9a-f]{64}$/),
      upgrades: ["websocket"],
      pingInterval: 25000,
      pingTimeout: 20000,
      maxPayload: 1000000,
    });
  });

  it("refuses other protocol versions, unknown transports and sids it did not mint", async () => {
    const v3 = await SELF.fetch("http://127.0.0.1/socket.io/?EIO=3&transport=polling");
    expect(v3.status).toBe(400);
    expect(await v3.json()).toEqual({ code: 5, message: "Unsupported protocol version" });
    const tr = await SELF.fetch("http://127.0.0.1/socket.io/?EIO=4&transport=flash");
    expect(await tr.json()).toEqual({ code: 0, message: "Transport unknown" });
    const forged = await SELF.fetch(`http://127.0.0.1/socket.io/?EIO=4&transport=polling&sid=${"ab".repeat(32)}`);
    expect(forged.status).toBe(400);
    expect(await forged.json()).toEqual({ code: 1, message: "Session ID unknown" });
    const junk = await SELF.fetch("http://127.0.0.1/socket.io/?EIO=4&transport=polling&sid=x'--");
    expect(await junk.json()).toEqual({ code: 1, message: "Session ID unknown" });
    const post = await SELF.fetch("http://127.0.0.1/socket.io/?EIO=4&transport=polling", { method: "POST", body: "40" });
    expect(await post.json()).toMatchObject({ code: 2 });
  });

  it("long-poll POSTs up to the advertised maxPayload are accepted (not the API's 64 KB limit); larger ones are refused", async () => {
    const s = await open({ upgrade: false });
    // An SDP offer with many ICE candidates easily passes 64 KB when batched with other packets.
    const big = (n: number) => ({ type: "message" as const, data: `42["call:ice-candidate",{"candidate":"${"a".repeat(n)}"}]` });
    const ok = await s.post([big(300_000)]);
    expect(ok.status).toBe(200);
    const t = await open({ upgrade: false });
    const tooBig = await t.post([big(1_100_000)]);
    expect(tooBig.status).toBe(413);
  });

  it("runs Socket.IO over long-polling: CONNECT, join with ack, events on the next GET", async () => {
    const user = await seedUser("user");
    const s = await open({ upgrade: false });
    expect(s.socketId).toMatch(/^\w{20}$/);
    const ack = await s.emitWithAck("join", user.id);
    expect(ack).toEqual({ status: "success", userId: user.id });
    await emitThroughOutbox((db) =>
      emit(db.http, { userId: user.id, event: "booking_updated", payload: { bookingId: crypto.randomUUID() } }),
    );
    await s.pollOnce();
    expect(s.seen("booking_updated")).toHaveLength(1);
  });

  it("upgrades to WebSocket with the probe; a held GET is released with a noop", async () => {
    const s = await open({ upgrade: false });
    const held = s.pollOnce(); // held: nothing queued
    await settle(50);
    await s.upgrade();
    const r = await held;
    expect(r.body).toBe("6");
    expect(s.transport).toBe("websocket");
    // After the upgrade, polling on this sid is a protocol error.
    const late = await s.pollOnce();
    expect(late.status).toBe(400);
    const diag = await sessionStub(s.sid).diagnostics();
    expect(diag.session).toMatchObject({ transport: "websocket", upgrading: false, connected: true });
  });

  it("connects directly over WebSocket too (transports: ['websocket'])", async () => {
    const res = await SELF.fetch("http://127.0.0.1/socket.io/?EIO=4&transport=websocket", { headers: { upgrade: "websocket" } });
    const ws = res.webSocket!;
    const first = new Promise<string>((r) => ws.addEventListener("message", (e) => r(e.data as string), { once: true }));
    ws.accept();
    const open = JSON.parse((await first).slice(1));
    expect(open.upgrades).toEqual([]);
    const connected = new Promise<string>((r) => ws.addEventListener("message", (e) => r(e.data as string), { once: true }));
    ws.send("40");
    expect(await connected).toMatch(/^40\{"sid":"\w+"\}$/);
    ws.close(1000);
  });

  it("pings from the heartbeat alarm; a pong keeps the session, silence closes it", async () => {
    const user = await seedUser("user");
    const s = await open();
    await s.emitWithAck("join", user.id);
    expect(await runDurableObjectAlarm(sessionStub(s.sid))).toBe(true);
    await settle(100);
    expect(s.engine.filter((p) => p.type === "ping")).toHaveLength(1);
    expect((await sessionStub(s.sid).diagnostics()).session?.awaitingPong).toBe(false);
    // Now the client goes silent.
    s.autoPong = false;
    await runInDurableObject(sessionStub(s.sid), async (_i, state) => {
      await state.storage.setAlarm(Date.now());
    });
    await runDurableObjectAlarm(sessionStub(s.sid)); // ping
    await runInDurableObject(sessionStub(s.sid), async (_i, state) => {
      const row = state.storage.sql.exec<{ json: string }>("SELECT json FROM session").one();
      const sess = JSON.parse(row.json);
      sess.lastPingAt -= 60_000; // pretend the pong deadline passed
      state.storage.sql.exec("UPDATE session SET json = ?", JSON.stringify(sess));
    });
    await evictDurableObject(sessionStub(s.sid)); // drop the cached copy too
    await runDurableObjectAlarm(sessionStub(s.sid)); // timeout
    await s.waitClosed();
    expect((await sessionStub(s.sid).diagnostics()).session).toBeNull();
    expect(await hubStub(user.id).counts()).toEqual({ authenticated: 0, anonymous: 0 });
  });

  it("a client close packet ends the session and frees its storage", async () => {
    const user = await seedUser("user");
    const s = await open();
    await s.emitWithAck("join", user.id);
    expect((await hubStub(user.id).counts()).anonymous).toBe(1);
    s.close();
    await settle(200);
    expect((await sessionStub(s.sid).diagnostics()).session).toBeNull();
    expect((await hubStub(user.id).counts()).anonymous).toBe(0);
    const listed = await runInDurableObject(sessionStub(s.sid), (_i, state) => state.storage.sql.databaseSize);
    expect(listed).toBeGreaterThanOrEqual(0);
  });
});

describe("identity and the real-time policy", () => {
  it("a token binds the socket to its user; join must match it", async () => {
    const [me, other] = await Promise.all([seedUser("user"), seedUser("user")]);
    const s = await open({ token: me.token });
    expect(s.connectError).toBeUndefined();
    expect(await s.emitWithAck("join", other.id)).toMatchObject({ status: "error", errorCode: "FORBIDDEN" });
    expect(await s.emitWithAck("join", me.id)).toEqual({ status: "success", userId: me.id });
    expect(await hubStub(me.id).counts()).toEqual({ authenticated: 1, anonymous: 0 });
    expect(await hubStub(other.id).counts()).toEqual({ authenticated: 0, anonymous: 0 });
  });

  it("an authenticated CONNECT still answered while the upgrade completes mid-check (the apps upgrade at once)", async () => {
    const me = await seedUser("user");
    for (let i = 0; i < 3; i++) {
      const s = new TestSocket();
      sockets.push(s);
      await s.handshake();
      const held = s.pollOnce();
      const connect = s.post([{ type: "message", data: `0${JSON.stringify({ token: me.token })}` }]); // Socket.IO CONNECT
      // The probe lands while the token is being checked; the client sends `5` once its POST drained.
      await s.upgrade(connect);
      await held;
      const deadline = Date.now() + 3000;
      while (!s.socketId && Date.now() < deadline) await settle(20);
      expect(s.socketId).toMatch(/^\w{20}$/);
      expect((await sessionStub(s.sid).diagnostics()).session).toMatchObject({ transport: "websocket", userId: me.id, connected: true });
    }
  });

  it("a bad or revoked token is refused with CONNECT_ERROR", async () => {
    const bad = await open({ token: "not-a-jwt", upgrade: false });
    expect(bad.connectError).toMatchObject({ message: "Authentication failed", data: { errorCode: "INVALID_TOKEN" } });
    const me = await seedUser("user");
    const db = testDb();
    const { sessions } = await import("../../src/db/schema");
    const { eq, sql } = await import("drizzle-orm");
    await db.http.update(sessions).set({ revokedAt: sql`now()`, revokeReason: "logout" }).where(eq(sessions.id, me.sessionId));
    await db.close();
    const revoked = await open({ token: me.token, upgrade: false });
    expect(revoked.connectError).toMatchObject({ data: { errorCode: "INVALID_TOKEN" } });
  });

  it("booking_updated from the outbox reaches every socket of the user, after commit", async () => {
    const me = await seedUser("user");
    const [anon, authed] = await Promise.all([open(), open({ token: me.token })]);
    await anon.emitWithAck("join", me.id);
    await authed.emitWithAck("join", me.id);
    const bookingId = crypto.randomUUID();
    await emitThroughOutbox((db) =>
      db.transaction((tx) =>
        emit(tx, { userId: me.id, event: "booking_updated", payload: { bookingId, status: "accepted", amountPaise: 50000 } }),
      ),
    );
    expect(await authed.waitFor("booking_updated")).toEqual({ bookingId, status: "accepted", amountPaise: 50000 });
    // The unauthenticated socket gets the trigger and nothing else.
    expect(await anon.waitFor("booking_updated")).toEqual({});
  });

  it("an unauthenticated socket never gets personal data, amounts or call events, whatever the audience", async () => {
    const me = await seedUser("provider", { fullName: "Private Person" });
    const [anon, authed] = await Promise.all([open(), open({ token: me.token })]);
    await anon.emitWithAck("join", me.id);
    await emitThroughOutbox(async (db) => {
      await db.transaction(async (tx) => {
        await notify(tx, {
          userId: me.id,
          title: "Booking from Private Person",
          message: "₹500 at 12 Hidden Street",
          type: "booking",
          push: false,
        });
        await emit(tx, [
          {
            userId: me.id,
            event: "earnings_updated",
            payload: { status: "success", data: { earnings: { today: "₹500" } } },
            audience: "any",
          },
          { userId: me.id, event: "call:incoming", payload: { callerName: "Private Person" }, audience: "any" },
          { userId: me.id, event: "booking_created", payload: { booking: { customer_name: "Private Person" } }, audience: "any" },
        ]);
      });
    });
    expect(await authed.waitFor("earnings_updated")).toMatchObject({ data: { earnings: { today: "₹500" } } });
    const created = await anon.waitFor("notification_created");
    // The shape the apps read (notification.{id,title,message,created_at,is_read}), with nothing personal in it.
    expect(Object.keys(created).sort()).toEqual(["createdAt", "id", "notification", "type"]);
    expect(created).toMatchObject({
      type: "booking",
      notification: { id: (created as { id: string }).id, title: "New notification", is_read: false },
    });
    expect(await anon.waitFor("booking_created")).toEqual({});
    await settle();
    expect(anon.seen("earnings_updated")).toHaveLength(0);
    expect(anon.seen("call:")).toHaveLength(0);
    expect(JSON.stringify(anon.events)).not.toMatch(/Private|500|Hidden/);
  });

  it("a join without a token cannot place calls (and gets no call:error either)", async () => {
    const me = await seedUser("user");
    const anon = await open();
    await anon.emitWithAck("join", me.id);
    const ack = await anon.emitWithAck("call:initiate", { bookingId: crypto.randomUUID(), callerType: "user" });
    expect(ack).toMatchObject({ status: "error", errorCode: "WEBRTC_NOT_AUTHENTICATED" });
    await settle();
    expect(anon.seen("call:")).toHaveLength(0);
  });

  it("survives hibernation: the evicted session and hub wake up and still deliver", async () => {
    const me = await seedUser("user");
    const s = await open({ token: me.token });
    const before = await sessionStub(s.sid).diagnostics();
    await evictDurableObject(sessionStub(s.sid));
    await evictDurableObject(hubStub(me.id)).catch(() => undefined);
    await emitThroughOutbox((db) => emit(db.http, { userId: me.id, event: "booking_updated" }));
    await s.waitFor("booking_updated");
    const after = await sessionStub(s.sid).diagnostics();
    expect(after.bootId).not.toBe(before.bootId);
    expect(after.session).toMatchObject({ transport: "websocket", userId: me.id });
    // The WebSocket itself stayed open across the eviction, and acks still work.
    expect(await s.emitWithAck("join", me.id)).toMatchObject({ status: "success" });
  });

  it("a server-side close is seen by the client, and a new connection rejoins", async () => {
    const me = await seedUser("user");
    const s = await open();
    await s.emitWithAck("join", me.id);
    await sessionStub(s.sid).terminate();
    await s.waitClosed();
    const again = await open();
    await again.emitWithAck("join", me.id);
    await emitThroughOutbox((db) => emit(db.http, { userId: me.id, event: "booking_unread_count_update" }));
    await again.waitFor("booking_unread_count_update");
    expect(await hubStub(me.id).counts()).toEqual({ authenticated: 0, anonymous: 1 });
  });
});

describe("development-only diagnostics", () => {
  it("a non-development worker serves neither /socket.io/__session (not even ?terminate=1) nor /__bench", async () => {
    const s = await open();
    for (const path of [
      `/socket.io/__session/${s.sid}`,
      `/socket.io/__session/${s.sid}?terminate=1`,
      "/__bench/bare",
      "/__bench/db-http",
    ]) {
      const res = await SELF.fetch(`http://127.0.0.1${path}`);
      expect(res.status, path).toBe(404);
      await res.text();
    }
    // The session was not terminated.
    expect((await sessionStub(s.sid).diagnostics()).session).toMatchObject({ connected: true });
  });
});
