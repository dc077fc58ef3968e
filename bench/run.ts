/**
 * `npm run bench`: starts the stack (throwaway database on embedded PostgreSQL or DATABASE_URL, the
 * Neon front door, Paytm sandbox, Expo mock) and `wrangler dev`, then drives each scenario with
 * autocannon and prints requests/s, p50, p99, errors and database round trips per request (read
 * from the worker's X-Db-Round-Trips header, i.e. counted by the driver, not guessed).
 * Results go to bench/results/latest.{json,md}. Loopback only; every run is bounded in time.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import autocannon from "autocannon";
import { startStack } from "../scripts/stack.ts";
import { type Scenario, scenarios } from "./scenarios.ts";

const PORT = Number(process.env.BENCH_PORT ?? 8788);
const BASE = `http://127.0.0.1:${PORT}`;
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const only = process.env.BENCH_ONLY?.split(",");
const PAYTM = { mid: "BXBENCH0000000000001", key: "benchkey01234567" };

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
  paytm: { ...PAYTM, webhookUrl: `${BASE}/api/payments/paytm-webhook` },
  log: (m) => console.log(`[bench] ${m}`),
});

const vars: Record<string, string> = {
  ENVIRONMENT: "development",
  LOG_LEVEL: "warn",
  DATABASE_URL: stack.databaseUrl,
  NEON_LOCAL_PROXY: stack.neonLocalProxy,
  PAYTM_HOST: stack.paytmUrl,
  PAYTM_MID: PAYTM.mid,
  PAYTM_MERCHANT_KEY: PAYTM.key,
  EXPO_PUSH_URL: stack.expoPushUrl,
  PUBLIC_BASE_URL: BASE,
  SMS_DRIVER: "console",
};
const wrangler = spawn(
  "npx",
  [
    "wrangler",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(PORT),
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ],
  {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  },
);

cleanup = async () => {
  wrangler.kill("SIGINT");
  await stack.stop();
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

type Row = {
  name: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  roundTrips: string;
  note?: string;
};

async function roundTripsOf(s: Scenario, ctx: Record<string, unknown>): Promise<string> {
  const req = await s.request(ctx, 0);
  const r = await fetch(`${BASE}${req.path}`, { method: req.method ?? "GET", headers: req.headers, body: req.body });
  await r.arrayBuffer();
  return r.headers.get("x-db-round-trips") ?? "-";
}

async function run(s: Scenario, ctx: Record<string, unknown>): Promise<Row> {
  const connections = s.connections ?? 32;
  const rt = await roundTripsOf(s, ctx);
  let i = 0;
  const first = await s.request(ctx, i++);
  const result = await autocannon({
    url: BASE,
    connections,
    duration: s.duration ?? DURATION,
    timeout: 30,
    requests: [
      {
        method: (first.method ?? "GET") as "GET",
        path: first.path,
        headers: first.headers ?? {},
        body: first.body,
        // Each request may differ (distinct users, slots, orders): built per request.
        setupRequest: (r: Record<string, unknown>) => {
          const next = s.requestSync ? s.requestSync(ctx, i++) : first;
          return { ...r, method: next.method ?? "GET", path: next.path, headers: next.headers ?? {}, body: next.body };
        },
      },
    ],
  });
  const expected = s.expectedStatus ?? [200, 201];
  return {
    name: s.name,
    connections,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: expected.includes(200) ? result.non2xx : 0,
    roundTrips: rt,
    note: s.note,
  };
}

try {
  await waitReady();
  // Warm up the isolate and the front door's connections.
  for (let k = 0; k < 20; k++) await fetch(`${BASE}/__bench/bare`).then((r) => r.arrayBuffer());
  const ctx: Record<string, unknown> = { base: BASE, stack };
  const rows: Row[] = [];
  for (const s of scenarios.filter((x) => !only || only.includes(x.name))) {
    if (s.setup) await s.setup(ctx);
    const row = await run(s, ctx);
    rows.push(row);
    console.log(
      `${row.name.padEnd(34)} ${String(row.rps).padStart(6)} req/s  p50 ${String(row.p50).padStart(5)} ms  p99 ${String(row.p99).padStart(5)} ms  errors ${row.errors}  non-2xx ${row.non2xx}  db rt ${row.roundTrips}`,
    );
  }
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`;
  const md = [
    `Benchmark ${new Date().toISOString()} — ${machine}; wrangler dev + embedded PostgreSQL 17 + Neon front door, all on this machine; ${DURATION}s per scenario.`,
    "",
    "| scenario | conns | req/s | p50 ms | p99 ms | errors | non-2xx | db round trips/req |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.name}${r.note ? ` (${r.note})` : ""} | ${r.connections} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} | ${r.roundTrips} |`,
    ),
  ].join("\n");
  writeFileSync("bench/results/latest.md", `${md}\n`);
  writeFileSync("bench/results/latest.json", `${JSON.stringify({ machine, at: new Date().toISOString(), rows }, null, 2)}\n`);
  console.log(`\n${md}\n\nwritten to bench/results/latest.{md,json}`);
} finally {
  await cleanup();
}
process.exit(0);
