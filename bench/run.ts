/**
 * `npm run bench`: starts the stack (throwaway database on embedded PostgreSQL or DATABASE_URL, the
 * Neon front door, Paytm sandbox, Expo mock) and `wrangler dev`, then drives each scenario of
 * bench/scenarios.ts with autocannon at 100 concurrent connections, and the socket scenarios of
 * bench/sockets.ts with socket.io-client. It prints requests/s, p50, p99 and errors per endpoint next
 * to a bare Hono route on the same worker (the local ceiling), and database round trips per request
 * (the worker's X-Db-Round-Trips header: counted by the driver, not guessed).
 *
 * Errors = connection errors + timeouts + every non-2xx that the scenario did not provoke on purpose;
 * any error, or any lost socket event, makes the run exit 1. Results: bench/results/latest.{md,json}.
 *
 *   npm run bench                                  # full run, BENCH_DURATION=8 s per timed scenario
 *   BENCH_DURATION=3 BENCH_ONLY="bare,booking" npm run bench   # quick: scenarios whose name contains a word
 *   BENCH_SOCKETS=0 npm run bench                   # skip the socket scenarios
 *   BENCH_VERBOSE=1 npm run bench                   # also show the worker's own log lines (wrangler stdout)
 *   BENCH_ONLY=latency npm run bench                # only the latency model (bench/latency.ts: its own knobs)
 *
 * Loopback only; every scenario is bounded in time or request count.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import WebSocket from "ws";
import { startStack } from "../scripts/stack.ts";
import { CORE_CONFIG, EDGE_CONFIG, workerPair } from "../scripts/wrangler-pair.ts";
import { type BenchCtx, openDb } from "./fixtures.ts";
import { type LatencyRow, latencyWanted, runLatencyBench } from "./latency.ts";
import { type Scenario, scenarios, VUS } from "./scenarios.ts";
import { runSocketBench, type SocketBenchRow, socketRowsMarkdown, workerdRssMiB } from "./sockets.ts";

const startedAt = Date.now();
const PORT = Number(process.env.BENCH_PORT ?? 8788);
const BASE = `http://127.0.0.1:${PORT}`;
const DURATION = Number(process.env.BENCH_DURATION ?? process.env.BENCH_SECONDS ?? 8);
const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim().toLowerCase());
const withSockets = process.env.BENCH_SOCKETS !== "0";
/** Memory soak: rounds of the same authenticated read traffic, workerd RSS sampled after each. */
const SOAK_ROUNDS = Number(process.env.BENCH_SOAK_ROUNDS ?? 5);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 10);
const PAYTM = { mid: "BXBENCH0000000000001", key: "benchkey01234567" };
const JWT_SECRET = "bench-only-jwt-secret-0123456789abcdef0123";
const log = (m: string) => console.log(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${m}`);

// Whatever happens, never leave wrangler or the database behind.
let cleanup: () => Promise<void> = async () => {};
for (const sig of ["SIGINT", "SIGTERM", "uncaughtException", "unhandledRejection"] as const) {
  process.on(sig, (err) => {
    if (err instanceof Error) console.error(err);
    void cleanup().finally(() => process.exit(1));
  });
}

const stack = await startStack({
  persistent: false,
  database: `bx_bench_${Date.now().toString(36)}`,
  fresh: true,
  demo: true,
  paytm: { ...PAYTM, webhookUrl: `${BASE}/api/payments/paytm-webhook`, refundWebhookUrl: `${BASE}/api/payments/paytm-refund-webhook` },
  log,
});

const vars: Record<string, string> = {
  ENVIRONMENT: "development",
  LOG_LEVEL: "warn",
  DATABASE_URL: stack.databaseUrl,
  NEON_LOCAL_PROXY: stack.neonLocalProxy,
  JWT_SECRET,
  PASSWORD_SCRYPT_LOG_N: "14",
  PAYTM_HOST: stack.paytmUrl,
  PAYTM_MID: PAYTM.mid,
  PAYTM_MERCHANT_KEY: PAYTM.key,
  PAYTM_WEBSITE: "WEBSTAGING",
  EXPO_PUSH_URL: stack.expoPushUrl,
  PUBLIC_BASE_URL: BASE,
  SMS_DRIVER: "console",
};
// wrangler dev reloads a worker whenever a file its bundler read changes (src, and package.json or
// tsconfig.json anywhere above node_modules), and a reload answers every in-flight request 503. Others
// edit this tree while the bench runs, so both workers are bundled once, here (as `npm run build` does),
// and served unbundled from a directory of their own: what is measured is the tree as of this moment.
// One `wrangler dev` runs the pair as production does: the edge on the port, the core behind it.
const snapshot = mkdtempSync(join(os.tmpdir(), "bx-bench-"));
const wranglerBin = join(process.cwd(), "node_modules", ".bin", "wrangler");
const bundles = { core: join(snapshot, "dist", "core", "index.js"), edge: join(snapshot, "dist", "edge", "index.js") };
for (const [config, out] of [
  [CORE_CONFIG, "core"],
  [EDGE_CONFIG, "edge"],
] as const) {
  execFileSync(wranglerBin, ["deploy", "--dry-run", "-c", config, "--outdir", join(snapshot, "dist", out)], {
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
}
let pair = workerPair({ vars, bundles });
/** wrangler dev with the pair, its variables being `vars` plus `extra` (the latency model restarts it with other variables). */
const startWorker = (extra: Record<string, string> = {}): ChildProcess => {
  pair.remove();
  pair = workerPair({ vars: { ...vars, ...extra }, bundles });
  const w = spawn(
    wranglerBin,
    [
      "dev",
      ...pair.configArgs,
      "--ip",
      "127.0.0.1",
      "--port",
      String(PORT),
      "--inspector-port",
      String(PORT + 1000),
      "--show-interactive-dev-session=false",
      // Durable Object storage of our own: other `wrangler dev` runs in this checkout share .wrangler/state (SQLITE_BUSY).
      "--persist-to",
      join(snapshot, ".state"),
      "--log-level",
      "warn",
    ],
    {
      cwd: snapshot,
      stdio: ["ignore", process.env.BENCH_VERBOSE === "1" ? "inherit" : "ignore", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      detached: true,
    },
  );
  w.stderr?.on("data", onWranglerStderr);
  return w;
};
// wrangler's warnings pass through, except known, expected ones that would flood the output: the
// Pool's idle-client "Network connection lost" when a request's WebSocket closes, the cron note, and
// local workerd's tracing complaining when a waitUntil/queue context ends before its tail session
// ("trace-stream … canceled", with its stack line, and "IoContext dropped queued cross-context actions").
const NOISE =
  /db idle client error|Scheduled Workers are not automatically triggered|cdn-cgi\/local\/scheduled|cron-triggers-locally|trace-stream\.c\+\+|^\s*stack: \S*workerd@|IoContext dropped queued cross-context actions/;
let noise = 0;
let partial = "";
function onWranglerStderr(chunk: Buffer) {
  const lines = (partial + chunk.toString()).split("\n");
  partial = lines.pop() ?? "";
  for (const line of lines) {
    const plain = line.replaceAll(String.fromCharCode(27), "").replace(/\[[0-9;]*m/g, "");
    if (NOISE.test(plain)) noise++;
    else if (plain.trim() && !/To manually trigger/.test(plain)) process.stderr.write(`[wrangler] ${plain}\n`);
  }
}
let wrangler = startWorker();
let workerExtra: Record<string, string> = {};

/** Our own process group only (wrangler and the workerd it started). */
async function stopWorker(w: ChildProcess) {
  try {
    if (w.pid) process.kill(-w.pid, "SIGINT");
  } catch {}
  await new Promise((r) => setTimeout(r, 500));
  try {
    if (w.pid) process.kill(-w.pid, "SIGKILL");
  } catch {}
}

async function useWorkerVars(extra: Record<string, string>) {
  if (JSON.stringify(extra) === JSON.stringify(workerExtra)) return;
  log(`restarting the worker with ${JSON.stringify(extra)}`);
  await stopWorker(wrangler);
  wrangler = startWorker(extra);
  workerExtra = extra;
  await waitReady();
}

let db: BenchCtx["db"] | undefined;
cleanup = async () => {
  await db?.end().catch(() => {});
  await stopWorker(wrangler);
  await stack.stop();
  pair.remove();
  rmSync(snapshot, { recursive: true, force: true });
};

async function waitReady() {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${BASE}/health/ready`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("wrangler dev did not become ready in 90 s");
}

