import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { dispatchOutbox, emit } from "../../src/outbox/outbox";
import { realtimeGateway } from "../../src/realtime/sink";
import { randomIp, seedUser, testDb } from "../harness";
import { seedBooking } from "./fixtures";
import { settle, TestSocket } from "./socket-client";

/** Per pool (authenticated / token-less) and per user; src/realtime/user-hub.ts. */
const CAP = 32;

const sockets: TestSocket[] = [];
async function open(token?: string, upgrade = true) {
  const s = await TestSocket.connect({ token, upgrade });
  sockets.push(s);
  return s;
}
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

const hubStub = (userId: string) => env.USER_HUB.get(env.USER_HUB.idFromName(userId));
const sessionStub = (sid: string) => env.REALTIME_SESSION.get(env.REALTIME_SESSION.idFromString(sid));
const room = (bookingId: string) => env.CALL_ROOM.get(env.CALL_ROOM.idFromName(bookingId));

describe("the per-user socket cap", () => {
  it("token-less sockets that join a provider's id never close its call socket nor end its call", async () => {
    const { bookingId, customer, provider } = await seedBooking();
    const [cust, prov] = await Promise.all([open(customer.token), open(provider.token)]);
    await Promise.all([cust.emitWithAck("join", customer.id), prov.emitWithAck("join", provider.id)]);
    expect(await cust.emitWithAck("call:initiate", { bookingId, callerType: "user" })).toEqual({ status: "success" });
    await prov.waitFor("call:incoming");
    prov.emit("call:accept", { bookingId, receiverId: provider.id });
    await cust.waitFor("call:accepted");

    // Anyone who read the provider's id in a listing opens token-less sockets and joins it.
    const intruders: TestSocket[] = [];
    for (let i = 0; i < CAP + 2; i++) {
      const s = await open(undefined, false);
      // The ack comes after the hub registered it (and closed whatever it evicted).
      expect(await s.emitWithAck("join", provider.id)).toMatchObject({ status: "success" });
      intruders.push(s);
    }

    expect(await hubStub(provider.id).counts()).toEqual({ authenticated: 1, anonymous: CAP });
    expect((await sessionStub(prov.sid).diagnostics()).session).toMatchObject({ connected: true, userId: provider.id });
    expect(await room(bookingId).snapshot()).toMatchObject({ status: "active" });
    await settle();
    expect(prov.closed).toBe(false);
    expect(cust.seen("call:ended")).toHaveLength(0);
    // Token-less sockets evict only among themselves: the two oldest intruders are gone.
    expect((await sessionStub(intruders[0]!.sid).diagnostics()).session).toBeNull();
    expect((await sessionStub(intruders[1]!.sid).diagnostics()).session).toBeNull();
    expect((await sessionStub(intruders[2]!.sid).diagnostics()).session).toMatchObject({ connected: true });
  });

  it("closes the sockets it evicts instead of leaving them connected but deaf", async () => {
    const me = await seedUser("user");
    const oldest = await open();
    await oldest.emitWithAck("join", me.id);
    const newest = await open();
    await newest.emitWithAck("join", me.id);
    // Fill the token-less pool to the cap with registrations of sessions that are not open (cheap
    // stand-ins); the next registration evicts the oldest, i.e. our first socket.
    const hub = hubStub(me.id);
    for (let i = 0; i < CAP - 1; i++) await hub.register(me.id, env.REALTIME_SESSION.newUniqueId().toString(), false);
    await oldest.waitClosed();
    expect(await hub.counts()).toEqual({ authenticated: 0, anonymous: CAP });
    // The sockets still registered keep receiving events.
    const db = testDb();
    try {
      await emit(db.http, { userId: me.id, event: "booking_updated" });
      await dispatchOutbox(env, db, realtimeGateway);
    } finally {
      await db.close();
    }
    expect(await newest.waitFor("booking_updated")).toEqual({});
  });

  it("authenticated sockets have their own cap: the oldest of them is closed, token-less ones stay", async () => {
    const me = await seedUser("user");
    const oldest = await open(me.token);
    const anon = await open();
    await anon.emitWithAck("join", me.id);
    const hub = hubStub(me.id);
    for (let i = 0; i < CAP; i++) await hub.register(me.id, env.REALTIME_SESSION.newUniqueId().toString(), true);
    await oldest.waitClosed();
    expect(await hub.counts()).toEqual({ authenticated: CAP, anonymous: 1 });
    expect((await sessionStub(anon.sid).diagnostics()).session).toMatchObject({ connected: true });
  });
});

