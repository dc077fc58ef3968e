/**
 * Operations: GET /api/monitoring/metrics (admin only) reports live payment, refund, outbox and
 * dead-letter numbers from the database, and metric() writes one aggregatable JSON line per event.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { handleQueue } from "../../src/jobs/queue";
import { metric } from "../../src/lib/metrics";
import { api, seedUser, testDb } from "../harness";

const db = testDb();

async function seedOrder(userId: string, status: "paid" | "failed") {
  const orderId = `ORDER_MET_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const { rows } = await db.http.execute(
    sql`insert into payment_orders (paytm_order_id, user_id, purpose, amount_paise, validity_days, status, expires_at, gateway_txn_id, paid_at, failed_at)
        values (${orderId}, ${userId}, 'labour_access', 9900, 7, ${status}::payment_status, now() + interval '30 minutes',
                ${status === "paid" ? `TXN_${orderId}` : null}, ${status === "paid" ? sql`now()` : null}, ${status === "failed" ? sql`now()` : null})
        returning id`,
  );
  return (rows[0] as { id: string }).id;
}

describe("GET /api/monitoring/metrics", () => {
  it("is admin-only", async () => {
    const [u, p] = await Promise.all([seedUser("user"), seedUser("provider")]);
    expect((await api("GET", "/api/monitoring/metrics")).status).toBe(401);
    expect((await api("GET", "/api/monitoring/metrics", { token: u.token })).status).toBe(403);
    expect((await api("GET", "/api/monitoring/metrics", { token: p.token })).status).toBe(403);
  });

  it("counts paid and failed payments of the last hour and refunds needing attention", async () => {
    const admin = await seedUser("admin");
    const before = (await api("GET", "/api/monitoring/metrics", { token: admin.token })).body.data;
    const payer = await seedUser("user");
    const paidId = await seedOrder(payer.id, "paid");
    await seedOrder(payer.id, "failed");
    await seedOrder(payer.id, "failed");
    await db.http.execute(
      sql`insert into refunds (order_id, ref_id, amount_paise, reason, status) values (${paidId}, ${`REF_MET_${paidId.slice(0, 8)}`}, 9900, 'service_cancelled', 'needs_attention')`,
    );
    const res = await api("GET", "/api/monitoring/metrics", { token: admin.token });
    expect(res.status).toBe(200);
    const m = res.body.data;
    expect(m.payments.paid).toBeGreaterThanOrEqual(before.payments.paid + 1);
    expect(m.payments.failed).toBeGreaterThanOrEqual(before.payments.failed + 2);
    expect(m.payments.failureRate).toBeGreaterThan(0);
    expect(m.payments.failureRate).toBeLessThanOrEqual(1);
    expect(m.payments.successRate + m.payments.failureRate).toBeCloseTo(1, 3);
    expect(m.refunds.needsAttention).toBeGreaterThanOrEqual(before.refunds.needsAttention + 1);
    for (const k of ["backlog", "stuck"]) expect(Number.isInteger(m.outbox[k])).toBe(true);
    expect(Number.isInteger(m.deadLetters.last24h)).toBe(true);
  });
});

describe("log-derived metrics", () => {
  it("metric() writes one JSON line with a metric field, redacted", () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      metric("payment.outcome", { purpose: "labour_access", outcome: "failed", phone: "9876543210" });
      const line = JSON.parse(spy.mock.calls.at(-1)![0] as string);
      expect(line).toMatchObject({ metric: "payment.outcome", outcome: "failed", purpose: "labour_access" });
      expect(line.phone).not.toContain("9876543210");
    } finally {
      spy.mockRestore();
    }
  });

  it("a dead-letter batch emits queue.dead_letter with the message count", async () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => {});
    const errSpy = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const batch = { queue: "unregistered-test-dlq", messages: [{}, {}, {}], retryAll: () => {}, ackAll: () => {} };
      await handleQueue(batch as unknown as MessageBatch<unknown>, {} as Env, {} as ExecutionContext);
      const lines = spy.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"metric":"queue.dead_letter"'));
      expect(lines.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({ queue: "unregistered-test-dlq", count: 3 }));
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
    }
  });
});

describe("payments and refunds emit their outcome metrics", () => {
  it("a paid order logs payment.outcome paid; a completed refund logs refund.outcome completed", async () => {
    const { initiateListing, payAtPaytm, providerWithListing } = await import("../payments/support");
    const { completeAtPaytm, paidOrder, postRefundWebhook, refundWebhook, requestRefund, waitForStatus } = await import(
      "../refunds/support"
    );
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
    try {
      const s = await providerWithListing();
      const { orderId } = (await initiateListing(s)).body;
      await payAtPaytm(orderId, "success");
      const v = await api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId } });
      expect(v.status).toBe(200);
      const customer = await seedUser("user");
      const admin = await seedUser("admin");
      const order = await paidOrder(customer);
      const r = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "metrics" });
      const refId = r.body.data.refId as string;
      await vi.waitFor(async () => expect((await import("../refunds/support")).paytmRefund(refId)).resolves.not.toBeNull(), {
        timeout: 10_000,
      });
      await completeAtPaytm(refId).catch(() => undefined);
      await postRefundWebhook(await refundWebhook(refId));
      await waitForStatus(r.body.data.id, "completed");
    } finally {
      spy.mockRestore();
    }
    const metrics = lines.filter((l) => l.includes('"metric"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ metric: "payment.outcome", purpose: "listing_fee", outcome: "paid" }),
        expect.objectContaining({ metric: "refund.outcome", outcome: "completed", source: "webhook" }),
      ]),
    );
  });
});
