import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { pgCode, pgConstraint } from "../../src/db/client";
import { seedUser, testDb } from "../harness";

/**
 * The database itself refuses double booking, double payment and over-refunding, whatever the
 * application code does; and two transactions on one row really contend (real PostgreSQL).
 */
const db = testDb();
const one = async <T>(q: ReturnType<typeof sql>) => (await db.http.execute(q)).rows[0] as T;

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    return { code: pgCode(err), constraint: pgConstraint(err) };
  }
  throw new Error("expected the database to refuse the statement");
}

async function listing() {
  const provider = await seedUser("provider");
  const profile = await one<{ id: string }>(sql`insert into provider_profiles (user_id) values (${provider.id}) returning id`);
  const service = await one<{ id: string }>(sql`select id from services_master where name = 'plumber'`);
  const ls = await one<{ id: string }>(
    sql`insert into provider_services (provider_id, service_id, status, activated_at, expires_at)
        values (${profile.id}, ${service.id}, 'active', now(), now() + interval '30 days') returning id`,
  );
  return { providerId: profile.id, listingId: ls.id, providerUser: provider };
}

const booking = (customerId: string, l: { listingId: string; providerId: string }, at: string, key: string) =>
  db.http.execute(sql`insert into bookings (customer_id, provider_service_id, provider_id, selected_sub_services, total_price_paise,
      appointment_at, appointment_date, appointment_time, idempotency_key)
    values (${customerId}, ${l.listingId}, ${l.providerId}, '[{"slug":"tap","pricePaise":49900}]', 49900, ${at}::timestamptz,
      (${at}::timestamptz at time zone 'Asia/Kolkata')::date, '10:00 AM', ${key})`);

let seq = 0;
const paidOrder = async (userId: string, listingId: string, amount = 9900) =>
  one<{
    id: string;
  }>(sql`insert into payment_orders (paytm_order_id, user_id, purpose, provider_service_id, amount_paise, validity_days, status, expires_at, gateway_txn_id, paid_at)
    values (${`T_${Date.now()}_${++seq}`}, ${userId}, 'listing_fee', ${listingId}, ${amount}, 30, 'paid', now() + interval '30 minutes', ${`TXN_${Date.now()}_${seq}`}, now()) returning id`);

describe("schema constraints", () => {
  it("refuses a second booking with the same idempotency key, and a second live booking for the same slot", async () => {
    const customer = await seedUser("user");
    const l = await listing();
    await booking(customer.id, l, "2030-01-02T04:30:00Z", "key-1");
    expect(await failure(booking(customer.id, l, "2030-01-03T04:30:00Z", "key-1"))).toMatchObject({ code: "23505" });
    expect(await failure(booking(customer.id, l, "2030-01-02T04:30:00Z", "key-2"))).toMatchObject({ code: "23505" });
    const n = await one<{ n: number }>(sql`select count(*)::int as n from bookings where customer_id = ${customer.id}`);
    expect(n.n).toBe(1);
  });

  it("refuses a second successful payment for one order", async () => {
    const l = await listing();
    const order = await paidOrder(l.providerUser.id, l.listingId);
    await db.http.execute(
      sql`insert into payment_attempts (order_id, attempt_no, status, gateway_txn_id) values (${order.id}, 1, 'success', 'TXN-A')`,
    );
    const second = await failure(
      db.http.execute(
        sql`insert into payment_attempts (order_id, attempt_no, status, gateway_txn_id) values (${order.id}, 2, 'success', 'TXN-B')`,
      ),
    );
    expect(second.code).toBe("23505");
  });

  it("refuses refunds above the paid amount, also from concurrent transactions", async () => {
    const l = await listing();
    const order = await paidOrder(l.providerUser.id, l.listingId, 9900);
    const refund = (amount: number, ref: string) =>
      db.http.execute(sql`insert into refunds (order_id, ref_id, amount_paise, reason) values (${order.id}, ${ref}, ${amount}, 'test')`);
    await refund(6000, `R1_${order.id}`);
    expect((await failure(refund(4000, `R2_${order.id}`))).code).toBe("23514");
    // Two transactions each trying to take the remaining 3900 paise: exactly one wins.
    const racers = await Promise.allSettled([refund(3900, `R3_${order.id}`), refund(3900, `R4_${order.id}`)]);
    expect(racers.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const total = await one<{ s: number }>(sql`select sum(amount_paise)::int as s from refunds where order_id = ${order.id}`);
    expect(total.s).toBe(9900);
  });
});

describe("real row locks", () => {
  it("a second FOR UPDATE waits for the first transaction to commit and sees its write", async () => {
    const u = await seedUser("user");
    const a = testDb();
    const b = testDb();
    let firstCommittedAt = 0;
    const first = a.transaction(async (tx) => {
      await tx.execute(sql`select id from users where id = ${u.id} for update`);
      await tx.execute(sql`update users set name_change_count = name_change_count + 1 where id = ${u.id}`);
      await new Promise((r) => setTimeout(r, 300));
      firstCommittedAt = Date.now();
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = b.transaction(async (tx) => {
      const rows = await tx.execute(sql`select name_change_count from users where id = ${u.id} for update`);
      return { at: Date.now(), count: (rows.rows[0] as { name_change_count: number }).name_change_count };
    });
    const [, got] = await Promise.all([first, second]);
    expect(got.at).toBeGreaterThanOrEqual(firstCommittedAt);
    expect(got.count).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it("NOWAIT fails at once with 55P03 while the row is locked", async () => {
    const u = await seedUser("user");
    const a = testDb();
    const b = testDb();
    const holder = a.transaction(async (tx) => {
      await tx.execute(sql`select id from users where id = ${u.id} for update`);
      await new Promise((r) => setTimeout(r, 300));
    });
    await new Promise((r) => setTimeout(r, 50));
    const err = await failure(b.transaction((tx) => tx.execute(sql`select id from users where id = ${u.id} for update nowait`)));
    expect(err.code).toBe("55P03");
    await holder;
    await Promise.all([a.close(), b.close()]);
  });
});
