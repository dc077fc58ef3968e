/**
 * Latency scenarios of `npm run bench`: what one user waits for each call the apps make on their main
 * screens, under a model of the network between the user, the worker(s) and Neon.
 *
 * The model is made of delays on loopback, each one-way and applied in both directions:
 *   user ↔ edge   scripts/latency-proxy.ts in front of the worker (the requests below go through it);
 *   edge ↔ core   the worker variable LATENCY_EDGE_CORE_MS, honoured by the edge worker's forwarder to the
 *                 core worker (the two-worker stack); the worker is restarted when a model changes it;
 *   core ↔ Neon   the Neon front door (scripts/db/front-door.mjs), per SQL-over-HTTP request and per
 *                 WebSocket message, so each database round trip costs the model's RTT.
 * Models are declared in round-trip times; each delay is half of one.
 *
 * Each call: BENCH_LATENCY_WARMUP requests, then BENCH_LATENCY_SAMPLES timed ones, one after the other on
 * one keep-alive connection (what an app on a warm connection sees). Writes get fresh data per request
 * (a customer per booking, a pending booking per accept, a user per payment order), written straight into
 * the database beforehand; an order to verify is initiated through the API (untimed, past the user-side
 * delay) and paid at the sandbox just before its verify. Database round trips are the worker's
 * X-Db-Round-Trips header (work a Durable Object does on its own handle is not in it; its delay is in the
 * time, and in the "db rt from time" estimate). Results: bench/results/latency.{md,json}.
 *
 *   BENCH_ONLY=latency npm run bench                      # only these (a few minutes)
 *   BENCH_LATENCY_MODELS=edge,single-region,loopback      # models by key (default: edge, placed, single-region)
 *   BENCH_LATENCY_SAMPLES=30 BENCH_LATENCY_WARMUP=3       # per call and model
 *   BENCH_LATENCY=0 npm run bench                         # a full run without them
 */

import { writeFileSync } from "node:fs";
import http from "node:http";
import { startLatencyProxy } from "../scripts/latency-proxy.ts";
import type { Stack } from "../scripts/stack.ts";
import { type BenchCtx, bearer, benchSlot, bookingPool, type Listing, makeUsers, type Party, plumberListing } from "./fixtures.ts";
import type { BenchRequest } from "./scenarios.ts";

export type LatencyModel = {
  key: string;
  name: string;
  /** Round-trip times, ms. */
  userEdgeMs: number;
  edgeCoreMs: number;
  coreDbMs: number;
  /** Run only when asked for by key (BENCH_LATENCY_MODELS). */
  optional?: boolean;
  what: string;
};

export const MODELS: LatencyModel[] = [
  {
    key: "edge",
    name: "edge only",
    userEdgeMs: 10,
    edgeCoreMs: 0,
    coreDbMs: 60,
    what: "today's topology: the worker at the edge near the user (India), Neon in Singapore",
  },
  {
    key: "placed",
    name: "placed",
    userEdgeMs: 10,
    edgeCoreMs: 55,
    coreDbMs: 2,
    what: "edge worker near the user, core worker placed next to Neon (aws:ap-southeast-1)",
  },
  {
    key: "single-region",
    name: "single-region server",
    userEdgeMs: 60,
    edgeCoreMs: 0,
    coreDbMs: 0,
    what: "reference: our worker as one server in Singapore beside the database",
  },
  {
    key: "loopback",
    name: "no delay",
    userEdgeMs: 0,
    edgeCoreMs: 0,
    coreDbMs: 0,
    optional: true,
    what: "loopback: this machine's processing time",
  },
];

/** The worker variables a model needs (restarting the worker when they change). */
export function workerVarsFor(m: LatencyModel): Record<string, string> {
  return m.edgeCoreMs > 0 ? { LATENCY_EDGE_CORE_MS: String(m.edgeCoreMs / 2) } : {};
}

export const latencyWanted = (only: string[] | undefined) =>
  process.env.BENCH_LATENCY !== "0" && (!only || only.some((w) => "latency".includes(w)));

// ---- the calls ----------------------------------------------------------------------------------------

type Data = {
  plumber: Listing;
  /** Customers with bookings of the plumber (their bookings get accepted, so they have notifications). */
  readers: Party[];
  bookers: Party[];
  acceptIds: string[];
  initiators: Party[];
  /** Filled by `payOrder(i)` just before the i-th verify. */
  paidOrders: { token: string; orderId: string }[];
  payOrder: (i: number) => Promise<void>;
};