/**
 * The worker isolate's JS heap after a full GC, through wrangler's inspector (Chrome DevTools
 * protocol): `HeapProfiler.collectGarbage`, then `Runtime.getHeapUsage`. Unlike workerd's RSS (the
 * native allocator keeps what it took), this is what a leak in our code would grow. MiB, or -1.
 */
async function heapAfterGcMiB(): Promise<number> {
  return Promise.race([heapProbe(), new Promise<number>((res) => setTimeout(() => res(-1), 60_000))]);
}

async function heapProbe(): Promise<number> {
  try {
    const targets = (await (await fetch(`http://127.0.0.1:${PORT + 1000}/json`)).json()) as { webSocketDebuggerUrl: string }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) return -1;
    const ws = new WebSocket(url);
    await new Promise((res, rej) => {
      ws.once("open", res);
      ws.once("error", rej);
    });
    let id = 0;
    const call = (method: string) =>
      new Promise<Record<string, unknown>>((res) => {
        const mine = ++id;
        const onMessage = (data: WebSocket.RawData) => {
          const msg = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
          if (msg.id !== mine) return;
          ws.off("message", onMessage);
          res(msg.result ?? {});
        };
        ws.on("message", onMessage);
        ws.send(JSON.stringify({ id: mine, method, params: {} }));
      });
    if (process.env.BENCH_VERBOSE === "1") {
      console.error("heap probe connected", url);
      ws.on("message", (d) => console.error("inspector:", String(d).slice(0, 200)));
    }
    // Local workerd serves inspector commands when the isolate runs: a light trickle of requests pumps them.
    let pumping = true;
    const pump = (async () => {
      while (pumping) {
        await fetch(`${BASE}/__bench/bare`)
          .then((r) => r.arrayBuffer())
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const gcStart = Date.now();
    await call("HeapProfiler.collectGarbage");
    if (process.env.BENCH_VERBOSE === "1") console.error(`heap probe: GC took ${Date.now() - gcStart} ms`);
    const usage = await call("Runtime.getHeapUsage");
    pumping = false;
    await pump;
    ws.close();
    return Math.round((Number(usage.usedSize) / 2 ** 20) * 10) / 10;
  } catch (err) {
    if (process.env.BENCH_VERBOSE === "1") console.error("heap probe failed", err);
    return -1;
  }
}

type Row = {
  name: string;
  connections: number;
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Connection errors + timeouts + non-2xx that were not deliberate. */
  errors: number;
  deliberate4xx: number;
  statuses: Record<string, number>;
  roundTrips: string;
  note?: string;
  samples?: string[];
};

async function roundTripsOf(s: Scenario, ctx: BenchCtx, next: () => number): Promise<string> {
  let header = "-";
  for (let k = 0; k < (s.warmProbe ? 2 : 1); k++) {
    const req = s.build(ctx, next());
    const r = await fetch(`${BASE}${req.path}`, { method: req.method ?? "GET", headers: req.headers, body: req.body });
    await r.arrayBuffer();
    if (r.status >= 400 && !s.deliberate?.includes(r.status)) throw new Error(`${s.name}: probe answered ${r.status}`);
    header = r.headers.get("x-db-round-trips") ?? "-";
  }
  return header;
}

async function run(s: Scenario, ctx: BenchCtx): Promise<Row> {
  const connections = s.connections ?? VUS;
  let i = 0;
  const next = () => i++;
  // The mix scenario spans endpoints: its probe would name one of them only.
  const roundTrips = s.name.includes("mix") ? "mix" : await roundTripsOf(s, ctx, next);
  const first = s.build(ctx, next());
  const amount = s.amount?.(ctx);
  const samples: string[] = [];
  const t0 = Date.now();
  const result = await autocannon({
    url: BASE,
    connections,
    ...(amount ? { amount } : { duration: s.duration ?? DURATION }),
    timeout: s.timeout ?? 30,
    requests: [
      {
        method: (first.method ?? "GET") as "GET",
        path: first.path,
        headers: first.headers ?? {},
        body: first.body,
        // Each request may differ (distinct users, slots, bookings, orders): built per request.
        // A few bodies of unexpected answers, so a failing run says why (the envelope's errorCode and message).
        onResponse: (status: number, body: string) => {
          if (samples.length < 3 && status >= 300 && !s.deliberate?.includes(status)) samples.push(`${status} ${body.slice(0, 300)}`);
        },
        setupRequest: (r: Record<string, unknown>) => {
          const req = s.build(ctx, next());
          return { ...r, method: req.method ?? "GET", path: req.path, headers: req.headers ?? {}, body: req.body };
        },
      },
    ],
  });
  const seconds = (Date.now() - t0) / 1000;
  const statuses: Record<string, number> = {};
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = (v as { count: number }).count;
  const deliberate = Object.entries(statuses)
    .filter(([code]) => s.deliberate?.includes(Number(code)))
    .reduce((n, [, c]) => n + c, 0);
  const unexpected = Object.entries(statuses)
    .filter(([code]) => Number(code) >= 300 && !s.deliberate?.includes(Number(code)))
    .reduce((n, [, c]) => n + c, 0);
  return {
    name: s.name,
    connections,
    requests: result.requests.total,
    seconds: Math.round(seconds * 10) / 10,
    rps: Math.round(amount ? result.requests.total / seconds : result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + unexpected,
    deliberate4xx: deliberate,
    statuses,
    roundTrips,
    note: s.note,
    ...(samples.length ? { samples } : {}),
  };
}

const machine = `${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.platform()} ${os.release()}, node ${process.version}`;
let failed = false;
try {
  await waitReady();
  log(`wrangler dev ready on ${BASE}`);
  // Warm up the isolate and the front door's connections.
  for (let k = 0; k < 20; k++) await fetch(`${BASE}/__bench/bare`).then((r) => r.arrayBuffer());
  db = await openDb(stack.databaseUrl);
  const ctx: BenchCtx = { base: BASE, databaseUrl: stack.databaseUrl, paytmUrl: stack.paytmUrl, jwtSecret: JWT_SECRET, db, cache: {} };
  const rows: Row[] = [];
  for (const s of scenarios.filter((x) => !only || only.some((w) => x.name.toLowerCase().includes(w)))) {
    if (s.setup) await s.setup(ctx);
    const row = await run(s, ctx);
    rows.push(row);
    for (const sample of row.samples ?? []) log(`  unexpected answer: ${sample}`);
    log(
      `${row.name.padEnd(38)} ${String(row.rps).padStart(6)} req/s  p50 ${String(row.p50).padStart(6)} ms  p99 ${String(row.p99).padStart(6)} ms  errors ${row.errors}  db rt ${row.roundTrips}  ${JSON.stringify(row.statuses)}`,
    );
  }
  // Memory soak: a leak of per-request state grows with the requests served, so RSS keeps climbing
  // round after round; caches and JIT warm-up level off after the first rounds.
  const soakBase = scenarios.find((x) => x.name.startsWith(process.env.BENCH_SOAK_SCENARIO ?? "bookings list"));
  const soak: { round: number; requests: number; rssMiB: number; heapMiB: number; errors: number }[] = [];
  if (soakBase && SOAK_ROUNDS > 0 && (!only || only.some((w) => "soak".includes(w)))) {
    if (soakBase.setup) await soakBase.setup(ctx);
    soak.push({ round: 0, requests: 0, rssMiB: workerdRssMiB(wrangler.pid ?? -1), heapMiB: await heapAfterGcMiB(), errors: 0 });
    for (let k = 1; k <= SOAK_ROUNDS; k++) {
      const r = await run({ ...soakBase, name: `soak round ${k}`, duration: SOAK_SECONDS }, ctx);
      await new Promise((res) => setTimeout(res, 2_000));
      soak.push({
        round: k,
        requests: r.requests,
        rssMiB: workerdRssMiB(wrangler.pid ?? -1),
        heapMiB: await heapAfterGcMiB(),
        errors: r.errors,
      });
      log(
        `soak round ${k}: ${r.requests} requests, errors ${r.errors}, JS heap after GC ${soak.at(-1)!.heapMiB} MiB, workerd RSS ${soak.at(-1)!.rssMiB} MiB`,
      );
    }
  }
  // A leak grows the heap with every round; a steady state stays within a few MiB of round 1.
  const heapGrowth = soak.length > 2 ? soak.at(-1)!.heapMiB - soak[1]!.heapMiB : 0;
  const soakRequests = soak.reduce((a, x) => a + x.requests, 0);
  const soakBad = soak.some((x) => x.errors > 0) || heapGrowth > 8;
  const soakLine = soak.length
    ? `Memory soak (${soakBase!.name}, ${SOAK_ROUNDS} × ${SOAK_SECONDS} s, ${soakRequests} requests): the worker isolate's JS heap after a full GC ${soak
        .map((x) => x.heapMiB)
        .join(" → ")} MiB (growth after round 1: ${heapGrowth.toFixed(1)} MiB; the run fails above 8); workerd RSS ${soak
        .map((x) => x.rssMiB)
        .join(" → ")} MiB (the native allocator keeps what it took; it levels off, 1.3–1.7 GiB locally, in longer runs).`
    : "";
  let socketRows: SocketBenchRow[] = [];
  if (withSockets && (!only || only.some((w) => "sockets".includes(w)))) {
    log("socket scenarios");
    socketRows = await runSocketBench({ base: BASE, databaseUrl: stack.databaseUrl, jwtSecret: JWT_SECRET, pgid: wrangler.pid ?? -1 });
    for (const r of socketRows) log(`${r.name}: p50 ${r.p50} ms  p99 ${r.p99} ms  lost ${r.lost}`);
  }
  // Last: a model may restart the worker with other variables.
  let latency: { rows: LatencyRow[]; failed: string[]; markdown: string } | undefined;
  if (latencyWanted(only)) {
    log("latency model");
    latency = await runLatencyBench({ workerPort: PORT, stack, ctx, useWorkerVars, log, machine });
  }
  const elapsed = Math.round((Date.now() - startedAt) / 1000);
  const bad = [
    ...rows.filter((r) => r.errors > 0).map((r) => r.name),
    ...socketRows.filter((r) => r.lost > 0).map((r) => r.name),
    ...(soakBad ? ["memory soak"] : []),
    ...(latency?.failed ?? []),
  ];
  failed = bad.length > 0;
  const md = [
    `Benchmark ${new Date().toISOString()} — **${machine}**.`,
    `wrangler dev (one local workerd) + embedded PostgreSQL 17 + Neon front door + Paytm sandbox + autocannon, all on this machine;`,
    `${VUS} concurrent connections (virtual users) per scenario, ${DURATION} s per timed scenario; \`npm run bench\` took ${elapsed} s including stack start.`,
    "Errors = connection errors + timeouts + non-2xx not provoked on purpose (no scenario provokes any). db rt = the worker's X-Db-Round-Trips header on one request of the scenario (warm path for cached GETs; work done later in Durable Objects, queues or waitUntil is not on the request's handle).",
    "",
    "| scenario | VUs | requests | req/s | p50 ms | p99 ms | errors | db rt/req | what |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.connections} | ${r.requests} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.errors}${r.deliberate4xx ? ` (+${r.deliberate4xx} deliberate 4xx)` : ""} | ${r.roundTrips} | ${r.note ?? ""} |`,
    ),
    ...(socketRows.length ? ["", socketRowsMarkdown(socketRows)] : []),
    ...(soakLine ? ["", soakLine] : []),
    "",
    failed ? `**FAILED**: errors or lost events in: ${bad.join("; ")}` : "All scenarios: zero errors, zero lost socket events.",
  ].join("\n");
  // A latency-only run leaves the throughput results of the last full run in place.
  if (rows.length || socketRows.length || soak.length) {
    writeFileSync("bench/results/latest.md", `${md}\n`);
    writeFileSync(
      "bench/results/latest.json",
      `${JSON.stringify({ machine, at: new Date().toISOString(), durationSeconds: DURATION, elapsedSeconds: elapsed, rows, sockets: socketRows, soak, failed: bad }, null, 2)}\n`,
    );
    console.log(`\n${md}\n\nwritten to bench/results/latest.{md,json}`);
  }
  if (latency) console.log(`\n${latency.markdown}\n\nwritten to bench/results/latency.{md,json}`);
  if (noise)
    console.log(`(${noise} expected wrangler log lines suppressed: Pool idle-client "Network connection lost", local tracing, cron note)`);
  if (failed) console.error(`\nbench FAILED: non-deliberate errors or lost events in: ${bad.join("; ")}`);
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  await cleanup();
}
console.log(`total wall time ${Math.round((Date.now() - startedAt) / 1000)} s`);
process.exit(failed ? 1 : 0);
