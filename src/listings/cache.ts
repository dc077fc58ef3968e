import type { Context, Env } from "hono";
import { successBody } from "../http/envelope";
import type { DataOf } from "../http/respond";

/**
 * Edge cache for public, anonymous reads, in two halves (docs/architecture.md):
 *
 * - The core worker (next to the database) answers a cacheable read with its generation
 *   (`X-Edge-Generation`): the category's `services_master.listings_version`, which database triggers
 *   bump when a listing, price, provider profile or rating changes (migration `*_listings_cache_version`),
 *   and a TTL (`X-Edge-Ttl`) for what no trigger sees (a listing passing its `expires_at`). Asked with
 *   `X-Edge-If-Generation` equal to the current generation, it answers 304 after one primary-key read
 *   instead of running the aggregate query.
 * - The edge worker (next to the user) keeps the answers in its data center's Cache API and serves a
 *   stored answer without asking the core while it is fresh: confirmed with the core within the last
 *   EDGE_FRESH_MS, and after the last write this isolate forwarded (so a change made through this edge
 *   shows on the very next read, and everywhere else within EDGE_FRESH_MS). Past that it revalidates;
 *   past the TTL the Cache API drops the answer and the next read fetches it anew.
 *
 * Only routes without authentication use it, nothing user-specific is ever part of the response, and
 * the edge stores only answers of the public GETs it routes here, so one user can never be served
 * another's data. The X-Edge-* headers are a protocol between the two workers only: the edge removes
 * them from whatever a client sends and from every answer (src/edge/), so the apps get the headers they
 * always got (Content-Type, X-Cache) and nothing their HTTP stack could cache on its own.
 */
export type CacheOutcome = "HIT" | "REVALIDATED" | "MISS";

/** How long a stored answer is served without asking the core: the staleness bound across data centers. */
export const EDGE_FRESH_MS = 2_000;

const JSON_TYPE = "application/json; charset=UTF-8";

/** The protocol's headers: every header named X-Edge-* stays between the two workers. */
export const EDGE_HEADER_PREFIX = "x-edge-";
const EDGE_GENERATION = "x-edge-generation";
const EDGE_TTL = "x-edge-ttl";
const EDGE_IF_GENERATION = "x-edge-if-generation";

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
 * Answers a public read with its generation: 304 when the caller (the edge) already holds this
 * generation, else the computed data in the success envelope. `compute` throwing (404, 400) answers
 * the error, uncached. The data has the route's response type (describe({ response })).
 */
export async function edgeCachedJson<E extends Env>(
  c: Context<E>,
  opts: { generation: string | number; ttlSeconds: number },
  compute: () => Promise<DataOf<E>>,
): Promise<Response> {
  const generation = String(opts.generation);
  if (c.req.header(EDGE_IF_GENERATION) === generation) {
    c.header(EDGE_GENERATION, generation);
    return c.body(null, 304);
  }
  const body = JSON.stringify(successBody(await compute()));
  c.header(EDGE_GENERATION, generation);
  c.header(EDGE_TTL, String(opts.ttlSeconds));
  c.header("Content-Type", JSON_TYPE);
  return c.body(body, 200);
}

// ---------------------------------------------------------------------------------------------------
// Edge half. Per isolate: when each stored answer was last confirmed, and when this isolate last
// forwarded a write (any of them may change what a public read shows).

const confirmed = new Map<string, { generation: string; at: number }>();
let lastWriteAt = 0;
const CONFIRMED_MAX = 10_000;

/** The forwarder calls this when a non-GET request it forwarded to the core has answered. */
export function noteWrite(): void {
  lastWriteAt = Date.now();
}

function confirm(key: string, generation: string, at: number) {
  if (confirmed.size >= CONFIRMED_MAX) confirmed.clear();
  confirmed.set(key, { generation, at });
}

function isFresh(key: string, generation: string, now: number): boolean {
  const c = confirmed.get(key);
  return c !== undefined && c.generation === generation && c.at > lastWriteAt && now - c.at < EDGE_FRESH_MS;
}

function answer(body: BodyInit | null, outcome: CacheOutcome, from?: Headers): Response {
  const headers = new Headers(from);
  headers.set("content-type", JSON_TYPE);
  headers.set("x-cache", outcome);
  return new Response(body, { status: 200, headers });
}

/**
 * A public GET at the edge: the stored answer while fresh, else the core's (`forward`, given the
 * protocol headers to send). Anything but a cacheable 200 or a 304 (errors, 404s) passes through.
 */
export async function edgeCachedRead(
  request: Request,
  ctx: { waitUntil(p: Promise<unknown>): void },
  forward: (headers: Record<string, string>) => Promise<Response>,
): Promise<Response> {
  const key = cacheKey(request.url);
  const stored = await caches.default.match(key);
  const storedGeneration = stored?.headers.get(EDGE_GENERATION) ?? undefined;
  const sentAt = Date.now();
  if (stored && storedGeneration !== undefined && isFresh(key.url, storedGeneration, sentAt)) return answer(stored.body, "HIT");

  const res = await forward(storedGeneration !== undefined ? { [EDGE_IF_GENERATION]: storedGeneration } : {});
  if (res.status === 304 && stored && storedGeneration !== undefined) {
    await res.body?.cancel();
    confirm(key.url, storedGeneration, sentAt);
    const revalidated = answer(stored.body, "REVALIDATED");
    const trips = res.headers.get("x-db-round-trips");
    if (trips) revalidated.headers.set("x-db-round-trips", trips);
    return revalidated;
  }
  const generation = res.headers.get(EDGE_GENERATION);
  const ttl = Number(res.headers.get(EDGE_TTL));
  if (res.status !== 200 || generation === null || !Number.isInteger(ttl) || ttl <= 0) return res;
  const body = await res.text();
  ctx.waitUntil(
    caches.default
      .put(
        key,
        new Response(body, {
          headers: { "content-type": JSON_TYPE, "cache-control": `public, max-age=${ttl}`, [EDGE_GENERATION]: generation },
        }),
      )
      .catch(() => undefined),
  );
  confirm(key.url, generation, sentAt);
  return answer(body, "MISS", res.headers);
}