type Call = {
  name: string;
  screen: string;
  /** The issue's target for this kind of call (p50 under the model). */
  target: string;
  build: (d: Data, i: number) => BenchRequest;
  /** Untimed work before request `i` (data that must be fresh when the request is sent). */
  before?: (d: Data, i: number) => Promise<void>;
  /** For answers that come in two kinds (a verify that applies the payment, or finds it applied). */
  kind?: (body: string) => string;
};

// Booking-create slots: day 170 of the horizon onwards (benchSlot: 600 a day), clear of the throughput
// scenarios' creations (days 1–~50) and their pools (days 110–165); the accept pool sits on day 176.
const CREATE_SLOT_BASE = 169 * 600;
const ACCEPT_POOL_DAY = 176;

const CALLS: Call[] = [
  { name: "GET /api/public/services", screen: "home (cached catalogue)", target: "≤ 25", build: () => ({ path: "/api/public/services" }) },
  {
    name: "GET /api/public/featured-providers",
    screen: "home",
    target: "≤ 25",
    build: () => ({ path: "/api/public/featured-providers" }),
  },
  {
    name: "GET /api/public/services/:id/providers",
    screen: "category list",
    target: "≤ 25",
    build: (d) => ({ path: `/api/public/services/${d.plumber.serviceId}/providers?userCity=Bengaluru&userState=Karnataka` }),
  },
  {
    name: "GET /api/public/provider-service/:id",
    screen: "provider detail",
    target: "≤ 25",
    build: (d) => ({ path: `/api/public/provider-service/${d.plumber.listingId}` }),
  },
  {
    name: "GET /api/bookings",
    screen: "bookings (customer)",
    target: "≤ 70",
    build: (d) => ({ path: "/api/bookings", headers: bearer(d.readers[0]!.token) }),
  },
  {
    name: "POST /api/bookings",
    screen: "booking create",
    target: "≤ 90",
    build: (d, i) => ({
      method: "POST",
      path: "/api/bookings",
      headers: { ...bearer(d.bookers[i]!.token), "idempotency-key": `bench-latency-create-${i}` },
      body: JSON.stringify({
        providerServiceId: d.plumber.listingId,
        selectedServices: ["tap-installation"],
        ...benchSlot(CREATE_SLOT_BASE + i),
      }),
    }),
  },
  {
    name: "PUT /api/providers/bookings/:id/status",
    screen: "provider accept",
    target: "≤ 90",
    build: (d, i) => ({
      method: "PUT",
      path: `/api/providers/bookings/${d.acceptIds[i]!}/status`,
      headers: bearer(d.plumber.provider.token),
      body: JSON.stringify({ status: "accepted" }),
    }),
  },
  {
    name: "GET /api/notifications",
    screen: "notifications",
    target: "≤ 70",
    build: (d) => ({ path: "/api/notifications?page=1&limit=20", headers: bearer(d.readers[0]!.token) }),
  },
  {
    name: "GET /api/users/profile",
    screen: "profile",
    target: "≤ 70",
    build: (d) => ({ path: "/api/users/profile", headers: bearer(d.readers[0]!.token) }),
  },
  {
    name: "POST /api/payments/initiate-labour-payment",
    screen: "payment initiate",
    target: "db ≤ 2 rt",
    build: (d, i) => ({
      method: "POST",
      path: "/api/payments/initiate-labour-payment",
      headers: bearer(d.initiators[i]!.token),
      body: JSON.stringify({ amount: 99, serviceName: "labors", paymentMethod: "paytm" }),
    }),
  },
  {
    name: "POST /api/payments/verify-labour-payment",
    screen: "payment verify",
    target: "db ≤ 2 rt",
    before: (d, i) => d.payOrder(i),
    build: (d, i) => {
      const { token, orderId } = d.paidOrders[i]!;
      return { method: "POST", path: "/api/payments/verify-labour-payment", headers: bearer(token), body: JSON.stringify({ orderId }) };
    },
    kind: (body) => {
      try {
        return (JSON.parse(body) as { data?: { alreadyProcessed?: boolean } }).data?.alreadyProcessed ? "found applied" : "applied it";
      } catch {
        return "?";
      }
    },
  },
];