describe("hub storage", () => {
  it("a hub created before sockets remembered their session (or versions) upgrades its table and keeps its sockets", async () => {
    const me = await seedUser("user");
    const hub = hubStub(me.id);
    const old = env.REALTIME_SESSION.newUniqueId().toString();
    await runInDurableObject(hub, (_i, state) => {
      state.storage.sql.exec(
        "DROP TABLE sockets; DROP TABLE _sql_schema_migrations;" +
          "CREATE TABLE sockets (sid TEXT PRIMARY KEY, authenticated INTEGER NOT NULL, registered_at INTEGER NOT NULL)",
      );
      state.storage.sql.exec("INSERT INTO sockets VALUES (?, 0, ?)", old, Date.now());
    });
    await evictDurableObject(hub);
    const s = await open(me.token);
    expect(s.connectError).toBeUndefined();
    expect(await hub.counts()).toEqual({ authenticated: 1, anonymous: 1 });
    expect(await hub.closeSessions([me.sessionId])).toBe(1);
    await s.waitClosed();
  });

  it("remembers revoked sessions only for a while (its alarm forgets them)", async () => {
    const me = await seedUser("user");
    const hub = hubStub(me.id);
    await hub.closeSessions([me.sessionId, crypto.randomUUID()]);
    const remembered = () =>
      runInDurableObject(hub, (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM revoked_sessions").one().n);
    expect(await remembered()).toBe(2);
    expect(await runDurableObjectAlarm(hub)).toBe(true); // early: nothing is old enough yet
    expect(await remembered()).toBe(2);
    await runInDurableObject(hub, (_i, state) => {
      state.storage.sql.exec("UPDATE revoked_sessions SET revoked_at = revoked_at - 11 * 60 * 1000");
    });
    expect(await runDurableObjectAlarm(hub)).toBe(true);
    expect(await remembered()).toBe(0);
  });
});

describe("Engine.IO handshake rate limit (per client address)", () => {
  async function handshake(ip: string, transport: "polling" | "websocket" = "polling") {
    return SELF.fetch(`http://127.0.0.1/socket.io/?EIO=4&transport=${transport}`, {
      headers: { "cf-connecting-ip": ip, ...(transport === "websocket" ? { upgrade: "websocket" } : {}) },
    });
  }

  it("refuses a flood of handshakes from one address with an Engine.IO error the client handles (429)", async () => {
    const ip = randomIp();
    let accepted = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 300 && !refused; i++) {
      const res = await handshake(ip);
      if (res.status === 200) {
        accepted++;
        await res.text();
      } else refused = res;
    }
    expect(refused, "300 handshakes from one address were all accepted").toBeDefined();
    expect(accepted, "the apps open four sockets per device and reconnect often").toBeGreaterThanOrEqual(30);
    expect(refused!.status).toBe(429);
    expect(refused!.headers.get("content-type")).toContain("application/json");
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await refused!.json()).toEqual({ code: 3, message: expect.stringMatching(/too many/i) });
    // The WebSocket-only handshake counts against the same budget.
    const ws = await handshake(ip, "websocket");
    expect(ws.status).toBe(429);
    expect(ws.webSocket).toBeNull();
    // Another address is not affected.
    const other = await handshake(randomIp());
    expect(other.status).toBe(200);
    await other.text();
  });
});
