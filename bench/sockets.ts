/**
 * Socket benchmark with the apps' client (socket.io-client 4.8.1, polling then WebSocket), shaped
 * like real traffic: 100 users, each with 1–3 sockets (socket 1 sends its access token like the
 * apps' WebRTC socket; the others only `join(userId)` like the booking and notification sockets).
 * - connect + join: 100 users' first sockets at once, then their other sockets at once;
 * - delivery: 100 providers change their booking at once (HTTP) → `booking_updated` on every
 *   socket of the customer (latency to the last of them; lost events counted);
 * - after idling past hibernation: the same again (booking completed), plus workerd RSS.
 *
 * `node bench/sockets.ts` starts its own stack and `wrangler dev`; `npm run bench` calls
 * `runSocketBench` against its running worker. Loopback only; bounded in time.
 */
import { execSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { io, type Socket } from "socket.io-client";
import { type Party, seedBookings, startLocalWorker } from "../test/e2e/local-worker.ts";

export type SocketBenchRow = { name: string; n: number; p50: number; p99: number; lost: number; note: string };

const APP = { transports: ["polling", "websocket"] as ("polling" | "websocket")[], reconnection: false, forceNew: true, timeout: 30_000 };
const pct = (xs: number[], p: number) => {
  if (!xs.length) return -1;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

function once<T>(s: Socket, event: string, ms = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    s.once(event, (v: T) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

/** RSS (MiB) of the workerd processes in our wrangler's process group (every Durable Object runs there locally). */
export function workerdRssMiB(pgid: number): number {
  try {
    const pids = execSync(`pgrep -g ${pgid} workerd || true`).toString().trim().split(/\s+/).filter(Boolean);
    let kb = 0;
    for (const pid of pids) kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return -1;
  }
}

type BenchUser = { customer: Party; provider: Party; bookingId: string; sockets: Socket[] };

const USERS = Number(process.env.BENCH_SOCKET_USERS ?? 100);
const IDLE_MS = Number(process.env.BENCH_SOCKET_IDLE_MS ?? 20_000);

async function connectAndJoin(base: string, user: BenchUser, withToken: boolean): Promise<number> {
  const t0 = performance.now();
  const s = io(base, withToken ? { ...APP, auth: { token: user.customer.token } } : APP);
  user.sockets.push(s);
  await once(s, "connect");
  const ack = (await s.timeout(30_000).emitWithAck("join", user.customer.id)) as { status?: string };
  if (ack?.status !== "success") throw new Error(`join refused: ${JSON.stringify(ack)}`);
  return performance.now() - t0;
}

/** The session object's boot id (development diagnostics route): it changes when the object was evicted. */
async function sessionBootId(base: string, sid: string | undefined): Promise<string> {
  const r = await fetch(`${base}/socket.io/__session/${sid}`);
  return r.ok ? ((await r.json()) as { bootId: string }).bootId : "?";
}

/** Every provider changes its booking at once; per user, the time until all of the customer's sockets saw it. */
async function deliveryRound(base: string, users: BenchUser[], status: "accepted" | "completed") {
  const latencies: number[] = [];
  let lost = 0;
  let httpErrors = 0;
  await Promise.all(
    users.map(async (u) => {
      const got = u.sockets.map((s) =>
        once(s, "booking_updated", 20_000).then(
          () => true,
          () => false,
        ),
      );
      const t0 = performance.now();
      const r = await fetch(`${base}/api/providers/bookings/${u.bookingId}/status`, {
        method: "PUT",
        headers: { authorization: `Bearer ${u.provider.token}`, "content-type": "application/json" },
        body: JSON.stringify({ status }),
      });
      await r.arrayBuffer();
      if (r.status !== 200) httpErrors++;
      const seen = await Promise.all(got);
      lost += seen.filter((x) => !x).length;
      if (seen.every(Boolean)) latencies.push(performance.now() - t0);
    }),
  );
  return { latencies, lost, httpErrors };
}

export async function runSocketBench(opts: { base: string; databaseUrl: string; jwtSecret: string; pgid: number }) {
  const { base } = opts;
  const rows: SocketBenchRow[] = [];
  const users: BenchUser[] = [];
  for (let k = 0; k < USERS; k += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, USERS - k) }, () => seedBookings(opts.databaseUrl, 1, "pending", opts.jwtSecret)),
    );
    for (const b of batch) users.push({ customer: b.customer, provider: b.provider, bookingId: b.bookingIds[0]!, sockets: [] });
  }
  try {
    const rssBefore = workerdRssMiB(opts.pgid);
    // 1. Connect + join: every user's first socket at once, then everyone's other sockets at once.
    const first = await Promise.all(users.map((u) => connectAndJoin(base, u, true)));
    const more = await Promise.all(users.flatMap((u, k) => Array.from({ length: k % 3 }, () => connectAndJoin(base, u, false))));
    const sockets = users.flatMap((u) => u.sockets);
    // The apps upgrade at once; wait until every socket rides its WebSocket.
    const upgradeBy = Date.now() + 30_000;
    while (sockets.some((s) => s.io.engine?.transport?.name !== "websocket") && Date.now() < upgradeBy)
      await new Promise((r) => setTimeout(r, 50));
    const rssConnected = workerdRssMiB(opts.pgid);
    rows.push({
      name: `connect + join, ${users.length} users at once (then their ${more.length} other sockets at once)`,
      n: first.length + more.length,
      p50: pct([...first, ...more], 50),
      p99: pct([...first, ...more], 99),
      lost: 0,
      note: `ms; first sockets p50 ${pct(first, 50)} / p99 ${pct(first, 99)}; polling handshake, CONNECT (token on socket 1), join ack`,
    });

    // 2. HTTP change → event on every socket of the customer, 100 changes at once.
    const live = await deliveryRound(base, users, "accepted");
    rows.push({
      name: `${users.length} concurrent booking changes → booking_updated on ${sockets.length} sockets`,
      n: live.latencies.length,
      p50: pct(live.latencies, 50),
      p99: pct(live.latencies, 99),
      lost: live.lost + live.httpErrors,
      note: `ms from the PUT to the customer's last socket (HTTP → outbox → UserHub → sessions); ${live.lost} events lost, ${live.httpErrors} HTTP errors`,
    });

    // 3. Idle past local hibernation (before the 25 s ping), then the same fan-out again. A sample
    // of sessions says whether they really were evicted: their bootId changes on every constructor run.
    const sample = sockets.slice(0, 20).map((s) => s.io.engine.id);
    const bootIds = await Promise.all(sample.map((sid) => sessionBootId(base, sid)));
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const rssIdle = workerdRssMiB(opts.pgid);
    const after = await Promise.all(sample.map((sid) => sessionBootId(base, sid)));
    const evicted = after.filter((b, k) => b !== bootIds[k]).length;
    const woken = await deliveryRound(base, users, "completed");
    rows.push({
      name: `after ${Math.round(IDLE_MS / 1000)} s idle: ${users.length} concurrent changes → ${sockets.length} sockets`,
      n: woken.latencies.length,
      p50: pct(woken.latencies, 50),
      p99: pct(woken.latencies, 99),
      lost: woken.lost + woken.httpErrors,
      note: `ms; ${woken.lost} events lost, ${woken.httpErrors} HTTP errors; workerd RSS ${rssBefore} MiB → ${rssConnected} connected → ${rssIdle} after idling; ${evicted}/${sample.length} sampled sessions had been evicted (hibernated) and woke for the event`,
    });
  } finally {
    for (const u of users) for (const s of u.sockets) s.disconnect();
  }
  return rows;
}

export function socketRowsMarkdown(rows: SocketBenchRow[]): string {
  return [
    "| socket scenario | n | p50 ms | p99 ms | lost | note |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.name} | ${r.n} | ${r.p50} | ${r.p99} | ${r.lost} | ${r.note} |`),
  ].join("\n");
}

// Standalone: `node bench/sockets.ts`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.BENCH_SOCKET_PORT ?? 8798);
  const worker = await startLocalWorker(port, (m) => console.log(`[bench:sockets] ${m}`));
  try {
    const { JWT_SECRET } = await import("../test/e2e/local-worker.ts");
    const rows = await runSocketBench({
      base: worker.base,
      databaseUrl: worker.stack.databaseUrl,
      jwtSecret: JWT_SECRET,
      pgid: worker.pgid,
    });
    const md = socketRowsMarkdown(rows);
    console.log(`\n${md}\n`);
    writeFileSync("bench/results/sockets.md", `Socket benchmark ${new Date().toISOString()} (wrangler dev, loopback)\n\n${md}\n`);
    process.exitCode = rows.some((r) => r.lost > 0) ? 1 : 0;
  } finally {
    await worker.stop();
    process.exit();
  }
}
