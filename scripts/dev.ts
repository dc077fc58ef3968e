/**
 * `npm run dev`: the whole API on http://127.0.0.1:8787 with no other set-up. Starts the embedded
 * PostgreSQL (data kept in .local/pg), migrates and seeds demo data, starts the Neon front door, the
 * Paytm sandbox and the Expo push mock, then `wrangler dev` with local Durable Objects and Queues.
 * wrangler dev does not fire crons by itself, so this script fires ours on schedule.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack } from "./stack.ts";

const PORT = Number(process.env.PORT ?? 8787);
const log = (msg: string) => console.log(`[dev] ${msg}`);

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  log("created .dev.vars from .dev.vars.example (development values only)");
}
const vars = Object.fromEntries(
  readFileSync(".dev.vars", "utf8")
    .split("\n")
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);

const stack = await startStack({
  persistent: !process.env.DATABASE_URL,
  dataDir: ".local/pg",
  pgPort: Number(process.env.PG_PORT ?? 55432),
  frontDoorPort: Number(process.env.FRONT_DOOR_PORT ?? 5488),
  paytmPort: Number(process.env.PAYTM_SANDBOX_PORT ?? 8790),
  expoPort: Number(process.env.EXPO_MOCK_PORT ?? 8791),
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
});
log(`paytm sandbox ${stack.paytmUrl}, expo mock ${stack.expoPushUrl}`);

const overrides = {
  DATABASE_URL: stack.databaseUrl,
  NEON_LOCAL_PROXY: stack.neonLocalProxy,
  PAYTM_HOST: stack.paytmUrl,
  EXPO_PUSH_URL: stack.expoPushUrl,
  PUBLIC_BASE_URL: `http://127.0.0.1:${PORT}`,
};
const args = [
  "wrangler",
  "dev",
  "--ip",
  "127.0.0.1",
  "--port",
  String(PORT),
  "--show-interactive-dev-session=false",
  ...Object.entries(overrides).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
];
// Its own process group, so shutdown reaches npx, wrangler and workerd alike (npx alone does not
// forward signals, which left workerd holding the port).
const wrangler = spawn("npx", args, { stdio: "inherit", detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
const signalWrangler = (signal: NodeJS.Signals) => {
  try {
    if (wrangler.pid) process.kill(-wrangler.pid, signal);
  } catch {
    // already gone
  }
};

// Cron Triggers (wrangler.toml [triggers]) fired through wrangler's scheduled-handler endpoint.
const crons =
  (readFileSync("wrangler.toml", "utf8").match(/crons\s*=\s*\[([^\]]*)\]/)?.[1] ?? "").match(/"[^"]+"/g)?.map((s) => s.slice(1, -1)) ?? [];
const field = (spec: string, v: number) =>
  spec === "*" || (spec.startsWith("*/") ? v % Number(spec.slice(2)) === 0 : spec.split(",").map(Number).includes(v));
const due = (cron: string, d: Date) => {
  const [min, hour, dom, mon, dow] = cron.split(/\s+/);
  return (
    field(min!, d.getUTCMinutes()) &&
    field(hour!, d.getUTCHours()) &&
    field(dom!, d.getUTCDate()) &&
    field(mon!, d.getUTCMonth() + 1) &&
    field(dow!, d.getUTCDay())
  );
};
const fireDue = () => {
  const now = new Date();
  for (const cron of crons.filter((c) => due(c, now))) {
    fetch(`http://127.0.0.1:${PORT}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`).catch(() => {});
  }
};
let timer: NodeJS.Timeout = setTimeout(
  () => {
    fireDue();
    timer = setInterval(fireDue, 60_000);
  },
  60_000 - (Date.now() % 60_000) + 1_000,
);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  clearTimeout(timer);
  clearInterval(timer);
  signalWrangler("SIGINT");
  const exited =
    wrangler.exitCode !== null || (await Promise.race([once(wrangler, "exit").then(() => true), sleep(5_000).then(() => false)]));
  if (!exited) signalWrangler("SIGKILL");
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
wrangler.on("exit", (code) => {
  log(`wrangler exited (${code})`);
  void shutdown();
});
