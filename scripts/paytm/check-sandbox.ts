// End-to-end self-check: our Paytm client against the local sandbox, with the official
// `paytmchecksum` package as the independent verifier of everything the sandbox signs.
// Run: node scripts/paytm/check-sandbox.ts        (loopback only; exits 1 on any FAIL)

import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { PaytmCallLog } from "../../src/paytm/client.ts";
import { startPaytmSandbox } from "../paytm-sandbox.ts";
import { registerTsExtensionResolution } from "./ts-resolve.ts";

registerTsExtensionResolution();
const {
  createPaytmClient,
  paiseToRupees,
  parseFormNotification,
  resetPaytmCircuitBreakers,
  verifyFormNotification,
  verifyRefundNotification,
} = await import("../../src/paytm/client.ts");
const { signedEnvelope } = await import("../../src/paytm/envelope.ts");
const { generateSignature } = await import("../../src/paytm/checksum.ts");

const official = createRequire(import.meta.url)("paytmchecksum") as {
  verifySignature(params: string | Record<string, string>, key: string, checksum: string): boolean;
};

const MID = "BXCHECKMID0000000001";
const KEY = "k3y&With#Sym@%!9"; // made up, 16 bytes
const WEBSITE = "WEBSTAGING";

let passed = 0;
let failed = 0;
function check(name: string, ok: boolean, detail?: unknown) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${ok || detail === undefined ? "" : `  → ${JSON.stringify(detail)}`}`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

// A stand-in for our API: receives the browser callback and Paytm's webhooks.
const received: { path: string; contentType: string; body: string }[] = [];
const receiver = createServer((req, res) => {
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
const callbackUrl = `${apiBase}/api/payments/paytm-callback`;

async function waitFor<T>(fn: () => T | undefined, ms = 2_000): Promise<T | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined || Date.now() > until) return v;
    await sleep(20);
  }
}

const sb = await startPaytmSandbox({
  merchants: { [MID]: { key: KEY, website: WEBSITE } },
  webhookUrl: `${apiBase}/api/payments/paytm-webhook`,
  refundWebhookUrl: `${apiBase}/api/payments/paytm-refund-webhook`,
  behaviour: { refundDelayMs: 300 },
});
const logs: PaytmCallLog[] = [];
const base = { mid: MID, merchantKey: KEY, host: sb.url, website: WEBSITE, log: (e: PaytmCallLog) => logs.push(e) };
const client = createPaytmClient({ ...base, timeoutMs: 2_000, retries: 2 });
const fast = createPaytmClient({ ...base, timeoutMs: 300, retries: 2 });
const calls = () => sb.stats().calls;
const tokens: string[] = [];

try {
  check("amount formatting", paiseToRupees(9900) === "99.00" && paiseToRupees(1) === "0.01" && paiseToRupees(12345) === "123.45");

  // --- initiate, idempotent repeat ---------------------------------------------------------------
  const init = await client.initiateTransaction({ orderId: "ORD_A", amountPaise: 9900, customerId: "user-42", callbackUrl });
  check("initiate → txnToken", init.ok && !init.idempotent && init.amount === "99.00", init);
  check("exactly one initiate call", calls().initiateTransaction === 1 && sb.stats().callsByOrder.ORD_A?.initiateTransaction === 1);
  const token = init.ok ? init.txnToken : "";
  tokens.push(token);
  const again = await client.initiateTransaction({ orderId: "ORD_A", amountPaise: 9900, customerId: "user-42", callbackUrl });
  check("same initiate again → 0002 with the same token", again.ok && again.idempotent && again.txnToken === token, again);

  // The sandbox verifies over the raw body text: a re-serialised body (signed compact, sent pretty) fails.
  {
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
    check("sandbox rejects a body re-serialised after signing (2005)", json.body.resultInfo.resultCode === "2005", json);
  }

  // --- browser checkout --------------------------------------------------------------------------
  const page = await fetch(`${sb.url}/theia/api/v1/showPaymentPage?mid=${MID}&orderId=ORD_A`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ mid: MID, orderId: "ORD_A", txnToken: token }).toString(),
  });
  const pageHtml = await page.text();
  check(
    "payment page renders with outcome buttons",
    page.status === 200 && pageHtml.includes('data-outcome="success"') && pageHtml.includes("₹99.00"),
  );
  const js = await fetch(`${sb.url}/merchantpgpui/checkoutjs/merchants/${MID}.js`);
  check("CheckoutJS stand-in served", js.status === 200 && (await js.text()).includes("CheckoutJS"));

  const unpaid = await client.orderStatus("ORD_A");
  check("status before payment → PENDING", unpaid.ok && unpaid.status === "PENDING", unpaid);

  await fetch(`${sb.url}/__sandbox/orders/ORD_A/outcome`, { method: "POST", body: JSON.stringify({ outcome: "success" }) });
  const payRes = await fetch(`${sb.url}/theia/sandbox/pay`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ mid: MID, orderId: "ORD_A", txnToken: token }).toString(),
  });
  const cb = formFromHtml(await payRes.text());
  check("pay page auto-posts to callbackUrl", cb.action === callbackUrl && cb.fields.STATUS === "TXN_SUCCESS", cb);
  check("callback CHECKSUMHASH verifies with official paytmchecksum", officialVerify(cb.fields, cb.fields.CHECKSUMHASH ?? ""));
  // Post it like the browser would, then verify what our API would receive.
  await fetch(cb.action, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(cb.fields).toString(),
  });
  const cbReceived = received.find((r) => r.path === "/api/payments/paytm-callback");
  const cbVerified = cbReceived ? await verifyFormNotification(cbReceived.body, KEY) : undefined;
  check(
    "callback as received verifies with ours (parse + zod)",
    !!cbVerified?.ok && cbVerified.fields.STATUS === "TXN_SUCCESS" && cbVerified.amountPaise === 9900,
    cbVerified,
  );
  check(
    "callback fields survive form encoding unchanged",
    !!cbReceived && JSON.stringify(parseFormNotification(cbReceived.body)) === JSON.stringify(cb.fields),
  );
  {
    // A checksum containing '+' must be percent-encoded; a raw '+' would decode to a space (docs/payments.md §1.8).
    const { CHECKSUMHASH: _drop, ...unsigned } = cb.fields;
    let withPlus = "";
    for (let i = 0; i < 200 && !withPlus.includes("+"); i++) withPlus = await generateSignature(unsigned, KEY);
    const encoded = new URLSearchParams({ ...unsigned, CHECKSUMHASH: withPlus }).toString();
    const ours = await verifyFormNotification(encoded, KEY);
    const broken = await verifyFormNotification(encoded.replace(/CHECKSUMHASH=[^&]*/, `CHECKSUMHASH=${withPlus}`), KEY);
    check(
      "'+' in CHECKSUMHASH: %2B verifies, a raw '+' does not",
      withPlus.includes("+") && ours.ok && officialVerify(parseFormNotification(encoded), withPlus) && !broken.ok,
    );
  }
  const repay = await fetch(`${sb.url}/theia/sandbox/pay`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ mid: MID, orderId: "ORD_A", txnToken: token, outcome: "failure" }).toString(),
  });
  check("txnToken is single-use", repay.status === 409);

  const paid = await client.orderStatus("ORD_A");
  check(
    "status → TXN_SUCCESS with amount and txnId",
    paid.ok && paid.status === "TXN_SUCCESS" && paid.amountPaise === 9900 && paid.txnId === cb.fields.TXNID && paid.signed,
    paid,
  );
  const txnId = paid.ok ? (paid.txnId ?? "") : "";

  const payHook = await waitFor(() => received.find((r) => r.path === "/api/payments/paytm-webhook" && r.body.includes("ORDERID=ORD_A")));
  const hookFields = payHook ? parseFormNotification(payHook.body) : {};
  check(
    "S2S payment webhook: form-encoded, signed (official), has CUSTID",
    !!payHook &&
      payHook.contentType.startsWith("application/x-www-form-urlencoded") &&
      officialVerify(hookFields, hookFields.CHECKSUMHASH ?? "") &&
      hookFields.CUSTID === "user-42",
    payHook,
  );

  const dupOrder = await client.initiateTransaction({ orderId: "ORD_A", amountPaise: 9900, customerId: "user-42", callbackUrl });
  check(
    "initiate a paid orderId → duplicate (334)",
    !dupOrder.ok && dupOrder.kind === "duplicate" && dupOrder.resultCode === "334",
    dupOrder,
  );

  // --- refunds -----------------------------------------------------------------------------------
  const r1 = await client.refundApply({ orderId: "ORD_A", refId: "REF_1", txnId, amountPaise: 5000 });
  check("refund apply → PENDING with refundId", r1.ok && r1.status === "PENDING" && !!r1.refundId && r1.refundAmountPaise === 5000, r1);
  const r1dup = await client.refundApply({ orderId: "ORD_A", refId: "REF_1", txnId, amountPaise: 5000 });
  check("duplicate refId → duplicate (701), not failed", !r1dup.ok && r1dup.kind === "duplicate" && r1dup.resultCode === "701", r1dup);
  check("refund apply called exactly twice", calls().refundApply === 2 && sb.stats().callsByRefId.REF_1?.refundApply === 2);
  const s1 = await client.refundStatus({ orderId: "ORD_A", refId: "REF_1" });
  check("refund status → PENDING", s1.ok && s1.status === "PENDING", s1);
  await sleep(400);
  const s2 = await client.refundStatus({ orderId: "ORD_A", refId: "REF_1" });
  check("refund status later → TXN_SUCCESS, total 50.00", s2.ok && s2.status === "TXN_SUCCESS" && s2.totalRefundAmountPaise === 5000, s2);
  const refundHook = await waitFor(() => received.find((r) => r.path === "/api/payments/paytm-refund-webhook" && r.body.includes("REF_1")));
  let refundHookOk = false;
  if (refundHook) {
    const parsed = JSON.parse(refundHook.body) as { head: { signature: string }; body: Record<string, unknown> };
    refundHookOk = officialVerify(JSON.stringify(parsed.body), parsed.head.signature) && parsed.body.status === "SUCCESS";
  }
  const refundHookOurs = refundHook ? await verifyRefundNotification(refundHook.body, KEY) : undefined;
  check(
    "refund webhook: JSON envelope signed (official), status SUCCESS",
    refundHookOk && !!refundHookOurs?.ok && refundHookOurs.refundAmountPaise === 5000,
    refundHook,
  );
  const unknownRefund = await client.refundStatus({ orderId: "ORD_A", refId: "REF_NOPE" });
  check("refund status of unknown refId → not_found", !unknownRefund.ok && unknownRefund.kind === "not_found", unknownRefund);
  const over = await client.refundApply({ orderId: "ORD_A", refId: "REF_2", txnId, amountPaise: 5000 });
  check("refund beyond the paid amount → declined (619)", !over.ok && over.kind === "declined" && over.resultCode === "619", over);
  const afterRefund = await client.orderStatus("ORD_A");
  check("order status reports refundAmt", afterRefund.ok && afterRefund.refundedPaise === 5000, afterRefund);

  // --- faults ------------------------------------------------------------------------------------
  let before = calls().initiateTransaction;
  sb.injectFault({ endpoint: "initiateTransaction", mode: "timeout", hangMs: 5_000 });
  const timedOut = await fast.initiateTransaction({ orderId: "ORD_B", amountPaise: 19900, customerId: "user-7", callbackUrl });
  check(
    "initiate timeout → ambiguous, not retried",
    !timedOut.ok && timedOut.kind === "ambiguous" && timedOut.reason === "timeout" && timedOut.attempts === 1,
    timedOut,
  );
  check("timed-out initiate reached the sandbox exactly once", calls().initiateTransaction - before === 1);
  const reconcileB = await client.orderStatus("ORD_B");
  check("reconcile: status shows the order exists (PENDING)", reconcileB.ok && reconcileB.status === "PENDING", reconcileB);
  const retryB = await client.initiateTransaction({ orderId: "ORD_B", amountPaise: 19900, customerId: "user-7", callbackUrl });
  check("re-initiate same orderId → idempotent token", retryB.ok && retryB.idempotent, retryB);
  if (retryB.ok) tokens.push(retryB.txnToken);

  before = calls().orderStatus;
  sb.injectFault({ endpoint: "orderStatus", mode: "timeout", hangMs: 5_000 });
  const retried = await fast.orderStatus("ORD_A");
  check("status read retried after a timeout → TXN_SUCCESS", retried.ok && retried.status === "TXN_SUCCESS", retried);
  check("status read hit the sandbox exactly twice", calls().orderStatus - before === 2);

  before = calls().refundApply;
  sb.injectFault({ endpoint: "refundApply", mode: "http_503" });
  const r3 = await client.refundApply({ orderId: "ORD_A", refId: "REF_3", txnId, amountPaise: 100 });
  check(
    "refund apply 503 → ambiguous, not retried",
    !r3.ok && r3.kind === "ambiguous" && r3.reason === "http_status" && calls().refundApply - before === 1,
    r3,
  );
  const r3status = await client.refundStatus({ orderId: "ORD_A", refId: "REF_3" });
  check("reconcile: refund not registered → not_found", !r3status.ok && r3status.kind === "not_found", r3status);
  const r3again = await client.refundApply({ orderId: "ORD_A", refId: "REF_3", txnId, amountPaise: 100 });
  check("re-apply with the SAME refId → PENDING", r3again.ok && r3again.status === "PENDING", r3again);

  sb.injectFault({ endpoint: "refundApply", mode: "malformed_json" });
  const r4 = await client.refundApply({ orderId: "ORD_A", refId: "REF_4", txnId, amountPaise: 100 });
  check("refund apply malformed JSON → ambiguous", !r4.ok && r4.kind === "ambiguous" && r4.reason === "malformed", r4);
  const r4status = await client.refundStatus({ orderId: "ORD_A", refId: "REF_4" });
  check("reconcile: malformed answer but refund registered → PENDING", r4status.ok && r4status.status === "PENDING", r4status);

  before = calls().orderStatus;
  sb.injectFault({ endpoint: "orderStatus", mode: "bad_signature" });
  const forged = await client.orderStatus("ORD_A");
  check(
    "bad response signature → invalid_signature, not retried",
    !forged.ok && forged.kind === "invalid_signature" && calls().orderStatus - before === 1,
    forged,
  );

  // tokenType in the /v3/order/status head fails the checksum (docs/payments.md §1.6).
  {
    const { text } = await signedEnvelope({ mid: MID, orderId: "ORD_A" }, KEY, { tokenType: "AES" });
    const res = await fetch(`${sb.url}/v3/order/status`, { method: "POST", headers: { "content-type": "application/json" }, body: text });
    const json = (await res.json()) as { body: { resultInfo: { resultCode: string } } };
    check("status with tokenType in head → 227", json.body.resultInfo.resultCode === "227");
  }

  const wrongKey = createPaytmClient({ ...base, merchantKey: "AAAAbbbbCCCCdddd" });
  const wk = await wrongKey.initiateTransaction({ orderId: "ORD_C", amountPaise: 100, customerId: "u", callbackUrl });
  // Paytm's answer is signed with the real key, so a wrong key cannot verify it either.
  check(
    "wrong merchant key → invalid_signature (unverified code 2005)",
    !wk.ok && wk.kind === "invalid_signature" && wk.resultCode === "2005",
    wk,
  );
  const wrongSite = createPaytmClient({ ...base, website: "DEFAULT" });
  const ws = await wrongSite.initiateTransaction({ orderId: "ORD_C", amountPaise: 100, customerId: "u", callbackUrl });
  check(
    "wrong websiteName → 501, reported ambiguous (gateway_error)",
    !ws.ok && ws.kind === "ambiguous" && ws.reason === "gateway_error",
    ws,
  );

  // --- failure and pending → success ------------------------------------------------------------
  const d = await client.initiateTransaction({ orderId: "ORD_D", amountPaise: 9900, customerId: "u", callbackUrl });
  if (d.ok) tokens.push(d.txnToken);
  const dForm = await sb.pay("ORD_D", "failure");
  check(
    "failure callback signed and says TXN_FAILURE/227",
    dForm.status === "TXN_FAILURE" && dForm.fields.RESPCODE === "227" && officialVerify(dForm.fields, dForm.fields.CHECKSUMHASH ?? ""),
  );
  const dStatus = await client.orderStatus("ORD_D");
  check("status → TXN_FAILURE", dStatus.ok && dStatus.status === "TXN_FAILURE", dStatus);
  const dRetry = await client.initiateTransaction({ orderId: "ORD_D", amountPaise: 9900, customerId: "u", callbackUrl });
  check("failed orderId cannot be reused → duplicate", !dRetry.ok && dRetry.kind === "duplicate", dRetry);

  const e = await client.initiateTransaction({ orderId: "ORD_E", amountPaise: 9900, customerId: "u", callbackUrl });
  if (e.ok) tokens.push(e.txnToken);
  sb.setOrderOutcome("ORD_E", { outcome: "pending", thenOutcome: "success", resolveAfterMs: 300 });
  const eForm = await sb.pay("ORD_E");
  const ePending = await client.orderStatus("ORD_E");
  check(
    "pending payment: callback and status say PENDING",
    eForm.status === "PENDING" && ePending.ok && ePending.status === "PENDING",
    ePending,
  );
  await sleep(450);
  const eDone = await client.orderStatus("ORD_E");
  check("pending payment later → TXN_SUCCESS", eDone.ok && eDone.status === "TXN_SUCCESS", eDone);
  const eHooks = await waitFor(() => {
    const hooks = received.filter((r) => r.path === "/api/payments/paytm-webhook" && r.body.includes("ORDERID=ORD_E"));
    return hooks.length >= 2 ? hooks : undefined;
  });
  const eStatuses = (eHooks ?? []).map((h) => parseFormNotification(h.body).STATUS);
  check("webhooks for the order: PENDING then TXN_SUCCESS", eStatuses.join(",") === "PENDING,TXN_SUCCESS", eStatuses);

  // --- circuit breaker ---------------------------------------------------------------------------
  resetPaytmCircuitBreakers();
  const fragile = createPaytmClient({ ...base, retries: 0, breaker: { failureThreshold: 3, openMs: 500 } });
  before = calls().orderStatus;
  sb.injectFault({ endpoint: "orderStatus", mode: "http_503", count: 10 });
  const outcomes: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await fragile.orderStatus("ORD_A");
    outcomes.push(r.ok ? "ok" : r.kind);
  }
  check("breaker opens after 3 failures", outcomes.join(",") === "ambiguous,ambiguous,ambiguous,circuit_open", outcomes);
  check("open breaker sends nothing", calls().orderStatus - before === 3);
  await sleep(550);
  sb.sandbox.clearFaults();
  const probe = await fragile.orderStatus("ORD_A");
  check("half-open probe succeeds and closes the breaker", probe.ok && probe.status === "TXN_SUCCESS", probe);

  // --- logs --------------------------------------------------------------------------------------
  const logText = JSON.stringify(logs);
  check("logs never contain the merchant key", !logText.includes(KEY));
  check(
    "logs never contain a full txnToken",
    tokens.every((t) => t.length > 0 && !logText.includes(t)),
  );
  check(
    "logged signatures are redacted",
    logs.every((l) => (l.request as { head: { signature: string } }).head.signature === "[redacted]") &&
      !/[A-Za-z0-9+/]{100,}={0,2}/.test(logText),
    /[A-Za-z0-9+/]{100,}={0,2}/.exec(logText)?.[0],
  );
  check(
    "every attempt logged with endpoint, latency and outcome",
    logs.length > 20 && logs.every((l) => l.endpoint && typeof l.latencyMs === "number" && l.outcome),
  );

  console.log(`stats: ${JSON.stringify(sb.stats().calls)}`);
} catch (error) {
  check("no unexpected exception", false, (error as Error).stack);
} finally {
  await sb.close();
  await new Promise<void>((r) => receiver.close(() => r()));
}

console.log(`${failed === 0 ? "PASS" : "FAIL"} paytm sandbox check: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
