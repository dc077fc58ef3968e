import { AppError } from "../http/errors";
import { EDGE_HEADER_PREFIX, noteWrite } from "../listings/cache";
import type { EdgeContext } from "./context";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Hands the request to the core worker through the CORE service binding, unchanged: method, URL (so
 * the original host), every header (CF-Connecting-IP included: rate limits and audit rows key on it)
 * and the body as a stream; `headers` adds or (undefined) removes some. The core's answer comes back
 * as it is: status, headers (Retry-After, X-Db-Round-Trips), body; redirects are the client's to follow.
 * The one exception both ways is the X-Edge-* cache protocol between the workers (edgeContext strips
 * it from answers).
 *
 * It calls the binding's fetch handler on purpose: placement moves only fetch handlers, not RPC methods
 * (https://developers.cloudflare.com/workers/configuration/placement/).
 *
 * LATENCY_EDGE_CORE_MS (local latency model only; refused in production) waits that long before the
 * request leaves and again before the answer returns: one edge↔core round trip.
 */
export async function forwardToCore(c: EdgeContext, headers: Record<string, string | undefined> = {}): Promise<Response> {
  const request = new Request(c.req.raw, { redirect: "manual" });
  request.headers.set("x-request-id", c.get("requestId"));
  // X-Edge-* is the edge↔core cache protocol (listings/cache.ts): only the edge may send it.
  for (const name of [...request.headers.keys()]) if (name.startsWith(EDGE_HEADER_PREFIX)) request.headers.delete(name);
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) request.headers.delete(name);
    else request.headers.set(name, value);
  }
  const delay = c.get("config").LATENCY_EDGE_CORE_MS ?? 0;
  if (delay > 0) await sleep(delay);
  let response: Response;
  try {
    response = await c.env.CORE.fetch(request);
  } catch (err) {
    throw new AppError("SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Please try again.", { retryAfter: 1, cause: err });
  } finally {
    // Whatever a forwarded write changed, this edge's public reads must not hide it (listings/cache.ts).
    if (!SAFE_METHODS.has(c.req.method)) noteWrite();
  }
  if (delay > 0) await sleep(delay);
  return new Response(response.body, response);
}