/** Fresh data for `n` requests of each write, straight into the database. */
async function prepare(ctx: BenchCtx, stack: Stack, n: number, log: (m: string) => void): Promise<Data> {
  const plumber = await plumberListing(ctx);
  const readers = await makeUsers(ctx, "user", 4);
  const payers = await makeUsers(ctx, "user", n);
  const d: Data = {
    plumber,
    readers,
    bookers: await makeUsers(ctx, "user", n),
    acceptIds: await bookingPool(ctx, plumber, readers, n, "pending", ACCEPT_POOL_DAY),
    initiators: await makeUsers(ctx, "user", n),
    paidOrders: [],
    // An order initiated (on loopback, past the user-side delay) and paid at the sandbox right before its verify,
    // its webhook taken off the sandbox's queue: the timed verify is the one that finds the payment at Paytm and
    // applies it, as when the app returns from checkout. (Prepared early, the order's 30 s alarm would apply it.)
    payOrder: async (i) => {
      const { token } = payers[i]!;
      const r = await fetch(`${ctx.base}/api/payments/initiate-labour-payment`, {
        method: "POST",
        headers: bearer(token),
        body: JSON.stringify({ amount: 99, serviceName: "labors", paymentMethod: "paytm" }),
      });
      if (!r.ok) throw new Error(`latency bench: initiate failed: ${r.status} ${await r.text()}`);
      const { orderId } = (await r.json()) as { orderId: string };
      await stack.paytm.pay(orderId, "success");
      stack.paytm.takePendingWebhooks();
      d.paidOrders[i] = { token, orderId };
    },
  };
  log(`latency: data for ${n} requests per write ready`);
  return d;
}

// ---- measuring ------------------------------------------------------------------------------------------

type Answer = { status: number; ms: number; roundTrips: string; body: string };

/** One request on the agent's connection; the time runs from the first byte written to the last byte read. */
function send(agent: http.Agent, base: string, req: BenchRequest): Promise<Answer> {
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const r = http.request(
      `${base}${req.path}`,
      {
        method: req.method ?? "GET",
        agent,
        headers: { ...req.headers, ...(body ? { "content-length": String(body.length) } : {}) },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - t0,
            roundTrips: String(res.headers["x-db-round-trips"] ?? "-"),
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    r.on("timeout", () => r.destroy(new Error("timed out after 30 s")));
    r.on("error", reject);
    r.end(body);
  });
}

/** Nearest-rank percentile. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export type LatencyRow = {
  model: string;
  call: string;
  screen: string;
  /** X-Db-Round-Trips of the timed requests: one value, or "min–max" when they differ. */
  roundTrips: string;
  n: number;
  p50: number;
  p90: number;
  min: number;
  max: number;
  errors: number;
  /** The least time the model allows for this call (its network delays alone), ms. */
  floor: number;
  /** Some answer came sooner than `floor`: the model was not in force, the row is not a measurement of it. */
  belowFloor: boolean;
  kinds?: Record<string, number>;
  sample?: string;
};

export type LatencyHooks = {
  /** The worker's (edge worker's) own address, on loopback. */
  workerPort: number;
  stack: Stack;
  ctx: BenchCtx;
  /** Makes sure the worker runs with these extra variables (restarting it if they differ). */
  useWorkerVars: (vars: Record<string, string>) => Promise<void>;
  log: (m: string) => void;
  machine: string;
};

