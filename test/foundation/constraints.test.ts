import { sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { pgCode, pgConstraint } from "../../src/db/client";
import { seedUser, testDb } from "../harness";

/**
 * The database itself makes the dangerous states impossible, whatever the application code does:
 * double booking, double payment, two open orders for one thing, refunds above what was paid (also
 * from concurrent transactions), illegal status changes, rewriting what was bought or paid. Each
 * guard is asserted by its name, and the last case of "database guards" fails when the schema gains
 * a guard (a named guard raised by a trigger, an exclusion constraint, a partial unique index) that
 * no case here sees refused. Two transactions on one row really contend (real PostgreSQL).
 */
const db = testDb();
type Row = Record<string, unknown>;
const one = async <T = Row>(q: ReturnType<typeof sql>) => (await db.http.execute(q)).rows[0] as T;
const run = (q: ReturnType<typeof sql>) => db.http.execute(q);

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    return { code: pgCode(err), constraint: pgConstraint(err) };
  }
  throw new Error("expected the database to refuse the statement");
}

const uid = () => crypto.randomUUID().replace(/-/g, "").slice(0, 20);

async function listing(provider?: Awaited<ReturnType<typeof seedUser>>) {
  const providerUser = provider ?? (await seedUser("provider"));
  const profile = await one<{ id: string }>(
    sql`insert into provider_profiles (user_id) values (${providerUser.id})
        on conflict (user_id) do update set user_id = excluded.user_id returning id`,
  );
  const service = await one<{ id: string }>(sql`select id from services_master where name = 'plumber'`);
  const ls = await one<{ id: string }>(
    sql`insert into provider_services (provider_id, service_id, status, activated_at, expires_at)
        values (${profile.id}, ${service.id}, 'active', now(), now() + interval '30 days') returning id`,
  );
  return { providerId: profile.id, listingId: ls.id, serviceId: service.id, providerUser };
}

const booking = (customerId: string, l: { listingId: string; providerId: string }, at: string, key: string | null = uid()) =>
  one<{ id: string }>(sql`insert into bookings (customer_id, provider_service_id, provider_id, selected_sub_services, total_price_paise,
      appointment_at, appointment_date, appointment_time, idempotency_key)
    values (${customerId}, ${l.listingId}, ${l.providerId}, '[{"slug":"tap","pricePaise":49900}]', 49900, ${at}::timestamptz,
      (${at}::timestamptz at time zone 'Asia/Kolkata')::date, '10:00 AM', ${key}) returning id`);

const setBooking = (id: string, status: string) => run(sql`update bookings set status = ${status}::booking_status where id = ${id}`);

type OrderOpts = { listingId?: string | null; status?: "created" | "pending" | "paid"; amount?: number; txn?: string };
const order = (userId: string, o: OrderOpts = {}) => {
  const status = o.status ?? "created";
  const txn = o.txn ?? (status === "paid" ? `TXN_${uid()}` : null);
  return one<{ id: string }>(sql`insert into payment_orders (paytm_order_id, user_id, purpose, provider_service_id, amount_paise,
      validity_days, status, expires_at, gateway_txn_id, paid_at)
    values (${`G_${uid()}`}, ${userId}, ${o.listingId ? "listing_fee" : "labour_access"}::payment_purpose, ${o.listingId ?? null},
      ${o.amount ?? 9900}, 30, ${status}::payment_status, now() + interval '30 minutes', ${txn}, ${status === "paid" ? sql`now()` : sql`null`})
    returning id`);
};

const refund = (orderId: string, amount: number, refId = `R_${uid()}`) =>
  db.http.execute(sql`insert into refunds (order_id, ref_id, amount_paise, reason) values (${orderId}, ${refId}, ${amount}, 'test')`);

/** Every guard a case below asserts by name; the completeness case compares them with the schema's. */
const CASES: string[] = [];
function guard(name: string, title: string, fn: () => Promise<void>) {
  CASES.push(name);
  it(`${name}: ${title}`, fn);
}

