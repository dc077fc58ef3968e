/**
 * Our Paytm client against the local sandbox (scripts/paytm/), with the official npm `paytmchecksum`
 * as the independent verifier of everything the sandbox signs. The cases follow one merchant's day:
 * an order is initiated, paid in the browser, refunded, then Paytm misbehaves. A stand-in for our
 * API receives the browser callback and the webhooks. Runs on Node: the sandbox is Node-side tooling.
 */
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type StartedPaytmSandbox, startPaytmSandbox } from "../../../scripts/paytm/server.ts";
import { paiseToRupees } from "../../../src/paytm/amount";
import { generateSignature } from "../../../src/paytm/checksum";
import { createPaytmClient, type PaytmCallLog, resetPaytmCircuitBreakers } from "../../../src/paytm/client";
import { signedEnvelope } from "../../../src/paytm/envelope";
import { parseFormNotification, verifyFormNotification, verifyRefundNotification } from "../../../src/paytm/notification";

const official = createRequire(import.meta.url)("paytmchecksum") as {
  verifySignature(params: string | Record<string, string>, key: string, checksum: string): boolean;
};

const MID = "BXCHECKMID0000000001";
const KEY = "k3y&With#Sym@%!9"; // made up, 16 bytes
const WEBSITE = "WEBSTAGING";

function officialVerify(params: string | Record<string, string>, checksum: string): boolean {
  const log = console.log;
  console.log = () => {}; // the npm lib logs padding errors
  try {
    return official.verifySignature(typeof params === "string" ? params : { ...params }, KEY, checksum);
  } finally {
    console.log = log;
  }
}

function formFromHtml(html: string): { action: string; fields: Record<string, string> } {
  const decode = (s: string) => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
  const action = decode(/<form id="paytm-callback" method="post" action="([^"]*)"/.exec(html)?.[1] ?? "");
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[decode(m[1] ?? "")] = decode(m[2] ?? "");
  return { action, fields };
}

const received: { path: string; contentType: string; body: string }[] = [];
let receiver: Server;
let callbackUrl: string;
let sb: StartedPaytmSandbox;
const logs: PaytmCallLog[] = [];
let base: Parameters<typeof createPaytmClient>[0];
let client: ReturnType<typeof createPaytmClient>;
/** Short timeouts, for the faults that hold an answer. */
let fast: ReturnType<typeof createPaytmClient>;
const calls = () => sb.stats().calls;
const tokens: string[] = [];
let txnId = "";

/** What the stand-in API received on `path` whose body mentions `needle`, once it has arrived. */
const arrival = (path: string, needle: string, count = 1) =>
  vi.waitFor(
    () => {
      const hits = received.filter((r) => r.path === path && r.body.includes(needle));
      expect(hits.length).toBeGreaterThanOrEqual(count);
      return hits;
    },
    { timeout: 5_000, interval: 20 },
  );

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        contentType: String(req.headers["content-type"] ?? ""),
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  const apiBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  callbackUrl = `${apiBase}/api/payments/paytm-callback`;
  sb = await startPaytmSandbox({
    merchants: { [MID]: { key: KEY, website: WEBSITE } },
    webhookUrl: `${apiBase}/api/payments/paytm-webhook`,
    refundWebhookUrl: `${apiBase}/api/payments/paytm-refund-webhook`,
    behaviour: { refundDelayMs: 200 },
  });
  base = { mid: MID, merchantKey: KEY, host: sb.url, website: WEBSITE, log: (e: PaytmCallLog) => logs.push(e) };
  client = createPaytmClient({ ...base, timeoutMs: 2_000, retries: 2 });
  fast = createPaytmClient({ ...base, timeoutMs: 300, retries: 2 });
});

afterAll(async () => {
  await sb?.close();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
});