export async function runLatencyBench(h: LatencyHooks): Promise<{ rows: LatencyRow[]; failed: string[]; markdown: string }> {
  const samples = Number(process.env.BENCH_LATENCY_SAMPLES ?? 30);
  const warmup = Number(process.env.BENCH_LATENCY_WARMUP ?? 3);
  const asked = process.env.BENCH_LATENCY_MODELS?.split(",").map((s) => s.trim());
  const chosen = MODELS.filter((m) => (asked ? asked.includes(m.key) : !m.optional));
  // Models that need the same worker variables run together; today's worker (no extra variables) first.
  const models = [...chosen].sort((a, b) => Number(a.edgeCoreMs > 0) - Number(b.edgeCoreMs > 0));
  const perCall = warmup + samples;
  const data = await prepare(h.ctx, h.stack, models.length * perCall, h.log);

  const proxy = await startLatencyProxy({ target: h.workerPort });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const rows: LatencyRow[] = [];
  const connectionsPerModel: Record<string, number> = {};
  let used = 0; // requests per write made so far: each consumes its own data
  try {
    for (const m of models) {
      await h.useWorkerVars(workerVarsFor(m));
      h.stack.setDbLatencyMs(m.coreDbMs / 2);
      proxy.setLatencyMs(m.userEdgeMs / 2);
      const connectionsBefore = proxy.connections;
      h.log(`latency model "${m.name}": user↔edge ${m.userEdgeMs} ms, edge↔core ${m.edgeCoreMs} ms, core↔Neon ${m.coreDbMs} ms (RTT)`);
      for (const call of CALLS) {
        const times: number[] = [];
        const trips = new Set<string>();
        const kinds: Record<string, number> = {};
        let errors = 0;
        let sample: string | undefined;
        for (let k = 0; k < perCall; k++) {
          await call.before?.(data, used + k);
          const a = await send(agent, proxy.url, call.build(data, used + k)).catch(
            (err: Error): Answer => ({ status: 0, ms: 0, roundTrips: "-", body: err.message }),
          );
          const bad = a.status < 200 || a.status >= 300;
          if (bad) {
            errors++;
            sample ??= `${a.status} ${a.body.slice(0, 300)}`;
          }
          if (k < warmup || bad) continue;
          times.push(a.ms);
          trips.add(a.roundTrips);
          if (call.kind) kinds[call.kind(a.body)] = (kinds[call.kind(a.body)] ?? 0) + 1;
        }
        times.sort((x, y) => x - y);
        const rt = [...trips].map(Number).filter(Number.isFinite);
        // No answer can beat the model: a call with database work crosses user↔edge, edge↔core, and core↔Neon once
        // per round trip. Faster means a delay is not applied (say, a single worker ignoring LATENCY_EDGE_CORE_MS).
        const fewest = rt.length ? Math.min(...rt) : 0;
        const floor = m.userEdgeMs + (fewest > 0 ? m.edgeCoreMs + fewest * m.coreDbMs : 0);
        const row: LatencyRow = {
          model: m.key,
          call: call.name,
          screen: call.screen,
          roundTrips: trips.size <= 1 ? ([...trips][0] ?? "-") : `${fewest}–${Math.max(...rt)}`,
          n: times.length,
          p50: Math.round(percentile(times, 0.5)),
          p90: Math.round(percentile(times, 0.9)),
          min: Math.round(times[0] ?? Number.NaN),
          max: Math.round(times.at(-1) ?? Number.NaN),
          errors,
          floor,
          belowFloor: times.length > 0 && times[0]! < floor,
          ...(call.kind ? { kinds } : {}),
          ...(sample ? { sample } : {}),
        };
        rows.push(row);
        h.log(
          `  ${call.name.padEnd(44)} db rt ${row.roundTrips.padStart(3)}  p50 ${String(row.p50).padStart(4)} ms  p90 ${String(row.p90).padStart(4)} ms  errors ${errors}${call.kind ? `  ${JSON.stringify(kinds)}` : ""}`,
        );
        if (sample) h.log(`  unexpected answer: ${sample}`);
        if (row.belowFloor) h.log(`  answered in ${row.min} ms, under the model's ${floor} ms: a delay is not applied`);
      }
      used += perCall;
      connectionsPerModel[m.key] = proxy.connections - connectionsBefore;
    }
  } finally {
    h.stack.setDbLatencyMs(0);
    agent.destroy();
    await proxy.close();
  }

  const failed = [
    ...rows.filter((r) => r.errors > 0).map((r) => `latency ${r.model}: ${r.call} (errors)`),
    ...rows.filter((r) => r.belowFloor).map((r) => `latency ${r.model}: ${r.call} (faster than the model allows: a delay is not applied)`),
  ];
  const markdown = renderMarkdown({ rows, models, samples, warmup, machine: h.machine, connectionsPerModel, failed });
  writeFileSync("bench/results/latency.md", `${markdown}\n`);
  writeFileSync(
    "bench/results/latency.json",
    `${JSON.stringify(
      {
        machine: h.machine,
        at: new Date().toISOString(),
        samples,
        warmup,
        models: MODELS.map((m) => ({
          ...m,
          ran: models.includes(m),
          ...(m.key in connectionsPerModel ? { connections: connectionsPerModel[m.key] } : {}),
        })),
        rows,
        failed,
      },
      null,
      2,
    )}\n`,
  );
  return { rows, failed, markdown };
}

