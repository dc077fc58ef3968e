import type { AppContext } from "../http/context";

/**
 * Edge cache for public, anonymous reads, in two halves (docs/architecture.md):
 *
 * - The core worker (next to the database) answers a cacheable read with a validator: the read's
 *   generation as a weak ETag, i.e. the category's `services_master.listings_version`, which database
 *   triggers bump when a listing, price, provider profile or rating changes (migration
 *   `*_listings_cache_version`), plus `Cache-Control: public, max-age=<ttl>` for what no trigger sees
 *   (a listing passing its `expires_at`). Asked `If-None-Match` with the current generation, it answers
 *   304 after one primary-key read instead of running the aggregate query.
 * - The edge worker (next to the user) keeps the answers in its data center's Cache API and serves a
 *   stored answer without asking the core while it is fresh: checked with the core within the last
 *   EDGE_FRESH_MS, and after the last write this isolate forwarded (so a change made through this edge
 *   shows on the very next read, and everywhere else within EDGE_FRESH_MS). Past that it revalidates
 *   with `If-None-Match`; past the TTL the Cache API drops the answer and the next read fetches it anew.
 *
 * Only routes without authentication use it, nothing user-specific is ever part of the response, and
 * the edge only stores answers of /api/public/ GETs, so one user can never be served another's data.
 * The validators stay between the two workers: the apps get the same headers as before (Content-Type,
 * X-Cache), never an ETag or Cache-Control their HTTP stack could cache on its own.
 */
export type CacheOutcome = "HIT" | "REVALIDATED" | "MISS";

/** How long a stored answer is served without asking the core: the staleness bound across data centers. */
export const EDGE_FRESH_MS = 2_000;

const JSON_TYPE = "application/json; charset=UTF-8";

export function cacheKey(url: string): Request {
  const u = new URL(url);
  const params = [...u.searchParams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const qs = new URLSearchParams(params).toString();
  // Same origin as the request: the Cache API is scoped to the zone serving the worker.
  return new Request(`${u.origin}${u.pathname}${qs ? `?${qs}` : ""}`, { method: "GET" });
}

// ---------------------------------------------------------------------------------------------------
// Core half.

/**
 * Answers a public read with its generation as validator: 304 when the caller (the edge) already holds
 * this generation, else the computed body. `compute` throwing (404, 400) answers the error, uncached.
 */
export async function edgeCachedJson(
  c: AppContext,
  opts: { generation: string | number; ttlSeconds: number },
  compute: () => Promise<unknown>,
): Promise<Response> {
  const etag = `W/"${opts.generation}"`;
  if (c.req.header("if-none-match") === etag) {
    c.header("ETag", etag);
    return c.body(null, 304);
  }
  const body = JSON.stringify(await compute());
  c.header("ETag", etag);
  c.header("Cache-Control", `public, max-age=${opts.ttlSeconds}`);
  c.header("Content-Type", JSON_TYPE);
  return c.body(body, 200);
}

// ---------------------------------------------------------------------------------------------------
// Edge half. Per isolate: when each stored answer was last confirmed, and when this isolate last
// forwarded a write (any of them may change what a public read shows).

const confirmed = new Map<string, { etag: string; at: number }>();
let lastWriteAt = 0;
const CONFIRMED_MAX = 10_000;

/** The forwarder calls this when a non-GET request it forwarded to the core has answered. */
export function noteWrite(): void {
  lastWriteAt = Date.now();
}

function confirm(key: string, etag: string, at: number) {
  if (confirmed.size >= CONFIRMED_MAX) confirmed.clear();
  confirmed.set(key, { etag, at });
}

function isFresh(key: string, etag: string, now: number): boolean {
  const c = confirmed.get(key);
  return c !== undefined && c.etag === etag && c.at > lastWriteAt && now - c.at < EDGE_FRESH_MS;
}

function answer(body: BodyInit | null, outcome: CacheOutcome, from?: Headers): Response {
  const headers = new Headers(from);
  headers.delete("etag");
  headers.delete("cache-control");
  headers.set("content-type", JSON_TYPE);
  headers.set("x-cache", outcome);
  return new Response(body, { status: 200, headers });
}

/**
 * A public GET at the edge: the stored answer while fresh, else the core's (`forward`, given the
 * validator to send). Anything but a cacheable 200 or a 304 (errors, 404s, uncacheable routes) passes
 * through untouched apart from the validators.
 */
export async function edgeCachedRead(
  request: Request,
  ctx: { waitUntil(p: Promise<unknown>): void },
  forward: (ifNoneMatch: string | undefined) => Promise<Response>,
): Promise<Response> {
  const key = cacheKey(request.url);
  const stored = await caches.default.match(key);
  const storedEtag = stored?.headers.get("etag") ?? undefined;
  const sentAt = Date.now();
  if (stored && storedEtag && isFresh(key.url, storedEtag, sentAt)) return answer(stored.body, "HIT");

  const res = await forward(storedEtag);
  if (res.status === 304 && stored && storedEtag) {
    await res.body?.cancel();
    confirm(key.url, storedEtag, sentAt);
    const revalidated = answer(stored.body, "REVALIDATED");
    const trips = res.headers.get("x-db-round-trips");
    if (trips) revalidated.headers.set("x-db-round-trips", trips);
    return revalidated;
  }
  const etag = res.headers.get("etag");
  const cacheControl = res.headers.get("cache-control") ?? "";
  if (res.status !== 200 || !etag || !/\bpublic\b/.test(cacheControl)) {
    if (!res.headers.has("etag") && !res.headers.has("cache-control")) return res;
    const passed = new Response(res.body, res);
    passed.headers.delete("etag");
    passed.headers.delete("cache-control");
    return passed;
  }
  const body = await res.text();
  ctx.waitUntil(
    caches.default
      .put(key, new Response(body, { headers: { "content-type": JSON_TYPE, "cache-control": cacheControl, etag } }))
      .catch(() => undefined),
  );
  confirm(key.url, etag, sentAt);
  return answer(body, "MISS", res.headers);
}
