import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/context";
import { AppError, notFound } from "../http/errors";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { params, query } from "../http/validate";
import { OutboundTimeout, outboundFetch } from "../lib/outbound";
import { edgeCachedJson } from "./cache";
import {
  featuredProviders,
  globalGeneration,
  listingGeneration,
  listProvidersOfService,
  listPublicServices,
  publicListing,
  serviceGeneration,
} from "./catalogue";
import { FeaturedProviders, Geocoded, ProviderPage, PublicListingData, ServiceCategories } from "./catalogue-schemas";

/**
 * /api/public: catalogue, provider listings, featured providers, reverse geocode. The edge worker caches
 * the reads that answer through edgeCachedJson and serves them without reaching this worker (./cache.ts).
 */
export const publicRoutes = new Hono<AppEnv>();

const TTL = { catalogue: 300, listings: 60, geocode: 86_400 } as const;

const ServiceIdParam = z.object({ id: z.uuid("Invalid service id") });
const ListingParam = z.object({ providerServiceId: z.uuid("Invalid provider service id") });
const ServiceListingParam = z.object({ id: z.uuid("Invalid service id"), providerId: z.uuid("Invalid provider id") });
const ProvidersQuery = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  limit: z.coerce.number().int().min(1).max(50).default(20),
  userCity: z.string().max(100).optional(),
  userState: z.string().max(100).optional(),
  state: z.string().max(100).optional(),
});
const GeocodeQuery = z.object({
  latitude: z.coerce.number().min(-90).max(90),
  longitude: z.coerce.number().min(-180).max(180),
});

publicRoutes.get(
  "/services",
  describe({ summary: "Service categories (slugs the apps map)", tags: ["catalogue"], response: ServiceCategories }),
  (c) => edgeCachedJson(c, { generation: "catalogue", ttlSeconds: TTL.catalogue }, () => listPublicServices(c.get("db").http)),
);

publicRoutes.get(
  "/services/:id/providers",
  describe({ summary: "Active providers of a category, nearest first", tags: ["catalogue"], response: ProviderPage }),
  params(ServiceIdParam),
  query(ProvidersQuery),
  async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const db = c.get("db").http;
    const gen = await serviceGeneration(db, id);
    if (!gen) throw notFound("Service");
    return edgeCachedJson(c, { generation: gen.version, ttlSeconds: TTL.listings }, async () => {
      const data = await listProvidersOfService(db, id, q);
      if (!data) throw notFound("Service");
      return data;
    });
  },
);

publicRoutes.get(
  "/services/:id/providers/:providerId",
  describe({ summary: "One provider listing of a category", tags: ["catalogue"], response: PublicListingData }),
  params(ServiceListingParam),
  async (c) => {
    const { id, providerId } = c.req.valid("param");
    const db = c.get("db").http;
    const gen = await serviceGeneration(db, id);
    if (!gen) throw notFound("Provider");
    return edgeCachedJson(c, { generation: gen.version, ttlSeconds: TTL.listings }, async () => {
      const provider = await publicListing(db, providerId, id);
      if (!provider) throw notFound("Provider");
      return { provider };
    });
  },
);

publicRoutes.get(
  "/provider-service/:providerServiceId",
  describe({ summary: "A provider listing with sub-service prices and reviews", tags: ["catalogue"], response: PublicListingData }),
  params(ListingParam),
  async (c) => {
    const { providerServiceId } = c.req.valid("param");
    const db = c.get("db").http;
    const gen = await listingGeneration(db, providerServiceId);
    if (!gen) throw notFound("Provider service");
    return edgeCachedJson(c, { generation: gen.version, ttlSeconds: TTL.listings }, async () => {
      const provider = await publicListing(db, providerServiceId);
      if (!provider) throw notFound("Provider service");
      return { provider };
    });
  },
);

publicRoutes.get(
  "/featured-providers",
  describe({ summary: "Best-rated active providers", tags: ["catalogue"], response: FeaturedProviders }),
  async (c) => {
    const db = c.get("db").http;
    const gen = await globalGeneration(db);
    return edgeCachedJson(c, { generation: gen, ttlSeconds: TTL.listings }, () => featuredProviders(db));
  },
);

/**
 * State and city for the device's coordinates, from a Nominatim/LocationIQ-compatible geocoder
 * (GEOCODER_URL, which may carry its key). Coordinates are rounded to ~100 m for the cache key, so
 * nearby devices share one upstream call; nothing about the caller is stored.
 */
publicRoutes.get(
  "/reverse-geocode",
  describe({ summary: "Reverse geocode to state and city", tags: ["catalogue"], response: Geocoded }),
  query(GeocodeQuery),
  async (c) => {
    const base = c.get("config").GEOCODER_URL;
    if (!base) throw new AppError("NOT_CONFIGURED", "Location lookup is not configured on this server");
    const { latitude, longitude } = c.req.valid("query");
    const lat = latitude.toFixed(3);
    const lon = longitude.toFixed(3);
    const cacheUrl = new URL(c.req.url);
    cacheUrl.search = `latitude=${lat}&longitude=${lon}`;
    const key = new Request(cacheUrl.toString(), { method: "GET" });
    const hit = await caches.default.match(key);
    if (hit) {
      c.header("X-Cache", "HIT");
      return ok(c, await hit.json<z.input<typeof Geocoded>>());
    }
    const url = new URL(base);
    url.searchParams.set("lat", lat);
    url.searchParams.set("lon", lon);
    url.searchParams.set("format", "json");
    url.searchParams.set("addressdetails", "1");
    let res: Response;
    try {
      res = await outboundFetch(url, { headers: { accept: "application/json" } }, { timeoutMs: 8000 });
    } catch (err) {
      if (err instanceof OutboundTimeout) throw new AppError("UPSTREAM_TIMEOUT", "Location lookup timed out");
      throw new AppError("UPSTREAM_ERROR", "Location lookup failed", { cause: err });
    }
    if (res.status === 429) throw new AppError("RATE_LIMITED", "Too many location lookups, try again shortly", { retryAfter: 2 });
    if (!res.ok) throw new AppError("UPSTREAM_ERROR", "Location lookup failed");
    const body = (await res.json().catch(() => ({}))) as { address?: Record<string, string> };
    const a = body.address ?? {};
    const data = {
      state: a.state ?? a.region ?? "",
      city: a.city ?? a.town ?? a.village ?? a.city_district ?? a.county ?? a.state_district ?? "",
      latitude,
      longitude,
    };
    c.executionCtx.waitUntil(
      caches.default
        .put(key, new Response(JSON.stringify(data), { headers: { "cache-control": `public, max-age=${TTL.geocode}` } }))
        .catch(() => undefined),
    );
    return ok(c, data);
  },
);
