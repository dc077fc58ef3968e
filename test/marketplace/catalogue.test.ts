import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { api, istSlot, seedListing, seedUser, testDb } from "../harness";

/** Public catalogue shapes, edge caching with invalidation, and provider registration for every category. */

const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/** Reads a URL until the edge cache answers (the put runs in waitUntil), up to a bound. */
async function untilCached(path: string) {
  for (let i = 0; i < 20; i++) {
    const r = await api("GET", path);
    if (r.headers.get("x-cache") === "HIT") return r;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`${path} never came from the cache`);
}

function registration(subServices: { serviceId: string; price: number }[], over: Record<string, unknown> = {}) {
  return {
    yearsOfExperience: 7,
    serviceDescription: "",
    state: "Karnataka",
    city: "Mysuru",
    fullAddress: "12 Temple Road, Mysuru",
    workingProofUrls: [PNG, "https://images.example.com/proof.jpg"],
    isEngineeringProvider: false,
    subServices,
    ...over,
  };
}

describe("public catalogue", () => {
  it("lists the slugs the user app maps, hiding categories nothing can be booked in", async () => {
    const r = await api("GET", "/api/public/services");
    expect(r.status).toBe(200);
    const names = r.body.data.services.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(["plumber", "labors", "painting-cleaning", "engineer-interior", "borewell"]));
    expect(names).not.toContain("painter");
    expect(names).toEqual(expect.arrayContaining(["electrician", "carpenter"]));
    expect(names).not.toContain("painting");
    const [painting] = (await testDb().http.execute(sql`select id from services_master where name = 'painting'`)).rows;
    expect(r.body.data.services.find((s: { name: string }) => s.name === "painting-cleaning").id).toBe(painting!.id);
  });

  it("provider lists: non-null strings, numeric ratings and prices, same city first, pagination, never a phone", async () => {
    const far = await seedListing({
      service: "glass-mirror",
      prices: { "glass-fitting": 20000 },
      city: "Delhi",
      state: "Delhi",
      years: 20,
    });
    const near = await seedListing({
      service: "glass-mirror",
      prices: { "mirror-fitting": 30000 },
      city: "Bengaluru",
      state: "Karnataka",
      years: 1,
    });
    const r = await api("GET", `/api/public/services/${near.serviceId}/providers?userCity=bangalore&userState=Karnataka&limit=30&page=1`);
    expect(r.status).toBe(200);
    const ids = r.body.data.providers.map((p: { provider_service_id: string }) => p.provider_service_id);
    expect(ids.indexOf(near.providerServiceId)).toBeLessThan(ids.indexOf(far.providerServiceId));
    for (const p of r.body.data.providers) {
      expect(typeof p.full_name).toBe("string");
      expect(typeof p.service_description).toBe("string");
      expect(typeof p.totalReviews).toBe("number");
      expect(p.averageRating === null || typeof p.averageRating === "number").toBe(true);
      expect(typeof p.years_of_experience).toBe("number");
      expect(p).not.toHaveProperty("phone");
    }
    expect(r.text).not.toContain(far.provider.phone);
    expect(r.body.data.pagination).toMatchObject({ currentPage: 1, totalPages: expect.any(Number), total: expect.any(Number) });
    const featured = await api("GET", "/api/public/featured-providers");
    expect(featured.status).toBe(200);
    expect(featured.body.data.providers[0]).toMatchObject({
      provider_service_id: expect.any(String),
      pricing: { displayPrice: expect.any(String) },
    });
    expect((await api("GET", `/api/public/services/${crypto.randomUUID()}/providers`)).status).toBe(404);
    expect((await api("GET", "/api/public/services/not-a-uuid/providers")).status).toBe(400);
  });

  it("pagination: the total counts what the filter lists, on every page and past the last one", async () => {
    const listing = await seedListing({ service: "glass-mirror", prices: { "glass-fitting": 20000 }, state: "Goa", city: "Panaji" });
    const page = async (n: number, state?: string) =>
      api(
        "GET",
        `/api/public/services/${listing.serviceId}/providers?limit=1&page=${n}${state ? `&state=${state}` : ""}&v=${crypto.randomUUID()}`,
      );
    const all = await page(1);
    const inGoa = await page(1, "goa");
    expect(inGoa.body.data.providers.map((p: { state: string }) => p.state)).toEqual(["Goa"]);
    const past = await page(10_000);
    expect(past.body.data.providers).toEqual([]);
    expect(past.body.data.pagination.total).toBe(all.body.data.pagination.total);
    const pastInGoa = await page(10_000, "goa");
    expect(pastInGoa.body.data.pagination).toMatchObject({ total: inGoa.body.data.pagination.total, hasMore: false });
    expect((await page(2, "goa")).body.data.pagination.total).toBe(inGoa.body.data.pagination.total);
  });

  it("reverse geocode answers a clear 501 when no geocoder is configured", async () => {
    const r = await api("GET", "/api/public/reverse-geocode?latitude=12.97&longitude=77.59");
    expect(r.status).toBe(501);
    expect(r.body.errorCode).toBe("NOT_CONFIGURED");
    expect((await api("GET", "/api/public/reverse-geocode?latitude=200&longitude=77.59")).status).toBe(400);
  });
});