function renderMarkdown(r: {
  rows: LatencyRow[];
  models: LatencyModel[];
  samples: number;
  warmup: number;
  machine: string;
  connectionsPerModel: Record<string, number>;
  failed: string[];
}): string {
  const cell = (model: string, call: string) => {
    const row = r.rows.find((x) => x.model === model && x.call === call);
    if (!row) return "–";
    const flags = [row.errors ? `${row.errors} errors` : "", row.belowFloor ? "INVALID: under the model's floor" : ""].filter(Boolean);
    return `${row.p50} / ${row.p90}${flags.length ? ` (${flags.join("; ")})` : ""}`;
  };
  const rtOf = (call: string) => {
    const values = [...new Set(r.rows.filter((x) => x.call === call).map((x) => x.roundTrips))];
    return values.join(", ");
  };
  const modelLine = (m: LatencyModel) =>
    `- **${m.name}** (\`${m.key}\`): user↔edge ${m.userEdgeMs} ms, edge↔core ${m.edgeCoreMs} ms, core↔Neon ${m.coreDbMs} ms RTT — ${m.what}.`;
  const verify = r.rows.filter((x) => x.kinds && Object.keys(x.kinds).length);
  const columns = MODELS.filter((m) => r.models.includes(m));
  // Every database round trip of a request, a Durable Object's included, costs the edge model's core↔Neon RTT and
  // nothing in the single-region model; the same code runs in both, so the difference, net of the user's round
  // trips, counts them (an estimate, to the nearest one).
  const edge = r.models.find((m) => m.key === "edge");
  const single = r.models.find((m) => m.key === "single-region");
  const fromTime = (call: string) => {
    const e = r.rows.find((x) => x.model === "edge" && x.call === call);
    const s = r.rows.find((x) => x.model === "single-region" && x.call === call);
    if (!edge || !single || !e || !s) return "–";
    return String(Math.max(0, Math.round((e.p50 - edge.userEdgeMs - (s.p50 - single.userEdgeMs)) / edge.coreDbMs)));
  };
  const estimate = Boolean(edge && single);
  return [
    `Latency model ${new Date().toISOString()} — **${r.machine}**.`,
    `Each call: ${r.warmup} warm-up requests, then ${r.samples} timed ones in sequence on one keep-alive connection (connections opened per model: ${Object.entries(
      r.connectionsPerModel,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}); p50 / p90 in ms, wall time at the client. Delays on loopback, one-way = half the RTT, in both directions:`,
    "user↔edge by scripts/latency-proxy.ts, core↔Neon at the Neon front door (per SQL-over-HTTP request and per WebSocket message; the WebSocket upgrade costs one round trip), edge↔core by the edge worker (LATENCY_EDGE_CORE_MS).",
    "",
    ...columns.map(modelLine),
    "",
    `| call | screen | db rt | ${estimate ? "db rt from time | " : ""}${columns.map((m) => `${m.name} p50 / p90`).join(" | ")} | target p50 |`,
    `|---|---|---|${estimate ? "---|" : ""}${columns.map(() => "---|").join("")}---|`,
    ...CALLS.map(
      (c) =>
        `| ${c.name} | ${c.screen} | ${rtOf(c.name)} | ${estimate ? `${fromTime(c.name)} | ` : ""}${columns.map((m) => cell(m.key, c.name)).join(" | ")} | ${c.target} |`,
    ),
    "",
    "db rt = the worker's X-Db-Round-Trips header on the timed requests (SQL-over-HTTP calls, plus for an interactive transaction its WebSocket handshake and every statement); a Durable Object's own database work (payments) is not in it, its delay is in the time.",
    ...(estimate
      ? [
          `db rt from time = ((edge only p50 − ${edge!.userEdgeMs} ms) − (single-region p50 − ${single!.userEdgeMs} ms)) / ${edge!.coreDbMs} ms, to the nearest one: every database round trip of the call, a Durable Object's included (the same code pays ${edge!.coreDbMs} ms per round trip in one model and nothing in the other).`,
        ]
      : []),
    ...verify.map(
      (x) =>
        `Payment verify under ${x.model}: ${Object.entries(x.kinds!)
          .map(([k, v]) => `${v} ${k}`)
          .join(", ")} (a verify that "applied it" found the payment at Paytm and granted access; its webhook was held back).`,
    ),
    "",
    r.failed.length
      ? `**FAILED**: ${r.failed.join("; ")}`
      : "Every timed request answered 2xx, none sooner than its model's network delays allow.",
  ].join("\n");
}
