/**
 * End-to-end with the apps' real client: socket.io-client 4.8.1 in Node against `wrangler dev`
 * (started here on its own port with a throwaway database), configured exactly like the apps
 * (docs/api-contract.md §4.1). Run: `node test/e2e/socket-client.ts` (E2E_PORT to move the port).
 *
 * 1. A booking socket without a token connects by polling, upgrades to WebSocket and joins.
 * 2. A provider accepts the booking over HTTP → the socket gets `booking_updated`.
 * 3. The socket idles until its Durable Object hibernates (new instance id) and still gets events.
 * 4. The server drops the connection → socket.io-client reconnects, rejoins, and gets events again.
 * 5. The full call story between two token-authenticated WebRTC sockets.
 */
import assert from "node:assert/strict";
import { io, type Socket } from "socket.io-client";
import { APP_OPTIONS } from "./contract-kit.ts";
import { type LocalWorker, seedBookings, startLocalWorker } from "./local-worker.ts";

const PORT = Number(process.env.E2E_PORT ?? 8797);
const log = (m: string) => console.log(`[e2e] ${m}`);

function next<T = unknown>(s: Socket, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), timeoutMs);
    s.once(event, (payload: T) => {
      clearTimeout(t);
      resolve(payload);
    });
  });
}

const engineOf = (s: Socket) => s.io.engine;
async function upgraded(s: Socket, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (engineOf(s)?.transport?.name !== "websocket") {
    if (Date.now() > deadline) throw new Error("no upgrade to websocket");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function diagnostics(base: string, sid: string, terminate = false) {
  const r = await fetch(`${base}/socket.io/__session/${sid}${terminate ? "?terminate=1" : ""}`);
  return (await r.json()) as { bootId: string; session: Record<string, unknown> | null; webSockets: number };
}

async function httpStatus(base: string, token: string, bookingId: string, status: string) {
  const r = await fetch(`${base}/api/providers/bookings/${bookingId}/status`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ status }),
  });
  const body = (await r.json()) as { status: string; message?: string };
  assert.equal(r.status, 200, `status change ${status}: ${JSON.stringify(body)}`);
}

let worker: LocalWorker | undefined;
const opened: Socket[] = [];
try {
  worker = await startLocalWorker(PORT, log);
  log(`wrangler dev ready at ${worker.base}`);

  if (!process.env.E2E_ONLY_CALLS) await bookingSocketStory(worker);
  await callStory(worker);
  console.log("\nE2E PASSED: socket.io-client 4.8.1 (polling → websocket) against wrangler dev");
  process.exitCode = 0;
} catch (err) {
  console.error("\nE2E FAILED:", err);
  process.exitCode = 1;
} finally {
  for (const s of opened) s.disconnect();
  await worker?.stop();
  process.exit(process.exitCode ?? 0);
}

async function bookingSocketStory(worker: LocalWorker) {
  const { base } = worker;
  const seeded = await seedBookings(worker.stack.databaseUrl, 2, "pending");
  const { customer, provider, bookingIds } = seeded;

  // 1. The booking socket (BookingContext): no auth, join on every connect.
  const t0 = performance.now();
  const bookingsSocket = io(base, APP_OPTIONS);
  opened.push(bookingsSocket);
  let joins = 0;
  const joined = new Promise<void>((resolve) =>
    bookingsSocket.on("connect", () => {
      bookingsSocket.emit("join", customer.id, () => {
        joins++;
        resolve();
      });
    }),
  );
  await joined;
  const connectJoinMs = performance.now() - t0;
  await upgraded(bookingsSocket);
  const sid1 = engineOf(bookingsSocket).id as string;
  log(
    `connected by polling, joined in ${connectJoinMs.toFixed(0)} ms, upgraded to ${engineOf(bookingsSocket).transport.name} (sid ${sid1.slice(0, 8)}…)`,
  );

  // 2. An HTTP booking change reaches it.
  let t = performance.now();
  const got = next<Record<string, unknown>>(bookingsSocket, "booking_updated");
  await httpStatus(base, provider.token, bookingIds[0]!, "accepted");
  const payload = await got;
  log(`booking_updated after the provider's HTTP accept in ${(performance.now() - t).toFixed(0)} ms; payload ${JSON.stringify(payload)}`);
  assert.deepEqual(payload, {}, "an unauthenticated socket gets a content-free trigger");

  // 3. Hibernation: idle (no held poll, next ping only at 25 s) until workerd evicts the instance.
  const before = await diagnostics(base, sid1);
  log(`idling 18 s so the session object hibernates (boot ${before.bootId.slice(0, 8)})…`);
  await new Promise((r) => setTimeout(r, 18_000));
  t = performance.now();
  const afterHibernation = next(bookingsSocket, "booking_updated");
  await httpStatus(base, provider.token, bookingIds[1]!, "accepted");
  await afterHibernation;
  const after = await diagnostics(base, sid1);
  log(
    `event after idling delivered in ${(performance.now() - t).toFixed(0)} ms; boot ${after.bootId.slice(0, 8)} (${after.bootId !== before.bootId ? "hibernated and woke" : "NOT hibernated"})`,
  );
  assert.notEqual(after.bootId, before.bootId, "the session object hibernated while idle");
  assert.equal(bookingsSocket.connected, true);

  // 4. Server-side drop → automatic reconnect + rejoin (the app's connect handler).
  const tDrop = performance.now();
  bookingsSocket.once("disconnect", (reason) =>
    log(`disconnected (${reason}) ${(performance.now() - tDrop).toFixed(0)} ms after the server drop`),
  );
  bookingsSocket.io.on("reconnect_attempt", (n) => log(`reconnect attempt ${n}`));
  bookingsSocket.io.on("reconnect_error", (e) => log(`reconnect error ${e.message}`));
  const reconnected = next(bookingsSocket, "connect", 60_000);
  await diagnostics(base, sid1, true);
  await reconnected;
  await new Promise((r) => setTimeout(r, 300));
  const sid2 = engineOf(bookingsSocket).id as string;
  assert.notEqual(sid2, sid1);
  assert.ok(joins >= 2 || bookingsSocket.connected);
  const afterReconnect = next(bookingsSocket, "booking_updated");
  await httpStatus(base, provider.token, bookingIds[0]!, "completed");
  await afterReconnect;
  log(`reconnected as a new session (sid ${sid2.slice(0, 8)}…), rejoined, event delivered`);
}

