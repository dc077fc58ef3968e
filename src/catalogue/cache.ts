import type { AppContext } from "../http/context";

/**
 * Edge cache for public, anonymous reads (Cache API, `caches.default`).
 *
 * - Keyed by the request URL with its query sorted (the apps' apiClient sorts too) plus a
 *   generation: the category's `services_master.listings_version`, which database triggers bump
 *   when a listing, price, provider profile or rating changes (migration `*_listings_cache_version`).
 *   A change therefore shows on the next read everywhere, not only in the colo that made it; the
 *   version read is one primary-key lookup instead of the aggregate query.
 * - Short TTL on top, for what no trigger sees (a listing passing its `expires_at`).
 * - Only routes without authentication use it, and nothing user-specific is ever part of the
 *   response, so one user can never be served another's data.
 */
export type CacheOutcome = "HIT" | "MISS";

export function cacheKey(url: string, generation: string | number): Request {
  const u = new URL(url);
  const params = [...u.searchParams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const qs = new URLSearchParams(params);
  qs.set("__gen", String(generation));
  // Same origin as the request: the Cache API is scoped to the zone serving the worker.
  return new Request(`${u.origin}${u.pathname}?${qs.toString()}`, { method: "GET" });
}

/**
 * Serves a JSON body from the edge cache or computes, returns and stores it. Only 200 bodies are
 * stored; `compute` throwing (404, 400) bypasses the cache.
 */
export async function edgeCachedJson(
  c: AppContext,
  opts: { generation: string | number; ttlSeconds: number },
  compute: () => Promise<unknown>,
): Promise<Response> {
  const cache = caches.default;
  const key = cacheKey(c.req.url, opts.generation);
  const hit = await cache.match(key);
  if (hit) {
    c.header("X-Cache", "HIT");
    c.header("Content-Type", "application/json; charset=UTF-8");
    return c.body(await hit.text(), 200);
  }
  const body = JSON.stringify(await compute());
  const stored = new Response(body, {
    headers: { "content-type": "application/json; charset=UTF-8", "cache-control": `public, max-age=${opts.ttlSeconds}` },
  });
  c.executionCtx.waitUntil(cache.put(key, stored).catch(() => undefined));
  c.header("X-Cache", "MISS");
  c.header("Content-Type", "application/json; charset=UTF-8");
  return c.body(body, 200);
}