describe("database guards", () => {
  describe("bookings", () => {
    guard("bookings_customer_idempotency_key_uq", "a second booking with the same idempotency key is refused", async () => {
      const customer = await seedUser("user");
      const l = await listing();
      await booking(customer.id, l, "2030-01-02T04:30:00Z", "key-1");
      expect(await failure(booking(customer.id, l, "2030-01-03T04:30:00Z", "key-1"))).toEqual({
        code: "23505",
        constraint: "bookings_customer_idempotency_key_uq",
      });
    });

    guard(
      "bookings_one_live_per_slot_uq",
      "a second live booking of one slot is refused; once cancelled, the slot can be booked again",
      async () => {
        const customer = await seedUser("user");
        const l = await listing();
        const first = await booking(customer.id, l, "2030-01-02T04:30:00Z");
        expect(await failure(booking(customer.id, l, "2030-01-02T04:30:00Z"))).toEqual({
          code: "23505",
          constraint: "bookings_one_live_per_slot_uq",
        });
        await setBooking(first.id, "cancelled");
        await booking(customer.id, l, "2030-01-02T04:30:00Z");
        const n = await one<{ n: number }>(sql`select count(*)::int as n from bookings where customer_id = ${customer.id}`);
        expect(n.n).toBe(2);
      },
    );

    guard("bookings_provider_one_accepted_per_slot_uq", "a provider cannot accept two bookings for the same time", async () => {
      const l = await listing();
      const [a, b] = await Promise.all([seedUser("user"), seedUser("user")]);
      const first = await booking(a.id, l, "2030-02-01T05:30:00Z");
      const second = await booking(b.id, l, "2030-02-01T05:30:00Z"); // pending requests may overlap
      await setBooking(first.id, "accepted");
      expect(await failure(setBooking(second.id, "accepted"))).toEqual({
        code: "23505",
        constraint: "bookings_provider_one_accepted_per_slot_uq",
      });
    });

    guard("bookings_listing_of_provider_fk", "a booking cannot name another provider's listing", async () => {
      const customer = await seedUser("user");
      const [l, other] = await Promise.all([listing(), listing()]);
      expect(await failure(booking(customer.id, { listingId: l.listingId, providerId: other.providerId }, "2030-01-05T04:30:00Z"))).toEqual(
        {
          code: "23503",
          constraint: "bookings_listing_of_provider_fk",
        },
      );
    });

    guard(
      "bookings_transition",
      "pending → completed and cancelled → accepted are refused; pending → accepted → completed is stamped",
      async () => {
        const customer = await seedUser("user");
        const l = await listing();
        const a = await booking(customer.id, l, "2030-01-06T04:30:00Z");
        expect(await failure(setBooking(a.id, "completed"))).toEqual({ code: "23514", constraint: "bookings_transition" });
        await setBooking(a.id, "cancelled");
        expect(await failure(setBooking(a.id, "accepted"))).toEqual({ code: "23514", constraint: "bookings_transition" });
        const b = await booking(customer.id, l, "2030-01-07T04:30:00Z");
        await setBooking(b.id, "accepted");
        await setBooking(b.id, "completed");
        const row = await one<{ accepted: boolean; completed: boolean }>(
          sql`select accepted_at is not null as accepted, completed_at is not null as completed from bookings where id = ${b.id}`,
        );
        expect(row).toEqual({ accepted: true, completed: true });
      },
    );

    guard("bookings_immutable", "the price and the parties of a booking never change", async () => {
      const customer = await seedUser("user");
      const l = await listing();
      const b = await booking(customer.id, l, "2030-01-08T04:30:00Z");
      expect(await failure(run(sql`update bookings set total_price_paise = 100 where id = ${b.id}`))).toEqual({
        code: "23514",
        constraint: "bookings_immutable",
      });
      const other = await seedUser("user");
      expect(await failure(run(sql`update bookings set customer_id = ${other.id} where id = ${b.id}`))).toEqual({
        code: "23514",
        constraint: "bookings_immutable",
      });
    });
  });

  describe("payments", () => {
    guard("payment_orders_one_open_listing_fee_uq", "one open order per listing; once it is paid, a new one may open", async () => {
      const l = await listing();
      const first = await order(l.providerUser.id, { listingId: l.listingId });
      expect(await failure(order(l.providerUser.id, { listingId: l.listingId, status: "pending" }))).toEqual({
        code: "23505",
        constraint: "payment_orders_one_open_listing_fee_uq",
      });
      await run(sql`update payment_orders set status = 'paid', gateway_txn_id = ${`TXN_${uid()}`} where id = ${first.id}`);
      await order(l.providerUser.id, { listingId: l.listingId });
    });

    guard("payment_orders_one_open_without_listing_uq", "one open labour-access order per user", async () => {
      const customer = await seedUser("user");
      await order(customer.id);
      expect(await failure(order(customer.id))).toEqual({ code: "23505", constraint: "payment_orders_one_open_without_listing_uq" });
    });

    guard("payment_attempts_one_success_uq", "a second successful payment attempt for one order is refused", async () => {
      const customer = await seedUser("user");
      const o = await order(customer.id, { status: "pending" });
      const attempt = (n: number) =>
        run(
          sql`insert into payment_attempts (order_id, attempt_no, status, gateway_txn_id) values (${o.id}, ${n}, 'success', ${`TXN_${uid()}`})`,
        );
      await attempt(1);
      expect(await failure(attempt(2))).toEqual({ code: "23505", constraint: "payment_attempts_one_success_uq" });
    });

    guard("payment_attempts_transition", "a successful attempt is final and keeps its transaction", async () => {
      const customer = await seedUser("user");
      const o = await order(customer.id, { status: "pending" });
      const a = await one<{ id: string }>(
        sql`insert into payment_attempts (order_id, attempt_no, status, gateway_txn_id) values (${o.id}, 1, 'success', ${`TXN_${uid()}`}) returning id`,
      );
      expect(await failure(run(sql`update payment_attempts set status = 'failure' where id = ${a.id}`))).toEqual({
        code: "23514",
        constraint: "payment_attempts_transition",
      });
      expect(await failure(run(sql`update payment_attempts set gateway_txn_id = 'OTHER' where id = ${a.id}`))).toEqual({
        code: "23514",
        constraint: "payment_attempts_transition",
      });
    });

    guard("payment_attempts_immutable", "an attempt's order and number never change", async () => {
      const customer = await seedUser("user");
      const o = await order(customer.id, { status: "pending" });
      const a = await one<{ id: string }>(sql`insert into payment_attempts (order_id, attempt_no) values (${o.id}, 1) returning id`);
      expect(await failure(run(sql`update payment_attempts set attempt_no = 2 where id = ${a.id}`))).toEqual({
        code: "23514",
        constraint: "payment_attempts_immutable",
      });
    });

    guard("payment_orders_gateway_txn_id_uq", "one gateway transaction cannot pay two orders", async () => {
      const customer = await seedUser("user");
      const txn = `TXN_${uid()}`;
      await order(customer.id, { status: "paid", txn });
      const l = await listing();
      expect(await failure(order(l.providerUser.id, { listingId: l.listingId, status: "paid", txn }))).toEqual({
        code: "23505",
        constraint: "payment_orders_gateway_txn_id_uq",
      });
    });

    guard("payment_orders_write_once", "a paid order's transaction, payment time and activation are written once", async () => {
      const customer = await seedUser("user");
      const o = await order(customer.id, { status: "paid" });
      expect(await failure(run(sql`update payment_orders set gateway_txn_id = 'TXN_OTHER' where id = ${o.id}`))).toEqual({
        code: "23514",
        constraint: "payment_orders_write_once",
      });
      expect(await failure(run(sql`update payment_orders set paid_at = now() + interval '1 minute' where id = ${o.id}`))).toEqual({
        code: "23514",
        constraint: "payment_orders_write_once",
      });
      await run(
        sql`update payment_orders set activated_at = now(), granted_from = now(), granted_until = now() + interval '7 days' where id = ${o.id}`,
      );
      expect(await failure(run(sql`update payment_orders set activated_at = now() + interval '1 second' where id = ${o.id}`))).toEqual({
        code: "23514",
        constraint: "payment_orders_write_once",
      });
    });

    guard("payment_orders_transition", "paid is final; a failed order can still become paid (Paytm reports the money late)", async () => {
      const customer = await seedUser("user");
      const paid = await order(customer.id, { status: "paid" });
      expect(await failure(run(sql`update payment_orders set status = 'pending' where id = ${paid.id}`))).toEqual({
        code: "23514",
        constraint: "payment_orders_transition",
      });
      const other = await seedUser("user");
      const late = await order(other.id, { status: "pending" });
      await run(sql`update payment_orders set status = 'failed' where id = ${late.id}`);
      expect(await failure(run(sql`update payment_orders set status = 'created' where id = ${late.id}`))).toEqual({
        code: "23514",
        constraint: "payment_orders_transition",
      });
      await run(sql`update payment_orders set status = 'paid', gateway_txn_id = ${`TXN_${uid()}`} where id = ${late.id}`);
    });

    guard("payment_orders_immutable", "what was bought and its price never change", async () => {
      const customer = await seedUser("user");
      const o = await order(customer.id);
      expect(await failure(run(sql`update payment_orders set amount_paise = 1 where id = ${o.id}`))).toEqual({
        code: "23514",
        constraint: "payment_orders_immutable",
      });
    });
  });

  describe("refunds", () => {
    guard(
      "refunds_within_paid_amount",
      "refunds above the paid amount, or of an unpaid order, are refused; a failed one frees its amount",
      async () => {
        const customer = await seedUser("user");
        const paid = await order(customer.id, { status: "paid", amount: 9900 });
        await refund(paid.id, 5000);
        await refund(paid.id, 4900, `R_FREE_${paid.id.slice(0, 8)}`);
        expect(await failure(refund(paid.id, 1))).toEqual({ code: "23514", constraint: "refunds_within_paid_amount" });

        await run(sql`update refunds set status = 'failed', failure_reason = 'test' where order_id = ${paid.id} and amount_paise = 4900`);
        await refund(paid.id, 4900);
        await run(sql`update refunds set status = 'completed' where order_id = ${paid.id} and amount_paise = 5000`);
        const totals = await one(sql`select refunded_amount_paise, refunds_open_paise from payment_orders where id = ${paid.id}`);
        expect(totals).toEqual({ refunded_amount_paise: 5000, refunds_open_paise: 4900 });

        const other = await seedUser("user");
        const unpaid = await order(other.id);
        expect(await failure(refund(unpaid.id, 100))).toEqual({ code: "23514", constraint: "refunds_within_paid_amount" });
      },
    );

    // The second of two concurrent refunds waits for the first (the order row lock), then is refused:
    // by the cap under READ COMMITTED, as a serialization failure under the stricter levels.
    it.each([
      ["read committed", "23514"],
      ["repeatable read", "40001"],
      ["serializable", "40001"],
    ] as const)(
      "refunds_within_paid_amount: two concurrent refunds above the paid amount, %s: the second waits, then fails (%s)",
      async (level, code) => {
        const customer = await seedUser("user");
        const paid = await order(customer.id, { status: "paid", amount: 9900 });
        const [a, b] = [testDb(), testDb()];
        let firstInserted!: () => void;
        const inserted = new Promise<void>((r) => {
          firstInserted = r;
        });
        let secondWaiting!: () => void;
        const waiting = new Promise<void>((r) => {
          secondWaiting = r;
        });
        let secondPid!: (pid: number) => void;
        const pid = new Promise<number>((r) => {
          secondPid = r;
        });
        try {
          // The second transaction takes its snapshot before the first inserts.
          const second = b.transaction(
            async (tx) => {
              secondPid(((await tx.execute(sql`select pg_backend_pid() as pid`)).rows[0] as { pid: number }).pid);
              await inserted;
              await tx.execute(
                sql`insert into refunds (order_id, ref_id, amount_paise, reason) values (${paid.id}, ${`R_${uid()}`}, 6000, 'test')`,
              );
            },
            { isolationLevel: level },
          );
          const first = a.transaction(
            async (tx) => {
              await pid;
              await tx.execute(
                sql`insert into refunds (order_id, ref_id, amount_paise, reason) values (${paid.id}, ${`R_${uid()}`}, 6000, 'test')`,
              );
              firstInserted();
              await waiting; // commit only once the second is blocked on the order row
            },
            { isolationLevel: level },
          );
          const secondBackend = await pid;
          await vi.waitFor(
            async () => {
              const r = await one<{ blocked: boolean }>(sql`select cardinality(pg_blocking_pids(${secondBackend}::int)) > 0 as blocked`);
              expect(r.blocked).toBe(true);
            },
            { timeout: 10_000, interval: 20 },
          );
          secondWaiting();
          const [committed, refused] = await Promise.allSettled([first, second]);
          expect(committed.status).toBe("fulfilled");
          expect(refused.status === "rejected" && pgCode(refused.reason)).toBe(code);
          const total = await one<{ s: number }>(sql`select sum(amount_paise)::int as s from refunds where order_id = ${paid.id}`);
          expect(total.s).toBe(6000);
        } finally {
          secondWaiting();
          firstInserted();
          await Promise.all([a.close(), b.close()]);
        }
      },
    );

    guard("refunds_transition", "completed and failed refunds are final", async () => {
      const customer = await seedUser("user");
      const paid = await order(customer.id, { status: "paid" });
      const ref = `R_${uid()}`;
      await refund(paid.id, 100, ref);
      await run(sql`update refunds set status = 'failed', failure_reason = 'test' where ref_id = ${ref}`);
      expect(await failure(run(sql`update refunds set status = 'pending' where ref_id = ${ref}`))).toEqual({
        code: "23514",
        constraint: "refunds_transition",
      });
    });

    guard(
      "refunds_immutable",
      "a refund's order, refId, amount and reason never change (a new refId for the same money is a double refund)",
      async () => {
        const customer = await seedUser("user");
        const paid = await order(customer.id, { status: "paid" });
        const ref = `R_${uid()}`;
        await refund(paid.id, 100, ref);
        expect(await failure(run(sql`update refunds set amount_paise = 200 where ref_id = ${ref}`))).toEqual({
          code: "23514",
          constraint: "refunds_immutable",
        });
        expect(await failure(run(sql`update refunds set ref_id = ${`R_${uid()}`} where ref_id = ${ref}`))).toEqual({
          code: "23514",
          constraint: "refunds_immutable",
        });
      },
    );

    guard("refunds_ref_id_uq", "a refId is used once", async () => {
      const customer = await seedUser("user");
      const paid = await order(customer.id, { status: "paid" });
      const ref = `R_${uid()}`;
      await refund(paid.id, 100, ref);
      expect(await failure(refund(paid.id, 100, ref))).toEqual({ code: "23505", constraint: "refunds_ref_id_uq" });
    });

    guard("refunds_order_id_payment_orders_id_fk", "a refund of an order that does not exist is refused", async () => {
      expect(await failure(refund(crypto.randomUUID(), 100))).toEqual({
        code: "23503",
        constraint: "refunds_order_id_payment_orders_id_fk",
      });
    });
  });

  describe("labour access, accounts, listings, calls", () => {
    guard("labour_access_no_overlap", "one user's labour-access windows never overlap", async () => {
      const customer = await seedUser("user");
      const [o1, o2] = [await order(customer.id, { status: "paid" }), await order(customer.id, { status: "paid" })];
      const grant = (orderId: string, from: string, days: number) =>
        run(sql`insert into labour_access (user_id, order_id, starts_at, expires_at)
                values (${customer.id}, ${orderId}, ${from}::timestamptz, ${from}::timestamptz + make_interval(days => ${days}))`);
      await grant(o1.id, "2030-01-01T00:00:00Z", 7);
      expect(await failure(grant(o2.id, "2030-01-05T00:00:00Z", 7))).toEqual({ code: "23P01", constraint: "labour_access_no_overlap" });
      await grant(o2.id, "2030-01-08T00:00:00Z", 7); // a renewal starts where the window ends
    });

    guard("users_phone_role_live_uq", "one live account per phone and role; a deleted account frees its phone", async () => {
      const u = await seedUser("user");
      const account = (role: string) =>
        run(sql`insert into users (role, phone, full_name, password_hash) values (${role}::user_role, ${u.phone}, 'Twin', 'x')`);
      expect(await failure(account("user"))).toEqual({ code: "23505", constraint: "users_phone_role_live_uq" });
      await account("provider");
      await run(sql`update users set deleted_at = now() where id = ${u.id}`);
      await account("user");
    });

    guard("users_email_role_live_uq", "one live account per email and role", async () => {
      const email = `${uid().toLowerCase()}@example.com`;
      await seedUser("user", { email });
      expect(await failure(seedUser("user", { email }))).toEqual({ code: "23505", constraint: "users_email_role_live_uq" });
    });

    guard("addresses_one_home_per_user_uq", "one home address per user", async () => {
      const u = await seedUser("user");
      const home = () => run(sql`insert into addresses (user_id, type, city) values (${u.id}, 'home', 'Pune')`);
      await home();
      expect(await failure(home())).toEqual({ code: "23505", constraint: "addresses_one_home_per_user_uq" });
      await run(sql`insert into addresses (user_id, type, city) values (${u.id}, 'office', 'Pune')`);
    });

    guard("otp_challenges_open_uq", "one open OTP challenge per phone, role and purpose", async () => {
      const u = await seedUser("user");
      const challenge = () =>
        run(sql`insert into otp_challenges (phone, role, purpose, code_hash, expires_at)
                values (${u.phone}, 'user', 'login', 'h', now() + interval '5 minutes')`);
      await challenge();
      expect(await failure(challenge())).toEqual({ code: "23505", constraint: "otp_challenges_open_uq" });
    });

    guard("refresh_tokens_one_child_uq", "a refresh token is rotated into one successor only", async () => {
      const u = await seedUser("user");
      const family = crypto.randomUUID();
      const token = (parent: string | null) =>
        one<{ id: string }>(sql`insert into refresh_tokens (session_id, user_id, family_id, token_hash, parent_id, expires_at)
          values (${u.sessionId}, ${u.id}, ${family}, ${uid()}, ${parent}, now() + interval '30 days') returning id`);
      const parent = await token(null);
      await token(parent.id);
      expect(await failure(token(parent.id))).toEqual({ code: "23505", constraint: "refresh_tokens_one_child_uq" });
    });

    guard("provider_services_live_uq", "a provider lists a service once, unless that listing was deleted", async () => {
      const l = await listing();
      const again = () =>
        run(sql`insert into provider_services (provider_id, service_id, status) values (${l.providerId}, ${l.serviceId}, 'pending')`);
      expect(await failure(again())).toEqual({ code: "23505", constraint: "provider_services_live_uq" });
      await run(sql`update provider_services set status = 'deleted', deleted_at = now() where id = ${l.listingId}`);
      await again();
    });

    guard("call_sessions_one_live_per_booking_uq", "one ringing or active call per booking", async () => {
      const customer = await seedUser("user");
      const l = await listing();
      const b = await booking(customer.id, l, "2030-03-01T04:30:00Z");
      const ring = () =>
        run(sql`insert into call_sessions (booking_id, caller_id, receiver_id, caller_role)
                values (${b.id}, ${customer.id}, ${l.providerUser.id}, 'user')`);
      await ring();
      expect(await failure(ring())).toEqual({ code: "23505", constraint: "call_sessions_one_live_per_booking_uq" });
    });
  });

  it("every guard in the schema has a case above that sees it refuse (guard triggers, exclusion constraints, partial unique indexes)", async () => {
    const { rows } = await db.http.execute(sql`
      select distinct (regexp_matches(p.prosrc, 'CONSTRAINT = ''([a-z0-9_]+)''', 'g'))[1] as name
        from pg_trigger t join pg_proc p on p.oid = t.tgfoid where not t.tgisinternal
      union
      select conname from pg_constraint where contype = 'x' and connamespace = 'public'::regnamespace
      union
      select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid
       where i.indisunique and i.indpred is not null and c.relnamespace = 'public'::regnamespace`);
    const inSchema = (rows as { name: string }[]).map((r) => r.name).sort();
    expect(inSchema.length).toBeGreaterThan(20);
    expect(inSchema.filter((name) => !CASES.includes(name))).toEqual([]);
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