async function callStory(worker: LocalWorker) {
  const { base } = worker;
  // 5. Calls between the two WebRTC sockets (token in CONNECT auth, join 100 ms after connect).
  const [callSeed] = [await seedBookings(worker.stack.databaseUrl, 1, "accepted")];
  const bookingId = callSeed.bookingIds[0]!;
  const caller = io(base, { ...APP_OPTIONS, auth: { token: callSeed.customer.token } });
  const callee = io(base, { ...APP_OPTIONS, auth: { token: callSeed.provider.token } });
  opened.push(caller, callee);
  for (const s of [caller, callee]) {
    s.on("connect_error", (err) => log(`connect_error: ${err.message} ${JSON.stringify((err as { data?: unknown }).data)}`));
  }
  await Promise.all([next(caller, "connect"), next(callee, "connect")]);
  log("call sockets connected");
  caller.emit("join", callSeed.customer.id);
  callee.emit("join", callSeed.provider.id);
  await Promise.all([upgraded(caller), upgraded(callee)]);

  const init = await fetch(`${base}/api/calls/initiate`, {
    method: "POST",
    headers: { authorization: `Bearer ${callSeed.customer.token}`, "content-type": "application/json" },
    body: JSON.stringify({ bookingId, callerType: "user" }),
  }).then((r) => r.json() as Promise<{ status: string; data: Record<string, string> }>);
  assert.equal(init.status, "success");
  assert.ok(!JSON.stringify(init).includes(callSeed.provider.phone), "no phone numbers");
  const incoming = next<Record<string, string>>(callee, "call:incoming");
  const ack = await caller.timeout(10_000).emitWithAck("call:initiate", { bookingId, callerType: "user" });
  assert.deepEqual(ack, { status: "success" });
  assert.equal((await incoming).callerName, "E2E Customer");
  const accepted = next(caller, "call:accepted");
  callee.emit("call:accept", { bookingId, receiverId: callSeed.provider.id });
  await accepted;
  const offer = next<{ from: string }>(callee, "call:offer");
  caller.emit("call:offer", { bookingId, offer: { type: "offer", sdp: "v=0\r\n" }, to: callSeed.provider.id });
  assert.equal((await offer).from, callSeed.customer.id);
  const answer = next(caller, "call:answer");
  callee.emit("call:answer", { bookingId, answer: { type: "answer", sdp: "v=0\r\n" }, to: callSeed.provider.id });
  await answer;
  const iceA = next(caller, "call:ice-candidate");
  const iceB = next(callee, "call:ice-candidate");
  callee.emit("call:ice-candidate", {
    bookingId,
    candidate: { candidate: "candidate:1 1 udp 1 10.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 },
    to: callSeed.provider.id,
  });
  caller.emit("call:ice-candidate", {
    bookingId,
    candidate: { candidate: "candidate:2 1 udp 1 10.0.0.2 5001 typ host", sdpMid: "0", sdpMLineIndex: 0 },
    to: callSeed.provider.id,
  });
  await Promise.all([iceA, iceB]);
  const endedA = next<{ duration: number; endedBy: string }>(caller, "call:ended");
  const endedB = next<{ duration: number; endedBy: string }>(callee, "call:ended");
  caller.emit("call:end", { bookingId, userId: callSeed.customer.id });
  const [ea, eb] = await Promise.all([endedA, endedB]);
  assert.equal(ea.endedBy, callSeed.customer.id);
  assert.equal(eb.endedBy, callSeed.customer.id);
  assert.equal(typeof ea.duration, "number");
  log("call story: initiate ack success → incoming → accept → offer → answer → ICE both ways → end → both call:ended");
}