describe("Paytm sandbox ↔ our client, checked by the official paytmchecksum", () => {
  it("amounts are rupee strings with two decimals", () => {
    expect([paiseToRupees(9900), paiseToRupees(1), paiseToRupees(12345)]).toEqual(["99.00", "0.01", "123.45"]);
  });

  it("initiate returns a txnToken; the same initiate again is idempotent (0002, same token)", async () => {
    const init = await client.initiateTransaction({ orderId: "ORD_A", amountPaise: 9900, customerId: "user-42", callbackUrl });
    expect(init).toMatchObject({ ok: true, idempotent: false, amount: "99.00" });
    expect(calls().initiateTransaction).toBe(1);
    expect(sb.stats().callsByOrder.ORD_A?.initiateTransaction).toBe(1);
    const token = init.ok ? init.txnToken : "";
    tokens.push(token);
    const again = await client.initiateTransaction({ orderId: "ORD_A", amountPaise: 9900, customerId: "user-42", callbackUrl });
    expect(again).toMatchObject({ ok: true, idempotent: true, txnToken: token });
  });

  it("the sandbox verifies over the raw body text: a body re-serialised after signing is refused (2005)", async () => {
    const body = {
      requestType: "Payment",
      mid: MID,
      websiteName: WEBSITE,
      orderId: "ORD_RAW",
      callbackUrl,
      txnAmount: { value: "1.00", currency: "INR" },
      userInfo: { custId: "u" },
    };
    const sig = await generateSignature(JSON.stringify(body), KEY);
    const res = await fetch(`${sb.url}/theia/api/v1/initiateTransaction?mid=${MID}&orderId=ORD_RAW`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ head: { signature: sig }, body }, null, 2),
    });
    const json = (await res.json()) as { body: { resultInfo: { resultCode: string } } };
    expect(json.body.resultInfo.resultCode).toBe("2005");
  });

  it("browser checkout: payment page and CheckoutJS stand-in; PENDING until paid; the callback is signed (official and ours) and survives form encoding", async () => {
    const token = tokens[0]!;
    const page = await fetch(`${sb.url}/theia/api/v1/showPaymentPage?mid=${MID}&orderId=ORD_A`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ mid: MID, orderId: "ORD_A", txnToken: token }).toString(),
    });
    const pageHtml = await page.text();
    expect(page.status).toBe(200);
    expect(pageHtml).toContain('data-outcome="success"');
    expect(pageHtml).toContain("₹99.00");
    const js = await fetch(`${sb.url}/merchantpgpui/checkoutjs/merchants/${MID}.js`);
    expect(js.status).toBe(200);
    expect(await js.text()).toContain("CheckoutJS");

    expect(await client.orderStatus("ORD_A")).toMatchObject({ ok: true, status: "PENDING" });

    await fetch(`${sb.url}/__sandbox/orders/ORD_A/outcome`, { method: "POST", body: JSON.stringify({ outcome: "success" }) });
    const payRes = await fetch(`${sb.url}/theia/sandbox/pay`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ mid: MID, orderId: "ORD_A", txnToken: token }).toString(),
    });
    const cb = formFromHtml(await payRes.text());
    expect(cb.action).toBe(callbackUrl);
    expect(cb.fields.STATUS).toBe("TXN_SUCCESS");
    expect(officialVerify(cb.fields, cb.fields.CHECKSUMHASH ?? "")).toBe(true);

    // Posted the way the browser would: what our API receives must verify with ours.
    await fetch(cb.action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(cb.fields).toString(),
    });
    const [cbReceived] = await arrival("/api/payments/paytm-callback", "ORD_A");
    const verified = await verifyFormNotification(cbReceived!.body, KEY);
    expect(verified).toMatchObject({ ok: true, amountPaise: 9900 });
    expect(verified.ok && verified.fields.STATUS).toBe("TXN_SUCCESS");
    expect(parseFormNotification(cbReceived!.body)).toEqual(cb.fields);

    // A checksum containing '+' must be percent-encoded; a raw '+' would decode to a space (docs/payments.md §1.8).
    const { CHECKSUMHASH: _drop, ...unsigned } = cb.fields;
    let withPlus = "";
    for (let i = 0; i < 200 && !withPlus.includes("+"); i++) withPlus = await generateSignature(unsigned, KEY);
    expect(withPlus).toContain("+");
    const encoded = new URLSearchParams({ ...unsigned, CHECKSUMHASH: withPlus }).toString();
    expect((await verifyFormNotification(encoded, KEY)).ok).toBe(true);
    expect(officialVerify(parseFormNotification(encoded), withPlus)).toBe(true);
    const rawPlus = encoded.replace(/CHECKSUMHASH=[^&]*/, `CHECKSUMHASH=${withPlus}`);
    expect((await verifyFormNotification(rawPlus, KEY)).ok).toBe(false);

    const repay = await fetch(`${sb.url}/theia/sandbox/pay`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ mid: MID, orderId: "ORD_A", txnToken: token, outcome: "failure" }).toString(),
    });
    expect(repay.status, "txnToken is single-use").toBe(409);

    const paid = await client.orderStatus("ORD_A");
    expect(paid).toMatchObject({ ok: true, status: "TXN_SUCCESS", amountPaise: 9900, txnId: cb.fields.TXNID, signed: true });
    txnId = paid.ok ? (paid.txnId ?? "") : "";
  });

  it("the S2S payment webhook is form-encoded, signed (official) and carries CUSTID; a paid orderId cannot be initiated again (334)", async () => {
    const [hook] = await arrival("/api/payments/paytm-webhook", "ORDERID=ORD_A");
    const fields = parseFormNotification(hook!.body);
    expect(hook!.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect(officialVerify(fields, fields.CHECKSUMHASH ?? "")).toBe(true);
    expect(fields.CUSTID).toBe("user-42");

    const dup = await client.initiateTransaction({ orderId: "ORD_A", amountPaise: 9900, customerId: "user-42", callbackUrl });
    expect(dup).toMatchObject({ ok: false, kind: "duplicate", resultCode: "334" });
  });

  it("refunds: apply → PENDING, same refId again → duplicate (701), settles to TXN_SUCCESS with a signed JSON webhook; above the paid amount → declined (619)", async () => {
    const r1 = await client.refundApply({ orderId: "ORD_A", refId: "REF_1", txnId, amountPaise: 5000 });
    expect(r1).toMatchObject({ ok: true, status: "PENDING", refundAmountPaise: 5000 });
    expect(r1.ok && r1.refundId).toBeTruthy();
    const dup = await client.refundApply({ orderId: "ORD_A", refId: "REF_1", txnId, amountPaise: 5000 });
    expect(dup).toMatchObject({ ok: false, kind: "duplicate", resultCode: "701" });
    expect(calls().refundApply).toBe(2);
    expect(sb.stats().callsByRefId.REF_1?.refundApply).toBe(2);
    expect(await client.refundStatus({ orderId: "ORD_A", refId: "REF_1" })).toMatchObject({ ok: true, status: "PENDING" });

    await vi.waitFor(
      async () =>
        expect(await client.refundStatus({ orderId: "ORD_A", refId: "REF_1" })).toMatchObject({
          ok: true,
          status: "TXN_SUCCESS",
          totalRefundAmountPaise: 5000,
        }),
      { timeout: 5_000, interval: 50 },
    );
    const [hook] = await arrival("/api/payments/paytm-refund-webhook", "REF_1");
    const parsed = JSON.parse(hook!.body) as { head: { signature: string }; body: Record<string, unknown> };
    expect(officialVerify(JSON.stringify(parsed.body), parsed.head.signature)).toBe(true);
    expect(parsed.body.status).toBe("SUCCESS");
    expect(await verifyRefundNotification(hook!.body, KEY)).toMatchObject({ ok: true, refundAmountPaise: 5000 });

    expect(await client.refundStatus({ orderId: "ORD_A", refId: "REF_NOPE" })).toMatchObject({ ok: false, kind: "not_found" });
    const over = await client.refundApply({ orderId: "ORD_A", refId: "REF_2", txnId, amountPaise: 5000 });
    expect(over).toMatchObject({ ok: false, kind: "declined", resultCode: "619" });
    expect(await client.orderStatus("ORD_A")).toMatchObject({ ok: true, refundedPaise: 5000 });
  });

  it("an initiate that times out is ambiguous and sent once; status reconciles it and re-initiating the same orderId is idempotent", async () => {
    const before = calls().initiateTransaction;
    sb.injectFault({ endpoint: "initiateTransaction", mode: "timeout", hangMs: 5_000 });
    const timedOut = await fast.initiateTransaction({ orderId: "ORD_B", amountPaise: 19900, customerId: "user-7", callbackUrl });
    expect(timedOut).toMatchObject({ ok: false, kind: "ambiguous", reason: "timeout", attempts: 1 });
    expect(calls().initiateTransaction - before).toBe(1);
    expect(await client.orderStatus("ORD_B")).toMatchObject({ ok: true, status: "PENDING" });
    const retry = await client.initiateTransaction({ orderId: "ORD_B", amountPaise: 19900, customerId: "user-7", callbackUrl });
    expect(retry).toMatchObject({ ok: true, idempotent: true });
    if (retry.ok) tokens.push(retry.txnToken);
  });

  it("a status read is retried after a timeout; a refund apply is never retried (503, malformed JSON), and status reconciles each", async () => {
    let before = calls().orderStatus;
    sb.injectFault({ endpoint: "orderStatus", mode: "timeout", hangMs: 5_000 });
    expect(await fast.orderStatus("ORD_A")).toMatchObject({ ok: true, status: "TXN_SUCCESS" });
    expect(calls().orderStatus - before).toBe(2);

    before = calls().refundApply;
    sb.injectFault({ endpoint: "refundApply", mode: "http_503" });
    const r3 = await client.refundApply({ orderId: "ORD_A", refId: "REF_3", txnId, amountPaise: 100 });
    expect(r3).toMatchObject({ ok: false, kind: "ambiguous", reason: "http_status" });
    expect(calls().refundApply - before).toBe(1);
    expect(await client.refundStatus({ orderId: "ORD_A", refId: "REF_3" })).toMatchObject({ ok: false, kind: "not_found" });
    expect(await client.refundApply({ orderId: "ORD_A", refId: "REF_3", txnId, amountPaise: 100 })).toMatchObject({
      ok: true,
      status: "PENDING",
    });

    sb.injectFault({ endpoint: "refundApply", mode: "malformed_json" });
    const r4 = await client.refundApply({ orderId: "ORD_A", refId: "REF_4", txnId, amountPaise: 100 });
    expect(r4).toMatchObject({ ok: false, kind: "ambiguous", reason: "malformed" });
    expect(await client.refundStatus({ orderId: "ORD_A", refId: "REF_4" })).toMatchObject({ ok: true, status: "PENDING" });
  });

  it("forged or misconfigured: a bad response signature, tokenType in the status head (227), a wrong key or website", async () => {
    const before = calls().orderStatus;
    sb.injectFault({ endpoint: "orderStatus", mode: "bad_signature" });
    expect(await client.orderStatus("ORD_A")).toMatchObject({ ok: false, kind: "invalid_signature" });
    expect(calls().orderStatus - before, "not retried").toBe(1);

    // tokenType in the /v3/order/status head fails the checksum (docs/payments.md §1.6).
    const { text } = await signedEnvelope({ mid: MID, orderId: "ORD_A" }, KEY, { tokenType: "AES" });
    const res = await fetch(`${sb.url}/v3/order/status`, { method: "POST", headers: { "content-type": "application/json" }, body: text });
    expect(((await res.json()) as { body: { resultInfo: { resultCode: string } } }).body.resultInfo.resultCode).toBe("227");

    // Paytm's answer is signed with the real key, so a wrong key cannot verify it either.
    const wrongKey = createPaytmClient({ ...base, merchantKey: "AAAAbbbbCCCCdddd" });
    expect(await wrongKey.initiateTransaction({ orderId: "ORD_C", amountPaise: 100, customerId: "u", callbackUrl })).toMatchObject({
      ok: false,
      kind: "invalid_signature",
      resultCode: "2005",
    });
    const wrongSite = createPaytmClient({ ...base, website: "DEFAULT" });
    expect(await wrongSite.initiateTransaction({ orderId: "ORD_C", amountPaise: 100, customerId: "u", callbackUrl })).toMatchObject({
      ok: false,
      kind: "ambiguous",
      reason: "gateway_error",
    });
  });

  it("a failed payment is final and its orderId cannot be reused; a pending one settles to success with a PENDING then a TXN_SUCCESS webhook", async () => {
    const d = await client.initiateTransaction({ orderId: "ORD_D", amountPaise: 9900, customerId: "u", callbackUrl });
    if (d.ok) tokens.push(d.txnToken);
    const dForm = await sb.pay("ORD_D", "failure");
    expect(dForm.status).toBe("TXN_FAILURE");
    expect(dForm.fields.RESPCODE).toBe("227");
    expect(officialVerify(dForm.fields, dForm.fields.CHECKSUMHASH ?? "")).toBe(true);
    expect(await client.orderStatus("ORD_D")).toMatchObject({ ok: true, status: "TXN_FAILURE" });
    expect(await client.initiateTransaction({ orderId: "ORD_D", amountPaise: 9900, customerId: "u", callbackUrl })).toMatchObject({
      ok: false,
      kind: "duplicate",
    });

    const e = await client.initiateTransaction({ orderId: "ORD_E", amountPaise: 9900, customerId: "u", callbackUrl });
    if (e.ok) tokens.push(e.txnToken);
    sb.setOrderOutcome("ORD_E", { outcome: "pending", thenOutcome: "success", resolveAfterMs: 200 });
    expect((await sb.pay("ORD_E")).status).toBe("PENDING");
    expect(await client.orderStatus("ORD_E")).toMatchObject({ ok: true, status: "PENDING" });
    await vi.waitFor(async () => expect(await client.orderStatus("ORD_E")).toMatchObject({ ok: true, status: "TXN_SUCCESS" }), {
      timeout: 5_000,
      interval: 50,
    });
    const hooks = await arrival("/api/payments/paytm-webhook", "ORDERID=ORD_E", 2);
    expect(hooks.map((h) => parseFormNotification(h.body).STATUS)).toEqual(["PENDING", "TXN_SUCCESS"]);
  });

  it("the circuit breaker opens after 3 failures, sends nothing while open, and a half-open probe closes it", async () => {
    resetPaytmCircuitBreakers();
    const fragile = createPaytmClient({ ...base, retries: 0, breaker: { failureThreshold: 3, openMs: 200 } });
    const before = calls().orderStatus;
    sb.injectFault({ endpoint: "orderStatus", mode: "http_503", count: 10 });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fragile.orderStatus("ORD_A");
      outcomes.push(r.ok ? "ok" : r.kind);
    }
    expect(outcomes).toEqual(["ambiguous", "ambiguous", "ambiguous", "circuit_open"]);
    expect(calls().orderStatus - before).toBe(3);
    sb.sandbox.clearFaults();
    // Open calls answer circuit_open without reaching Paytm; the first call after openMs is the probe.
    await vi.waitFor(async () => expect(await fragile.orderStatus("ORD_A")).toMatchObject({ ok: true, status: "TXN_SUCCESS" }), {
      timeout: 5_000,
      interval: 50,
    });
    expect(calls().orderStatus - before).toBe(4);
  });

  it("the call log never holds the merchant key, a txnToken or a signature, and records every attempt", () => {
    const logText = JSON.stringify(logs);
    expect(logText).not.toContain(KEY);
    expect(tokens.length).toBeGreaterThan(2);
    for (const t of tokens) expect(logText).not.toContain(t);
    for (const l of logs) expect((l.request as { head: { signature: string } }).head.signature).toBe("[redacted]");
    expect(logText).not.toMatch(/[A-Za-z0-9+/]{100,}={0,2}/);
    expect(logs.length).toBeGreaterThan(20);
    for (const l of logs) {
      expect(l.endpoint).toBeTruthy();
      expect(typeof l.latencyMs).toBe("number");
      expect(l.outcome).toBeTruthy();
    }
  });
});