describe("edge cache", () => {
  it("serves provider lists and details from the cache and drops them when a price or a rating changes", async () => {
    // borewell: a category no other test file writes to, so nothing else bumps its generation meanwhile.
    const listing = await seedListing({ service: "borewell", prices: { "regular-borewell-drilling": 500000 } });
    const listPath = `/api/public/services/${listing.serviceId}/providers?limit=30&page=1`;
    const detailPath = `/api/public/provider-service/${listing.providerServiceId}`;
    type Card = { provider_service_id: string; pricing: { minPrice: number }; averageRating: number | null; totalReviews: number };
    const card = (r: { body: { data: { providers: Card[] } } }) =>
      r.body.data.providers.find((p) => p.provider_service_id === listing.providerServiceId)!;

    await api("GET", listPath);
    expect(card(await untilCached(listPath)).pricing.minPrice).toBe(5000);
    await api("GET", detailPath);
    expect((await untilCached(detailPath)).body.data.provider.sub_services[0].price).toBe(5000);

    // The provider edits the price through the app's edit call (no listing id in it).
    const edit = await api("PUT", "/api/services/borewell/providers", {
      token: listing.provider.token,
      body: { subServices: [{ serviceId: "regular-borewell-drilling", price: 4200 }] },
    });
    expect(edit.status).toBe(200);
    const fresh = await api("GET", listPath);
    expect(fresh.headers.get("x-cache")).toBe("MISS");
    expect(card(fresh).pricing.minPrice).toBe(4200);
    expect((await api("GET", detailPath)).body.data.provider.sub_services[0].price).toBe(4200);

    // A customer rates a completed booking: the average shows at once.
    await untilCached(listPath);
    const customer = await seedUser("user");
    const b = await api("POST", "/api/bookings", {
      token: customer.token,
      body: { providerServiceId: listing.providerServiceId, selectedServices: ["regular-borewell-drilling"], ...istSlot(2) },
    });
    expect(b.status).toBe(201);
    const id = b.body.data.booking.id;
    for (const status of ["accepted", "completed"])
      expect((await api("PUT", `/api/providers/bookings/${id}/status`, { token: listing.provider.token, body: { status } })).status).toBe(
        200,
      );
    expect((await api("POST", `/api/bookings/${id}/rate`, { token: customer.token, body: { rating: 4 } })).status).toBe(201);
    const rated = await api("GET", listPath);
    expect(rated.headers.get("x-cache")).toBe("MISS");
    expect(card(rated)).toMatchObject({ averageRating: 4, totalReviews: 1 });
  });
});

