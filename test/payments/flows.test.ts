import { describe, expect, it } from "vitest";
import { api, seedUser } from "../harness";
import {
  ageLastStatusRead,
  callsFor,
  DAY_MS,
  initiateListing,
  listingRow,
  ordersFor,
  payAtPaytm,
  postCallback,
  postWebhook,
  providerWithListing,
  webhooksFor,
} from "./support";

describe("payments: the apps' stories against the Paytm sandbox", () => {
  it("provider: initiate → WebView GET → pay → browser callback → verify → listing active 30 days; verify again is 'already processed'", async () => {
    const s = await providerWithListing();
    const init = await initiateListing(s);
    expect(init.status).toBe(200);
    expect(init.body.status).toBe("success");
    // Top level, as providerApp/app/payment.tsx reads them.
    const { orderId, paytmUrl } = init.body;
    expect(orderId).toMatch(/^ORDER_/);
    expect(paytmUrl).toContain(`/api/payments/checkout/${orderId}?sig=`);
    expect(init.body.data).toMatchObject({ orderId, amount: 99, amountPaise: 9900, validityDays: 30 });

    // The WebView opens paytmUrl with a plain GET: an auto-submitting form to Paytm's payment page.
    const page = await api("GET", new URL(paytmUrl).pathname + new URL(paytmUrl).search);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.text).toContain("/theia/api/v1/showPaymentPage?mid=");
    expect(page.text).toMatch(/name="txnToken" value="[^"]+"/);
    const forged = await api("GET", `/api/payments/checkout/${orderId}?sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
    expect(forged.status).toBe(403);

    const form = await payAtPaytm(orderId, "success");
    expect(form.callbackUrl).toBe("http://127.0.0.1:8787/api/payments/paytm-callback");
    const cb = await postCallback(form.formBody);
    expect(cb.status).toBe(200);
    expect(cb.text).toContain("Payment successful");

    const before = Date.now();
    const v = await api("POST", "/api/payments/verify-paytm", {
      token: s.provider.token,
      body: { orderId, providerServiceId: s.providerServiceId },
    });
    expect(v.status).toBe(200);
    expect(v.body.status).toBe("success");
    expect(v.body.data).toMatchObject({ validity: 30, amount: 99 });
    const days = (Date.parse(v.body.data.endDate) - Date.parse(v.body.data.startDate)) / DAY_MS;
    expect(days).toBe(30);

    const listing = await listingRow(s.providerServiceId);
    expect(listing.status).toBe("active");
    expect(Math.abs(Date.parse(listing.expires_at!) - (before + 30 * DAY_MS))).toBeLessThan(60_000);

    const again = await api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId } });
    expect(again.status).toBe(200);
    expect(again.body.message).toMatch(/already processed/i);
    expect(again.body.data.endDate).toBe(v.body.data.endDate);
    expect((await listingRow(s.providerServiceId)).expires_at).toBe(listing.expires_at);

    const calls = await callsFor(orderId);
    expect(calls.initiateTransaction).toBe(1);

    const hist = await api("GET", "/api/payments/transaction-history", { token: s.provider.token });
    expect(hist.status).toBe(200);
    expect(hist.body.data.transactions[0]).toMatchObject({ order_id: orderId, status: "completed", amount: 99 });
  });

  it("renewal extends from the current end date, not from now", async () => {
    const s = await providerWithListing();
    const first = await initiateListing(s);
    await payAtPaytm(first.body.orderId, "success");
    const v1 = await api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId: first.body.orderId } });
    expect(v1.status).toBe(200);
    const second = await initiateListing(s);
    expect(second.status).toBe(200);
    expect(second.body.orderId).not.toBe(first.body.orderId);
    await payAtPaytm(second.body.orderId, "success");
    const v2 = await api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId: second.body.orderId } });
    expect(v2.status).toBe(200);
    expect(v2.body.data.startDate).toBe(v1.body.data.endDate);
    expect(Date.parse(v2.body.data.endDate) - Date.parse(v1.body.data.endDate)).toBe(30 * DAY_MS);
  });

  it("customer: labour access via the S2S webhook alone; verify then says 'already processed'; access-status reads 7 days", async () => {
    const u = await seedUser("user");
    const init = await api("POST", "/api/payments/initiate-labour-payment", {
      token: u.token,
      body: { amount: 99, serviceName: "labors", paymentMethod: "paytm" },
    });
    expect(init.status).toBe(200);
    const { orderId } = init.body;
    expect(orderId).toMatch(/^LABOUR_/);
    const noAccess = await api("GET", "/api/payments/labour-access-status", { token: u.token });
    expect(noAccess.body.data).toMatchObject({ hasAccess: false, accessStatus: "inactive" });

    await payAtPaytm(orderId, "success");
    const hooks = await webhooksFor(orderId);
    expect(hooks.length).toBe(1);
    const w = await postWebhook(hooks[0]!);
    expect(w.status).toBe(200);

    const status = await api("GET", "/api/payments/labour-access-status", { token: u.token });
    expect(status.body.data).toMatchObject({ hasAccess: true, accessStatus: "active", isExpired: false, daysRemaining: 7 });
    expect((Date.parse(status.body.data.endDate) - Date.parse(status.body.data.startDate)) / DAY_MS).toBe(7);

    const v = await api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId } });
    expect(v.status).toBe(200);
    expect(v.body.message).toMatch(/already processed/i);

    const hist = await api("GET", "/api/payments/labour-transaction-history?limit=100", { token: u.token });
    expect(hist.body.data.transactions).toHaveLength(1);
    expect(hist.body.data.transactions[0]).toMatchObject({ order_id: orderId, status: "completed", amount: 99 });
    expect(hist.body.data.transactions[0].transaction_id).toBeTruthy();
  });

  it("a failed payment is not a success; retry-payment opens a new order that can be paid", async () => {
    const s = await providerWithListing();
    const init = await initiateListing(s);
    const form = await payAtPaytm(init.body.orderId, "failure");
    const cb = await postCallback(form.formBody);
    expect(cb.text).toContain("Payment failed");
    const v = await api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId: init.body.orderId } });
    expect(v.status).toBe(400);
    expect(v.body.errorCode).toBe("PAYMENT_VERIFICATION_ERROR");
    expect((await listingRow(s.providerServiceId)).status).toBe("pending");

    const retry = await api("POST", "/api/payments/retry-payment", { token: s.provider.token, body: { orderId: init.body.orderId } });
    expect(retry.status).toBe(200);
    expect(retry.body.orderId).not.toBe(init.body.orderId);
    expect(retry.body.paytmUrl).toBeTruthy();
    await payAtPaytm(retry.body.orderId, "success");
    const v2 = await api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId: retry.body.orderId } });
    expect(v2.status).toBe(200);
    const orders = await ordersFor({ providerServiceId: s.providerServiceId });
    expect(orders.map((o) => o.status)).toEqual(["failed", "paid"]);
  });

  it("a payment still pending at Paytm answers 409 PAYMENT_PENDING (no false failure), then completes", async () => {
    const u = await seedUser("user");
    const init = await api("POST", "/api/payments/initiate-labour-payment", { token: u.token, body: { amount: 99 } });
    await payAtPaytm(init.body.orderId, "pending");
    const v = await api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId: init.body.orderId } });
    expect(v.status).toBe(409);
    expect(v.body.errorCode).toBe("PAYMENT_PENDING");
    const { sandbox } = await import("./support");
    await sandbox("POST", `/__sandbox/orders/${init.body.orderId}/complete`, { outcome: "success" });
    await ageLastStatusRead(init.body.orderId); // past the verify read-reuse window
    const v2 = await api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId: init.body.orderId } });
    expect(v2.status).toBe(200);
  });
});
