// Self-check of the local database stack: embedded PostgreSQL 17 + front door + @neondatabase/serverless in both
// modes (HTTP `neon()` and WebSocket `Pool`), configured exactly as the worker configures it locally.
//
//   node scripts/db/check-front-door.mjs        (exit code 0 = all PASS)
//
// Uses a throwaway cluster in a temp dir (or DATABASE_URL if set) and a scratch migration, so it does not depend on
// the project's schema.

import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NeonDbError, neon, neonConfig, Pool } from "@neondatabase/serverless";
import { sql as dsql, eq } from "drizzle-orm";
import { drizzle as drizzleHttp } from "drizzle-orm/neon-http";
import { drizzle as drizzleWs } from "drizzle-orm/neon-serverless";
import { bigint, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import pg from "pg";
import { createDatabase, dropDatabase, startDatabase } from "./embedded.mjs";
import { startFrontDoor } from "./front-door.mjs";
import { migrate } from "./migrate.mjs";

const results = [];
async function check(name, fn) {
  const t0 = performance.now();
  try {
    const note = await fn();
    const ms = (performance.now() - t0).toFixed(0);
    results.push({ name, ok: true });
    console.log(`PASS  ${name} (${ms} ms)${note ? ` - ${note}` : ""}`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(
      `FAIL  ${name}\n      ${String(err?.stack ?? err)
        .split("\n")
        .slice(0, 6)
        .join("\n      ")}`,
    );
  }
}

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

const SCRATCH_SQL = `CREATE TABLE "items" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "name" text NOT NULL,
  "qty" integer NOT NULL,
  "price_paise" bigint,
  "tags" text[],
  "meta" jsonb,
  "version" integer DEFAULT 0 NOT NULL,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "items_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "amounts" ("id" serial PRIMARY KEY, "n" numeric(12, 2) NOT NULL CHECK ("n" >= 0));
`;

async function writeScratchMigrations(dir) {
  await fs.mkdir(path.join(dir, "meta"), { recursive: true });
  await fs.writeFile(path.join(dir, "0000_scratch.sql"), SCRATCH_SQL);
  await fs.writeFile(
    path.join(dir, "meta/_journal.json"),
    JSON.stringify({
      version: "7",
      dialect: "postgresql",
      entries: [{ idx: 0, version: "7", when: 1764300000000, tag: "0000_scratch", breakpoints: true }],
    }),
  );
}

function newPool(url, name) {
  const pool = new Pool({ connectionString: url, max: 5, application_name: name });
  // Without a listener, an idle client's socket error is an uncaught exception.
  pool.on("error", (err) => console.warn(`[check] idle pool client error: ${err.message}`));
  return pool;
}

async function expectReject(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject");
}

async function main() {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bx-check-"));
  const t0 = performance.now();
  const server = await startDatabase();
  const startMs = performance.now() - t0;
  console.log(
    server.external
      ? "using DATABASE_URL"
      : `embedded PostgreSQL started from an empty temp dir in ${startMs.toFixed(0)} ms (initdb + start), port ${server.port}`,
  );

  const dbName = `frontdoor_check_${process.pid}`;
  let frontDoor;
  const pools = [];
  try {
    let t = performance.now();
    const url = await createDatabase(server.adminUrl, dbName);
    console.log(`CREATE DATABASE in ${(performance.now() - t).toFixed(0)} ms`);

    await check("migrate(): no journal yet -> nothing to do", async () => {
      const r = await migrate(url, { migrationsFolder: path.join(tmp, "absent") });
      assert.equal(r.applied, false);
    });
    await check("migrate(): scratch migration applied, and re-applying is a no-op", async () => {
      await writeScratchMigrations(path.join(tmp, "migrations"));
      t = performance.now();
      assert.equal((await migrate(url, { migrationsFolder: path.join(tmp, "migrations") })).applied, true);
      const first = performance.now() - t;
      await migrate(url, { migrationsFolder: path.join(tmp, "migrations") });
      const c = new pg.Client(url);
      await c.connect();
      const { rows } = await c.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations");
      await c.end();
      assert.equal(rows[0].n, 1);
      return `first run ${first.toFixed(0)} ms`;
    });

    // Warnings such as the deliberate wrong-password and non-loopback probes below are expected; show errors only.
    frontDoor = await startFrontDoor({ port: 0, log: (level, msg) => level === "error" && console.error(`[front-door] ${msg}`) });
    const FRONT = `127.0.0.1:${frontDoor.port}`;
    console.log(`front door on ${FRONT}`);

    // Exactly the worker's local configuration (Node 22 has a global WebSocket, like workerd).
    neonConfig.wsProxy = (host, port) => `${FRONT}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = "password";
    neonConfig.fetchEndpoint = (_host, _port) => `http://${FRONT}/sql`;

    const sql = neon(url);

    await check("HTTP neon(): params of many types round-trip with the driver's own parsers", async () => {
      const when = new Date("2026-11-28T10:15:30.123Z");
      const json = { a: 1, s: 'x"y\\z', nested: [true, null, { k: "ü€" }] };
      const uid = "3f1c2a6e-8a3b-4e55-9a51-7b0c8e6f1d22";
      const [r] = await sql.query(
        `SELECT $1::int AS i, $2::text AS t, $3::jsonb AS j, $4::timestamptz AS ts, $5::text AS n,
                $6::int[] AS ai, $7::text[] AS at, $8::bigint AS big, $9::numeric AS num, $10::boolean AS b,
                $11::uuid AS u, $12::bytea AS by, $13::int AS neg, now() AS now, '{}'::int[] AS empty`,
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
          uid,
          Buffer.from([0, 1, 255]),
          -7,
        ],
      );
      assert.equal(r.i, 42);
      assert.equal(r.t, `it's "quoted", ✓ & \\ back`);
      assert.deepEqual(r.j, json);
      assert.ok(r.ts instanceof Date && r.ts.getTime() === when.getTime(), `ts ${r.ts}`);
      assert.equal(r.n, null);
      assert.deepEqual(r.ai, [1, 2, 3]);
      assert.deepEqual(r.at, ["a,b", 'c"d', null, "NULL", ""]);
      assert.equal(r.big, "9007199254740993"); // int8 stays a string with the default parsers, exactly as on Neon
      assert.equal(r.num, "12345678901234.5678");
      assert.equal(r.b, true);
      assert.equal(r.u, uid);
      assert.deepEqual([...r.by], [0, 1, 255]);
      assert.equal(r.neg, -7);
      assert.ok(r.now instanceof Date);
      assert.deepEqual(r.empty, []);
    });

    await check("HTTP neon(): tagged template + fullResults shape (fields, command, rowCount)", async () => {
      const name = "tpl";
      const res = await sql.query(
        `INSERT INTO items (name, qty, tags) VALUES ($1, $2, $3), ($1 || '2', $2, $3) RETURNING id, name`,
        [name, 5, ["x"]],
        { fullResults: true },
      );
      assert.equal(res.command, "INSERT");
      assert.equal(res.rowCount, 2);
      assert.deepEqual(
        res.fields.map((f) => [f.name, f.dataTypeID]),
        [
          ["id", 2950],
          ["name", 25],
        ],
      );
      const rows = await sql`SELECT name, qty FROM items WHERE name LIKE ${name + "%"} ORDER BY name`;
      assert.deepEqual(rows, [
        { name: "tpl", qty: 5 },
        { name: "tpl2", qty: 5 },
      ]);
      const arr = await sql.query("SELECT 1 AS a, 2 AS a", [], { arrayMode: true });
      assert.deepEqual(arr, [[1, 2]]);
      const upd = await sql.query(`UPDATE items SET qty = qty + 1 WHERE name LIKE 'tpl%'`, [], { fullResults: true });
      assert.equal(upd.command, "UPDATE");
      assert.equal(upd.rowCount, 2);
    });

    await check("HTTP sql.transaction(): batch commits atomically and returns one result per query", async () => {
      const [ins, cnt] = await sql.transaction([
        sql`INSERT INTO items (name, qty) VALUES ('tx-ok', 1) RETURNING name`,
        sql`SELECT count(*)::int AS n FROM items WHERE name = 'tx-ok'`,
      ]);
      assert.deepEqual(ins, [{ name: "tx-ok" }]);
      assert.deepEqual(cnt, [{ n: 1 }]); // the second statement sees the first: same transaction
    });

    await check("HTTP sql.transaction(): a failing 2nd statement rolls back the 1st", async () => {
      const err = await expectReject(sql.transaction([sql`INSERT INTO items (name, qty) VALUES ('tx-rolled-back', 1)`, sql`SELECT 1 / 0`]));
      assert.ok(err instanceof NeonDbError, `got ${err?.constructor?.name}`);
      assert.equal(err.code, "22012");
      const rows = await sql`SELECT 1 FROM items WHERE name = 'tx-rolled-back'`;
      assert.equal(rows.length, 0);
    });

    await check("HTTP: unique violation surfaces NeonDbError code 23505 with constraint", async () => {
      await sql`INSERT INTO items (name, qty) VALUES ('dup', 1)`;
      const err = await expectReject(sql`INSERT INTO items (name, qty) VALUES ('dup', 2)`);
      assert.ok(err instanceof NeonDbError);
      assert.equal(err.code, "23505");
      assert.equal(err.constraint, "items_name_unique");
      assert.equal(err.table, "items");
      assert.match(err.detail, /Key \(name\)=\(dup\) already exists/);
      assert.equal(err.severity, "ERROR");
    });

    await check("HTTP: transaction options (ReadOnly + Serializable) are applied", async () => {
      const [[[iso]]] = await sql.transaction([sql`SELECT current_setting('transaction_isolation') AS iso`], {
        isolationLevel: "Serializable",
        readOnly: true,
        arrayMode: true,
      });
      assert.equal(iso, "serializable");
      const err = await expectReject(sql.transaction([sql`INSERT INTO items (name, qty) VALUES ('ro', 1)`], { readOnly: true }));
      assert.equal(err.code, "25006");
    });

    await check("HTTP: Neon semantics (one statement per query; BEGIN never leaks into the next request)", async () => {
      const err = await expectReject(sql.query("SELECT 1; SELECT 2"));
      assert.equal(err.code, "42601"); // extended protocol, as Neon's proxy
      // A pooled connection handed back inside the transaction that BEGIN opened would serve the next requests
      // from inside it: now() would then be frozen at the BEGIN, 60 ms in the past.
      await sql.query("BEGIN");
      await sleep(60);
      for (let i = 0; i < 3; i++) {
        const [r] = await sql`SELECT clock_timestamp() - now() < interval '40 milliseconds' AS fresh`;
        assert.equal(r.fresh, true, "a pooled connection was reused inside an open transaction");
      }
      const bad = neon(url.replace(/:[^:@/]+@/, ":wrong@"));
      const authErr = await expectReject(bad`SELECT 1`);
      assert.ok(authErr instanceof NeonDbError);
      assert.equal(authErr.code, "28P01");
    });

    await check("front door refuses non-loopback targets (HTTP and WebSocket)", async () => {
      const r = await fetch(`http://${FRONT}/sql`, {
        method: "POST",
        headers: { "Neon-Connection-String": "postgres://u:p@example.com/db" },
        body: JSON.stringify({ query: "SELECT 1" }),
      });
      assert.equal(r.status, 400);
      const ws = new WebSocket(`ws://${FRONT}/v1?address=10.1.2.3:5432`);
      const outcome = await new Promise((resolve) => {
        ws.onopen = () => resolve("open");
        ws.onerror = () => resolve("error");
      });
      assert.equal(outcome, "error");
    });

    await check("drizzle neon-http: insert/returning, select, db.batch (atomic)", async () => {
      const db = drizzleHttp({ client: sql });
      const [row] = await db
        .insert(items)
        .values({ name: "dz", qty: 3, pricePaise: 9900, tags: ["a", "b"], meta: { k: [1, 2] } })
        .returning();
      assert.equal(row.name, "dz");
      assert.equal(row.pricePaise, 9900);
      assert.deepEqual(row.tags, ["a", "b"]);
      assert.deepEqual(row.meta, { k: [1, 2] });
      assert.ok(row.createdAt instanceof Date);
      const got = await db.select().from(items).where(eq(items.id, row.id));
      assert.deepEqual(got[0], row);
      const [a, b] = await db.batch([
        db
          .update(items)
          .set({ qty: dsql`${items.qty} + 1` })
          .where(eq(items.id, row.id))
          .returning({ qty: items.qty }),
        db.select({ qty: items.qty }).from(items).where(eq(items.id, row.id)),
      ]);
      assert.deepEqual(a, [{ qty: 4 }]);
      assert.deepEqual(b, [{ qty: 4 }]);
      const err = await expectReject(
        db.batch([db.update(items).set({ qty: 100 }).where(eq(items.id, row.id)), db.insert(items).values({ name: "dz", qty: 1 })]),
      );
      assert.equal((err.cause ?? err).code, "23505");
      const [after] = await db.select({ qty: items.qty }).from(items).where(eq(items.id, row.id));
      assert.equal(after.qty, 4, "first statement of the failed batch must be rolled back");
    });

    await check("Pool + drizzle neon-serverless: interactive transaction with SELECT ... FOR UPDATE", async () => {
      const pool = newPool(url, "check-ws");
      pools.push(pool);
      const db = drizzleWs({ client: pool });
      const [row] = await db.insert(items).values({ name: "ws-tx", qty: 10 }).returning();
      const qty = await db.transaction(async (tx) => {
        const [locked] = await tx.select().from(items).where(eq(items.id, row.id)).for("update");
        await tx
          .update(items)
          .set({ qty: locked.qty - 3, version: locked.version + 1 })
          .where(eq(items.id, row.id));
        const [now] = await tx.select({ qty: items.qty }).from(items).where(eq(items.id, row.id));
        return now.qty;
      });
      assert.equal(qty, 7);
      await expectReject(
        db.transaction(async (tx) => {
          await tx.update(items).set({ qty: 0 }).where(eq(items.id, row.id));
          tx.rollback();
        }),
      );
      const [after] = await db.select().from(items).where(eq(items.id, row.id));
      assert.equal(after.qty, 7);
      assert.equal(after.version, 1);
      const err = await expectReject(db.insert(items).values({ name: "ws-tx", qty: 1 }));
      assert.equal((err.cause ?? err).code, "23505");
    });

    await check("two concurrent transactions on one row really block each other", async () => {
      const p1 = newPool(url, "check-ws");
      const p2 = newPool(url, "check-ws");
      pools.push(p1, p2);
      const [{ id }] = await sql`INSERT INTO items (name, qty) VALUES ('contended', 1) RETURNING id`;
      const HOLD = 300;
      const c1 = await p1.connect();
      const c2 = await p2.connect();
      try {
        const start = performance.now();
        const tx1 = (async () => {
          await c1.query("BEGIN");
          await c1.query("SELECT version FROM items WHERE id = $1 FOR UPDATE", [id]);
          await sleep(HOLD);
          await c1.query("UPDATE items SET version = version + 1 WHERE id = $1", [id]);
          await c1.query("COMMIT");
          return performance.now() - start;
        })();
        await sleep(50);
        await c2.query("BEGIN");
        const nowait = await expectReject(c2.query("SELECT 1 FROM items WHERE id = $1 FOR UPDATE NOWAIT", [id]));
        assert.equal(nowait.code, "55P03");
        await c2.query("ROLLBACK");
        await c2.query("BEGIN");
        const beganAt = performance.now() - start;
        const { rows } = await c2.query("SELECT version FROM items WHERE id = $1 FOR UPDATE", [id]);
        const lockedAt = performance.now() - start;
        await c2.query("COMMIT");
        const committedAt = await tx1;
        assert.equal(rows[0].version, 1, "tx2 must see tx1's committed update");
        assert.ok(
          lockedAt >= committedAt - 5 && lockedAt >= HOLD,
          `tx2 got the lock at ${lockedAt.toFixed(0)} ms, tx1 committed at ${committedAt.toFixed(0)} ms`,
        );
        return `tx2 BEGIN at ${beganAt.toFixed(0)} ms, NOWAIT -> 55P03, FOR UPDATE returned at ${lockedAt.toFixed(0)} ms after tx1 committed at ${committedAt.toFixed(0)} ms`;
      } finally {
        c1.release();
        c2.release();
      }
    });

    await check("pool.end() resolves promptly and leaves no backend behind", async () => {
      const t1 = performance.now();
      await Promise.all(pools.splice(0).map((p) => p.end()));
      const endMs = performance.now() - t1;
      assert.ok(endMs < 1000, `pool.end() took ${endMs.toFixed(0)} ms`);
      // One more Pool used per-request style, as the worker does.
      const p = newPool(url, "check-ws");
      await p.query("SELECT 1");
      const t2 = performance.now();
      await p.end();
      const endMs2 = performance.now() - t2;
      assert.ok(endMs2 < 1000, `pool.end() took ${endMs2.toFixed(0)} ms`);
      let left;
      for (let i = 0; i < 20; i++) {
        [{ left }] = await sql`SELECT count(*)::int AS left FROM pg_stat_activity WHERE application_name = 'check-ws'`;
        if (left === 0) break;
        await sleep(50);
      }
      assert.equal(left, 0, `${left} WebSocket backends still connected`);
      return `end() ${endMs.toFixed(0)} ms for 3 pools, ${endMs2.toFixed(0)} ms for a 1-query pool`;
    });

    // ---- measurements ---------------------------------------------------------------------------------------
    const N = 200;
    await sql`SELECT 1`;
    t = performance.now();
    for (let i = 0; i < N; i++) await sql`SELECT ${i}::int AS i`;
    const httpMs = performance.now() - t;

    t = performance.now();
    for (let i = 0; i < N; i++) {
      const p = newPool(url, "bench-ws");
      await p.query("SELECT $1::int AS i", [i]);
      await p.end();
    }
    const poolMs = performance.now() - t;

    const warm = newPool(url, "bench-ws");
    await warm.query("SELECT 1");
    t = performance.now();
    for (let i = 0; i < N; i++) await warm.query("SELECT $1::int AS i", [i]);
    const warmMs = performance.now() - t;
    await warm.end();

    console.log("\nMeasurements (sequential, this machine):");
    console.log(`  embedded PG start from empty dir : ${server.external ? "n/a (DATABASE_URL)" : `${startMs.toFixed(0)} ms`}`);
    console.log(`  ${N} HTTP neon() queries          : ${httpMs.toFixed(0)} ms total, ${(httpMs / N).toFixed(2)} ms/query`);
    console.log(`  ${N} Pool-per-query (WS connect)  : ${poolMs.toFixed(0)} ms total, ${(poolMs / N).toFixed(2)} ms/query`);
    console.log(`  ${N} queries on one warm WS Pool  : ${warmMs.toFixed(0)} ms total, ${(warmMs / N).toFixed(2)} ms/query`);
  } finally {
    await Promise.all(pools.map((p) => p.end().catch(() => {})));
    await frontDoor?.close();
    await dropDatabase(server.adminUrl, dbName).catch((err) => console.warn(`drop database failed: ${err.message}`));
    await server.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  }

  const failed = results.filter((r) => !r.ok);
  console.log(
    `\n${results.length - failed.length}/${results.length} checks passed${failed.length ? `; FAILED: ${failed.map((f) => f.name).join(" | ")}` : ""}`,
  );
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`FAIL  check run aborted: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