describe("provider service registration", () => {
  it("registers a paid category as pending, stores the proof images, and lists it in my-registrations", async () => {
    const provider = await seedUser("provider");
    const r = await api("POST", "/api/services/plumber/providers", {
      token: provider.token,
      body: registration([
        { serviceId: "tap-installation", price: 350 },
        { serviceId: "shower-installation", price: 650.5 },
      ]),
    });
    expect(r.status).toBe(201);
    expect(r.body.data.isFreeService).toBe(false);
    const id = r.body.data.providerService.id;
    const mine = await api("GET", "/api/services/my-registrations", { token: provider.token });
    expect(mine.status).toBe(200);
    const reg = mine.body.data.registeredServices[0];
    expect(reg).toMatchObject({
      provider_service_id: id,
      service_name: "plumber",
      payment_status: "pending",
      payment_end_date: null,
      years_of_experience: 7,
      service_description: "",
      city: "Mysuru",
      full_address: "12 Temple Road, Mysuru",
      pricing: { minPrice: 350, maxPrice: 650.5, subServiceCount: 2 },
    });
    expect(reg.sub_services.map((s: { serviceId: string; price: number }) => [s.serviceId, s.price])).toEqual([
      ["tap-installation", 350],
      ["shower-installation", 650.5],
    ]);
    expect(reg.working_proof_urls[0]).toMatch(/^http:\/\/127\.0\.0\.1:8787\/media\/working-proofs\/.+\.png$/);
    expect(reg.working_proof_urls[1]).toBe("https://images.example.com/proof.jpg");
    // Edit mode sends the stored URLs back unchanged (http locally: PUBLIC_BASE_URL is http here).
    const edit = await api("PUT", "/api/services/plumber/providers", {
      token: provider.token,
      body: registration([{ serviceId: "tap-installation", price: 350 }], { workingProofUrls: reg.working_proof_urls }),
    });
    expect(edit.status).toBe(200);
    const edited = (await api("GET", "/api/services/my-registrations", { token: provider.token })).body.data.registeredServices[0];
    expect(edited.working_proof_urls).toEqual(reg.working_proof_urls);
    const foreign = await api("PUT", "/api/services/plumber/providers", {
      token: provider.token,
      body: { workingProofUrls: ["http://images.example.com/proof.jpg"] },
    });
    expect(foreign.status).toBe(400);
    // Not public until paid.
    const list = await api("GET", `/api/public/services/${reg.service_id}/providers?limit=50`);
    expect(list.body.data.providers.map((p: { provider_service_id: string }) => p.provider_service_id)).not.toContain(id);
    // A second registration in the category is refused with the app's message.
    const again = await api("POST", "/api/services/plumber/providers", {
      token: provider.token,
      body: registration([{ serviceId: "tap-installation", price: 1 }]),
    });
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/Already registered/);
  });

  it("two registrations in one category at once: one listing, one notification, the other gets the app's 409", async () => {
    const provider = await seedUser("provider");
    const both = await Promise.all(
      [1, 2].map(() =>
        api("POST", "/api/services/plumber/providers", {
          token: provider.token,
          body: registration([{ serviceId: "tap-installation", price: 350 }]),
        }),
      ),
    );
    expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(both.find((r) => r.status === 409)!.body.message).toMatch(/Already registered/);
    const db = testDb();
    const [counts] = (
      await db.http.execute(
        sql`select (select count(*)::int from provider_services ps join provider_profiles pp on pp.id = ps.provider_id where pp.user_id = ${provider.id}) as listings,
                   (select count(*)::int from provider_sub_services x join provider_services ps on ps.id = x.provider_service_id
                      join provider_profiles pp on pp.id = ps.provider_id where pp.user_id = ${provider.id}) as prices,
                   (select count(*)::int from notifications where user_id = ${provider.id}) as notifications,
                   (select count(*)::int from outbox where payload->>'userId' = ${provider.id}::text) as outbox`,
      )
    ).rows;
    expect(counts).toEqual({ listings: 1, prices: 1, notifications: 1, outbox: 2 });
    const [n] = (await db.http.execute(sql`select data from notifications where user_id = ${provider.id}`)).rows as {
      data: Record<string, unknown>;
    }[];
    expect(n!.data).toEqual({
      providerServiceId: both.find((r) => r.status === 201)!.body.data.providerService.id,
      type: "service_registered",
      screen: "services",
    });
  });

  it("labour registration is free and active for a year", async () => {
    const provider = await seedUser("provider");
    const r = await api("POST", "/api/services/labor/providers", {
      token: provider.token,
      body: registration([{ serviceId: "per-hour-charges", price: 150 }]),
    });
    expect(r.status).toBe(201);
    expect(r.body.data.isFreeService).toBe(true);
    const [reg] = (await api("GET", "/api/services/my-registrations", { token: provider.token })).body.data.registeredServices;
    expect(reg).toMatchObject({ service_name: "labors", payment_status: "active" });
    expect(reg.days_until_expiry).toBeGreaterThan(360);
  });

  it("painter and painting-cleaning register into painting; electrician and carpenter register too", async () => {
    const a = await seedUser("provider");
    const ra = await api("POST", "/api/services/painting-cleaning/providers", {
      token: a.token,
      body: registration([{ serviceId: "room-painting", price: 2000 }]),
    });
    expect(ra.status).toBe(201);
    const b = await seedUser("provider");
    const rb = await api("POST", "/api/services/painter/providers", {
      token: b.token,
      body: registration([{ serviceId: "wall-panelling", price: 9000 }]),
    });
    expect(rb.status).toBe(201);
    const [reg] = (await api("GET", "/api/services/my-registrations", { token: b.token })).body.data.registeredServices;
    expect(reg.service_name).toBe("painting");
    // The same provider cannot hold both: they are one category.
    const dup = await api("POST", "/api/services/painting/providers", {
      token: b.token,
      body: registration([{ serviceId: "room-painting", price: 1 }]),
    });
    expect(dup.status).toBe(409);
    const bad = await api("POST", "/api/services/painting/providers", {
      token: a.token,
      body: registration([{ serviceId: "tap-installation", price: 1 }]),
    });
    expect(bad.status === 409 || bad.status === 400).toBe(true);
    const c = await seedUser("provider");
    const wrongSub = await api("POST", "/api/services/cleaning/providers", {
      token: c.token,
      body: registration([{ serviceId: "tap-installation", price: 1 }]),
    });
    expect(wrongSub.status).toBe(400);
    expect(wrongSub.body.message).toMatch(/Sub-services validation failed/);
    // Upstream could never register these two (no sub-services); they work now.
    const electrician = await api("POST", "/api/services/electrician/providers", {
      token: c.token,
      body: registration([{ serviceId: "wiring", price: 45000 }]),
    });
    expect(electrician.status).toBe(201);
    const carpenter = await api("POST", "/api/services/carpenter/providers", {
      token: (await seedUser("provider")).token,
      body: registration([{ serviceId: "door-window-fitting", price: 60000 }]),
    });
    expect(carpenter.status).toBe(201);
    const mine = (await api("GET", "/api/services/my-registrations", { token: c.token })).body.data.registeredServices;
    expect(mine.map((r: { service_name: string }) => r.service_name)).toContain("electrician");
    expect(
      (await api("POST", "/api/services/no-such-thing/providers", { token: c.token, body: registration([{ serviceId: "x", price: 1 }]) }))
        .status,
    ).toBe(404);
    const engineer = await api("POST", "/api/services/engineer-interior/providers", {
      token: c.token,
      body: registration([{ serviceId: "interior-design", price: 100 }]),
    });
    expect(engineer.status).toBe(400);
  });

  it("deleting a listing is a soft delete that keeps its payment history, and is refused while bookings are live", async () => {
    const listing = await seedListing({ service: "stainless-steel", prices: { "ss-fitting": 10000 } });
    const db = testDb();
    await db.http.execute(
      sql`insert into payment_orders (paytm_order_id, user_id, purpose, provider_service_id, amount_paise, validity_days, status, expires_at,
                                      gateway_txn_id, paid_at)
          values (${`TEST_DEL_${crypto.randomUUID().slice(0, 8)}`}, ${listing.provider.id}, 'listing_fee', ${listing.providerServiceId}, 9900, 30,
                  'paid', now(), ${`TXN_${crypto.randomUUID()}`}, now())`,
    );
    const customer = await seedUser("user");
    const b = await api("POST", "/api/bookings", {
      token: customer.token,
      body: { providerServiceId: listing.providerServiceId, selectedServices: ["ss-fitting"], ...istSlot(3) },
    });
    expect(b.status).toBe(201);
    const del = () => api("DELETE", `/api/services/my-registrations/${listing.providerServiceId}`, { token: listing.provider.token });
    expect((await del()).status).toBe(409);
    expect((await api("PUT", `/api/bookings/${b.body.data.booking.id}/cancel`, { token: customer.token, body: {} })).status).toBe(200);
    expect((await del()).status).toBe(200);
    expect((await del()).status).toBe(404);
    const [row] = (await db.http.execute(sql`select status::text as status from provider_services where id = ${listing.providerServiceId}`))
      .rows;
    expect(row).toEqual({ status: "deleted" });
    const [orders] = (
      await db.http.execute(sql`select count(*)::int as n from payment_orders where provider_service_id = ${listing.providerServiceId}`)
    ).rows;
    expect(orders).toEqual({ n: 1 });
    expect((await api("GET", "/api/services/my-registrations", { token: listing.provider.token })).body.data.registeredServices).toEqual(
      [],
    );
    // Another provider cannot delete someone else's listing.
    const other = await seedListing({ service: "stainless-steel", prices: { "ms-fitting": 10000 } });
    expect(
      (await api("DELETE", `/api/services/my-registrations/${other.providerServiceId}`, { token: listing.provider.token })).status,
    ).toBe(404);
  });
});
