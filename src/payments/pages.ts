import { constantTimeEqualStrings, toBase64Url } from "../lib/bytes";

/**
 * The two HTML pages of the WebView flow (docs/api-contract.md §5): the app opens `paytmUrl` with a
 * plain GET and watches the WebView's URL; it calls verify once the URL contains
 * `/api/payments/paytm-callback`. So:
 * - checkout: a page we serve that posts {mid, orderId, txnToken} to Paytm's showPaymentPage
 *   (Paytm's redirect flow; CALLBACK_URL was fixed at initiate to our /paytm-callback);
 * - result: what our /paytm-callback answers, the WebView's last page.
 * The checkout URL is a capability: an HMAC of the orderId, so ids cannot be enumerated into tokens.
 */

const enc = new TextEncoder();

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

async function hmac(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", enc.encode(`paytm-checkout:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(message)))).slice(0, 32);
}

export function checkoutSignature(secret: string, paytmOrderId: string): Promise<string> {
  return hmac(secret, paytmOrderId);
}

export async function checkoutSignatureValid(secret: string, paytmOrderId: string, sig: string): Promise<boolean> {
  return constantTimeEqualStrings(sig, await hmac(secret, paytmOrderId));
}

export async function checkoutUrl(publicBaseUrl: string, secret: string, paytmOrderId: string): Promise<string> {
  const sig = await checkoutSignature(secret, paytmOrderId);
  return `${publicBaseUrl.replace(/\/+$/, "")}/api/payments/checkout/${encodeURIComponent(paytmOrderId)}?sig=${sig}`;
}

function page(title: string, inner: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;text-align:center}button{padding:.8rem 1.2rem;font-size:1rem}</style></head><body>${inner}</body></html>`;
}

/** Auto-submits to Paytm's payment page (POST keeps the txnToken out of Paytm's access logs and our URL). */
export function checkoutPage(o: { paytmHost: string; mid: string; orderId: string; txnToken: string; amountPaise: number }): string {
  const action = `${o.paytmHost.replace(/\/+$/, "")}/theia/api/v1/showPaymentPage?mid=${encodeURIComponent(o.mid)}&orderId=${encodeURIComponent(o.orderId)}`;
  const fields = { mid: o.mid, orderId: o.orderId, txnToken: o.txnToken };
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("");
  const rupees = `${Math.floor(o.amountPaise / 100)}.${String(o.amountPaise % 100).padStart(2, "0")}`;
  return page(
    "Redirecting to Paytm",
    `<p>Redirecting to Paytm to pay ₹${rupees}…</p><form id="paytm-checkout" method="post" action="${escapeHtml(action)}">${inputs}<noscript><button type="submit">Continue to Paytm</button></noscript></form><script>document.getElementById('paytm-checkout').submit();</script>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}
