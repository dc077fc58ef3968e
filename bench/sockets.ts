/**
 * Socket benchmarks with the apps' client (socket.io-client 4.8.1, polling then WebSocket):
 * - connect + join: handshake, CONNECT, `join` ack (what every app screen pays on mount);
 * - delivery: a provider's HTTP status change → `booking_updated` on the customer's socket (p50/p99);
 * - idle sockets: N WebSockets of one user registered in one UserHub; workerd RSS before, after
 *   connecting, and after idling past hibernation, plus one fan-out to all of them.
 *
 * `node bench/sockets.ts` starts its own stack and `wrangler dev`; `npm run bench` calls
 * `runSocketBench` against its running worker. Loopback only; bounded in time.
 */
import { execSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { io, type Socket } from "socket.io-client";
import { seedBookings, startLocalWorker } from "../test/e2e/local-worker.ts";

export type SocketBenchRow = { name: string; n: number; p50: number; p99: number; note: string };

const APP = { transports: ["polling", "websocket"] as ("polling" | "websocket")[], reconnection: false, forceNew: true, timeout: 20000 };
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

function once<T>(s: Socket, event: string, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    s.once(event, (v: T) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

/** RSS (MiB) of the workerd processes in our wrangler's process group (every Durable Object runs there locally). */
function workerdRssMiB(pgid: number): number {
  try {
    const pids = execSync(`pgrep -g ${pgid} workerd || true`).toString().trim().split(/\s+/).filter(Boolean);
    let kb = 0;
    for (const pid of pids) kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return -1;
  }
}

export async function runSocketBench(opts: { base: string; databaseUrl: string; jwtSecret: string; pgid: number; idleSockets?: number }) {
  const { base } = opts;
  const rows: SocketBenchRow[] = [];

  // 1. connect + join, sequential (one app screen at a time).
  const N1 = 40;
  const { customer, provider, bookingIds } = await seedBookings(opts.databaseUrl, 61, "pending", opts.jwtSecret);
  const fanoutBooking = bookingIds.pop()!;
  const joinTimes: number[] = [];
  for (let i = 0; i < N1; i++) {
    const t0 = performance.now();
    const s = io(base, APP);
    await once(s, "connect");
    await s.timeout(10_000).emitWithAck("join", customer.id);
    joinTimes.push(performance.now() - t0);
    s.disconnect();
  }
  rows.push({
    name: "socket connect + join (polling handshake, CONNECT, join ack)",
    n: N1,
    p50: pct(joinTimes, 50),
    p99: pct(joinTimes, 99),
    note: "ms",
  });

  // 2. HTTP write → socket event.
  const listener = io(base, APP);
  await once(listener, "connect");
  await listener.timeout(10_000).emitWithAck("join", customer.id);
  while (listener.io.engine.transport.name !== "websocket") await new Promise((r) => setTimeout(r, 20));
  const delivery: number[] = [];
  for (const id of bookingIds) {
    const got = once(listener, "booking_updated");
    const t0 = performance.now();
    const r = await fetch(`${base}/api/providers/bookings/${id}/status`, {
      method: "PUT",
      headers: { authorization: `Bearer ${provider.token}`, "content-type": "application/json" },
      body: JSON.stringify({ status: "accepted" }),
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`status change failed: ${r.status}`);
    await got;
    delivery.push(performance.now() - t0);
  }
  listener.disconnect();
  rows.push({
    name: "HTTP booking change → booking_updated on the socket",
    n: delivery.length,
    p50: pct(delivery, 50),
    p99: pct(delivery, 99),
    note: "ms, includes the HTTP request",
  });

  // 3. Idle sockets of one user (one UserHub).
  const N3 = opts.idleSockets ?? Number(process.env.BENCH_IDLE_SOCKETS ?? 100);
  const rssBefore = workerdRssMiB(opts.pgid);
  const idle: Socket[] = [];
  for (let i = 0; i < N3; i += 25) {
    const batch = Array.from({ length: Math.min(25, N3 - i) }, () => io(base, { ...APP, transports: ["websocket"] as "websocket"[] }));
    await Promise.all(batch.map((s) => once(s, "connect")));
    await Promise.all(batch.map((s) => s.timeout(10_000).emitWithAck("join", customer.id)));
    idle.push(...batch);
  }
  const rssConnected = workerdRssMiB(opts.pgid);
  await new Promise((r) => setTimeout(r, 20_000)); // past local hibernation (~10-15 s), before the 25 s ping
  const rssIdle = workerdRssMiB(opts.pgid);
  // One fan-out to every socket: a booking change must reach all N.
  let received = 0;
  const all = new Promise<void>((resolve) => {
    for (const s of idle)
      s.once("booking_updated", () => {
        if (++received === N3) resolve();
      });
  });
  const t0 = performance.now();
  await fetch(`${base}/api/providers/bookings/${fanoutBooking}/status`, {
    method: "PUT",
    headers: { authorization: `Bearer ${provider.token}`, "content-type": "application/json" },
    body: JSON.stringify({ status: "accepted" }),
  }).then((r) => r.arrayBuffer());
  await Promise.race([all, new Promise((r) => setTimeout(r, 30_000))]);
  const fanout = performance.now() - t0;
  for (const s of idle) s.disconnect();
  rows.push({
    name: `${N3} idle WebSockets of one user (one UserHub)`,
    n: N3,
    p50: Math.round(fanout),
    p99: Math.round(fanout),
    note: `fan-out to all: ${received}/${N3} in ${Math.round(fanout)} ms (HTTP change → outbox → hub → ${N3} sessions); workerd RSS ${rssBefore} → ${rssConnected} MiB connected → ${rssIdle} MiB after 20 s idle`,
  });
  return rows;
}

export function socketRowsMarkdown(rows: SocketBenchRow[]): string {
  return [
    "| socket scenario | n | p50 | p99 | note |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.name} | ${r.n} | ${r.p50} | ${r.p99} | ${r.note} |`),
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
  } finally {
    await worker.stop();
    process.exit(0);
  }
}
