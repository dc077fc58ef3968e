import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { dispatchOutbox, emit } from "../../src/notifications/outbox";
import "../../src/realtime/sink";
import { MAX_SOCKETS_PER_USER } from "../../src/realtime/user-hub";
import { seedUser, testDb } from "../harness";
import { TestSocket } from "./socket-client";

const sockets: TestSocket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

const hubStub = (userId: string) => env.USER_HUB.get(env.USER_HUB.idFromName(userId));

describe("the per-user socket cap", () => {
  it("closes the sockets it evicts instead of leaving them connected but deaf", async () => {
    const me = await seedUser("user");
    const oldest = await TestSocket.connect({ token: me.token });
    sockets.push(oldest);
    const newest = await TestSocket.connect();
    sockets.push(newest);
    await newest.emitWithAck("join", me.id);
    // Fill the hub up to the cap with registrations of sessions that are not open (cheap stand-ins);
    // the next registration evicts the oldest, i.e. our first socket.
    const hub = hubStub(me.id);
    for (let i = 0; i < MAX_SOCKETS_PER_USER - 1; i++) await hub.register(me.id, env.REALTIME_SESSION.newUniqueId().toString(), false);
    await oldest.waitClosed();
    expect(await hub.counts()).toEqual({ authenticated: 0, anonymous: MAX_SOCKETS_PER_USER });
    // The sockets still registered keep receiving events.
    const db = testDb();
    try {
      await emit(db.http, { userId: me.id, event: "booking_updated" });
      await dispatchOutbox(env, db);
    } finally {
      await db.close();
    }
    expect(await newest.waitFor("booking_updated")).toEqual({});
  });
});
