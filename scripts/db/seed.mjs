// Seed data: the service catalogue exactly as the old system had it, plus (optionally) demo accounts,
// listings and bookings for local development. Idempotent: every row is keyed by a natural key and
// written with ON CONFLICT, so running it twice changes nothing.
//
//   node scripts/db/seed.mjs [DATABASE_URL] [--no-demo]
//   import { seed } from './scripts/db/seed.mjs'; await seed(url, { demo: true });

import { randomBytes, scryptSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const DEMO_PASSWORD = "Demo@12345";

/**
 * services_master rows from upstream `scripts/seed-services.js`, in its order, with the
 * sub-service ids of upstream `utils/subServicesValidation.js`. Money in paise: every paid listing
 * cost ₹99 (base_price after upstream's migration 013) and bought 30 days; `labors` was free for
 * 365 days. Upstream had no default sub-service prices (providers set their own).
 *
 * - `painter` and the front-end id `painting-cleaning` both register into `painting` upstream, so
 *   the `painting` sub-services live on `painting`; the `painter` row has none, as upstream.
 * - `electrician` and `carpenter` never had sub-services, so nobody could register in them;
 *   they get the common jobs of each trade here, so providers can register and customers can book.
 */
export const CATALOGUE = [
  {
    name: "plumber",
    subServices: [
      ["sanitary-pit-construction", "Sanitary Pit Construction"],
      ["bathroom-fixing-cleaning", "Bathroom Fixing & Cleaning"],
      ["a-to-z-plumbing-contract", "A to Z Plumbing Contract"],
      ["tap-installation", "Tap Installation"],
      ["shower-installation", "Shower Installation"],
    ],
  },
  { name: "mason-mastri", subServices: [["per-sqft-construction", "Per Sq. Ft. Construction"]] },
  {
    name: "painting",
    subServices: [
      ["room-painting", "Room Painting"],
      ["fancy-wall-painting", "Fancy Wall Painting"],
      ["wall-striking", "Wall Striking"],
      ["full-house-painting", "Full House Painting"],
      ["wall-panelling", "Wall Panelling"],
    ],
  },
  {
    name: "granite-tiles",
    subServices: [
      ["wall-fitting", "Wall Fitting"],
      ["floor-fitting", "Floor Fitting"],
      ["parking-tile-fitting", "Parking Tile Fitting"],
      ["granite-fitting", "Granite Fitting"],
      ["broken-tile-fitting", "Broken Tile Fitting"],
      ["wall-stickering", "Wall Stickering"],
      ["a-to-z-tiles-contract", "A to Z Tiles Contract"],
    ],
  },
  {
    name: "engineer-interior",
    subServices: [
      ["2d-planning-floor", "2D Floor Planning"],
      ["structural-planning", "Structural Planning"],
      ["3d-house-elevation", "3D House Elevation"],
      ["interior-design", "Interior Design"],
      ["shop-interior-planning", "Shop Interior Planning"],
    ],
  },
  {
    name: "electrician",
    subServices: [
      ["wiring", "Wiring & Rewiring"],
      ["switch-socket-installation", "Switch & Socket Installation"],
      ["fan-light-installation", "Fan & Light Installation"],
      ["mcb-db-repair", "MCB / Distribution Board Repair"],
      ["full-house-wiring", "Full House Wiring"],
    ],
  },
  {
    name: "carpenter",
    subServices: [
      ["furniture-repair", "Furniture Repair"],
      ["door-window-fitting", "Door & Window Fitting"],
      ["modular-furniture-assembly", "Modular Furniture Assembly"],
      ["wardrobe-cabinet-making", "Wardrobe & Cabinet Making"],
    ],
  },
  { name: "painter", subServices: [] },
  {
    name: "interiors-building",
    subServices: [
      ["shop-interior", "Shop Interior"],
      ["kitchen-interior", "Kitchen Interior"],
      ["room-interior", "Room Interior"],
      ["top-interior", "Top Interior"],
      ["a-to-z-interior", "A to Z Interior"],
    ],
  },
  {
    name: "stainless-steel",
    subServices: [
      ["ss-fitting", "SS Fitting"],
      ["ms-fitting", "MS Fitting"],
      ["ss-with-glass-fitting", "SS with Glass Fitting"],
    ],
  },
  {
    name: "contact-building",
    subServices: [
      ["general-contractor", "General Contractor"],
      ["prime-contractor", "Prime Contractor"],
      ["speciality-trade-contractor", "Speciality Trade Contractor"],
      ["design-build-contractor", "Design-Build Contractor"],
      ["residential-commercial-contractor", "Residential & Commercial Contractor"],
    ],
  },
  {
    name: "glass-mirror",
    subServices: [
      ["glass-fitting", "Glass Fitting"],
      ["mirror-fitting", "Mirror Fitting"],
    ],
  },
  {
    name: "cleaning",
    subServices: [
      ["sump-cleaning", "Sump Cleaning"],
      ["tank-cleaning", "Tank Cleaning"],
      ["bathroom-cleaning", "Bathroom Cleaning"],
      ["total-house-cleaning", "Total House Cleaning"],
    ],
  },
  {
    name: "borewell",
    subServices: [
      ["regular-borewell-drilling", "Regular Borewell Drilling"],
      ["premium-borewell-drilling", "Premium Borewell Drilling"],
    ],
  },
  { name: "labors", free: true, subServices: [["per-hour-charges", "Per Hour Charges"]] },
];

const LISTING_FEE_PAISE = 9900;
const PAID_LISTING_DAYS = 30;
const FREE_LISTING_DAYS = 365;
const LABOUR_ACCESS_PAISE = 9900;
const LABOUR_ACCESS_DAYS = 7;

/** Demo logins (Indian 10-digit numbers). 9999999999 is the number the provider app tries as admin first. */
export const DEMO_ACCOUNTS = {
  customer: { phone: "9876500001", role: "user", fullName: "Demo Customer", email: "customer@demo.buildxpert.in" },
  plumber: { phone: "9876500002", role: "provider", fullName: "Ravi Kumar (Demo Plumber)", email: "plumber@demo.buildxpert.in" },
  labour: { phone: "9876500003", role: "provider", fullName: "Suresh Gowda (Demo Labour)", email: "labour@demo.buildxpert.in" },
  admin: { phone: "9999999999", role: "admin", fullName: "Demo Admin", email: "admin@demo.buildxpert.in" },
};

/**
 * Same format as src/auth/password.ts: `$scrypt$ln=14,r=8,p=5$<salt b64url>$<hash b64url>`, dkLen 32. Node's native
 * scrypt here (the worker has only the JS one): about twice as fast, and every seed hashes each demo account.
 */
export function hashPassword(password) {
  const salt = randomBytes(16);
  const dk = scryptSync(Buffer.from(password.normalize("NFKC"), "utf8"), salt, 32, { N: 2 ** 14, r: 8, p: 5 });
  return `$scrypt$ln=14,r=8,p=5$${salt.toString("base64url")}$${dk.toString("base64url")}`;
}

const DAY_MS = 86_400_000;
const IST_OFFSET_MS = 5.5 * 3_600_000;

/** An appointment `days` from today (India date) at `hour:minute` IST, as the app sends and we store it. */
function appointment(days, hour, minute) {
  const istToday = new Date(Date.now() + IST_OFFSET_MS).toISOString().slice(0, 10);
  const date = new Date(Date.parse(`${istToday}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
  const hh = String(hour).padStart(2, "0");
  const mm = String(minute).padStart(2, "0");
  const h12 = hour % 12 === 0 ? 12 : hour % 12;
  return { at: `${date}T${hh}:${mm}:00+05:30`, date, time: `${h12}:${mm} ${hour < 12 ? "AM" : "PM"}` };
}

async function seedCatalogue(c) {
  const ids = new Map();
  for (const [i, s] of CATALOGUE.entries()) {
    const { rows } = await c.query(
      `INSERT INTO services_master (name, is_paid, listing_fee_paise, listing_validity_days, is_active, sort_order)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO UPDATE SET is_paid = EXCLUDED.is_paid, listing_fee_paise = EXCLUDED.listing_fee_paise,
         listing_validity_days = EXCLUDED.listing_validity_days, is_active = EXCLUDED.is_active, sort_order = EXCLUDED.sort_order
       RETURNING id`,
      [s.name, !s.free, s.free ? 0 : LISTING_FEE_PAISE, s.free ? FREE_LISTING_DAYS : PAID_LISTING_DAYS, s.active !== false, (i + 1) * 10],
    );
    const serviceId = rows[0].id;
    const subs = new Map();
    for (const [j, [slug, name]] of s.subServices.entries()) {
      const r = await c.query(
        `INSERT INTO sub_services (service_id, slug, name, sort_order) VALUES ($1, $2, $3, $4)
         ON CONFLICT (service_id, slug) DO UPDATE SET name = EXCLUDED.name, sort_order = EXCLUDED.sort_order
         RETURNING id`,
        [serviceId, slug, name, (j + 1) * 10],
      );
      subs.set(slug, { id: r.rows[0].id, name });
    }
    ids.set(s.name, { id: serviceId, subs });
  }
  return ids;
}

async function upsertUser(c, a) {
  const { rows } = await c.query(
    `INSERT INTO users (role, phone, email, password_hash, full_name, is_verified)
     VALUES ($1, $2, $3, $4, $5, true)
     ON CONFLICT (phone, role) WHERE deleted_at IS NULL
     DO UPDATE SET password_hash = EXCLUDED.password_hash, full_name = EXCLUDED.full_name, is_verified = true
     RETURNING id`,
    [a.role, a.phone, a.email, hashPassword(DEMO_PASSWORD), a.fullName],
  );
  return rows[0].id;
}

async function upsertHomeAddress(c, userId, city, state, fullAddress, pincode) {
  await c.query(
    `INSERT INTO addresses (user_id, type, state, city, full_address, pincode) VALUES ($1, 'home', $2, $3, $4, $5)
     ON CONFLICT (user_id) WHERE type = 'home' DO NOTHING`,
    [userId, state, city, fullAddress, pincode],
  );
}

async function upsertProfile(c, userId, years) {
  const { rows } = await c.query(
    `INSERT INTO provider_profiles (user_id, years_of_experience) VALUES ($1, $2)
     ON CONFLICT (user_id) DO UPDATE SET years_of_experience = provider_profiles.years_of_experience
     RETURNING id`,
    [userId, years],
  );
  return rows[0].id;
}

/** A live listing, active for `days` from now (only inserted once; reruns keep the first window). */
async function upsertActiveListing(c, providerId, service, description, days, prices) {
  await c.query(
    `INSERT INTO provider_services (provider_id, service_id, status, service_description, activated_at, expires_at)
     VALUES ($1, $2, 'active', $3, now(), now() + make_interval(days => $4))
     ON CONFLICT (provider_id, service_id) WHERE status <> 'deleted' DO NOTHING`,
    [providerId, service.id, description, days],
  );
  const { rows } = await c.query(`SELECT id FROM provider_services WHERE provider_id = $1 AND service_id = $2 AND status <> 'deleted'`, [
    providerId,
    service.id,
  ]);
  const listingId = rows[0].id;
  for (const [slug, pricePaise] of Object.entries(prices)) {
    await c.query(
      `INSERT INTO provider_sub_services (provider_service_id, service_id, sub_service_id, price_paise) VALUES ($1, $2, $3, $4)
       ON CONFLICT (provider_service_id, sub_service_id) DO NOTHING`,
      [listingId, service.id, service.subs.get(slug).id, pricePaise],
    );
  }
  return listingId;
}

/** A paid order (seeded as already settled), keyed by its Paytm orderId. */
async function upsertPaidOrder(c, { paytmOrderId, userId, purpose, providerServiceId, amountPaise, validityDays }) {
  await c.query(
    `INSERT INTO payment_orders (paytm_order_id, user_id, purpose, provider_service_id, amount_paise, validity_days, status,
       expires_at, gateway_txn_id, payment_mode, paid_at, activated_at, granted_from, granted_until)
     VALUES ($1, $2, $3, $4, $5, $6, 'paid', now() + interval '30 minutes', $7, 'UPI', now(), now(), now(),
       now() + make_interval(days => $6))
     ON CONFLICT (paytm_order_id) DO NOTHING`,
    [paytmOrderId, userId, purpose, providerServiceId, amountPaise, validityDays, `SEEDTXN_${paytmOrderId}`],
  );
  const { rows } = await c.query(`SELECT id, granted_from, granted_until FROM payment_orders WHERE paytm_order_id = $1`, [paytmOrderId]);
  return rows[0];
}

async function upsertBooking(c, { key, customerId, listingId, providerId, service, slugs, prices, when, status }) {
  const selected = slugs.map((slug) => ({
    subServiceId: service.subs.get(slug).id,
    slug,
    name: service.subs.get(slug).name,
    pricePaise: prices[slug],
  }));
  const total = selected.reduce((sum, s) => sum + s.pricePaise, 0);
  const { rows } = await c.query(
    `INSERT INTO bookings (customer_id, provider_service_id, provider_id, selected_sub_services, total_price_paise,
       appointment_at, appointment_date, appointment_time, address, status, viewed_by_customer, viewed_by_provider, idempotency_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true, $11, $12)
     ON CONFLICT (customer_id, idempotency_key) DO NOTHING
     RETURNING id`,
    [
      customerId,
      listingId,
      providerId,
      JSON.stringify(selected),
      total,
      when.at,
      when.date,
      when.time,
      "HSR Layout, Bengaluru 560102",
      status,
      status !== "pending",
      key,
    ],
  );
  if (rows[0]) return rows[0].id;
  const r = await c.query(`SELECT id FROM bookings WHERE customer_id = $1 AND idempotency_key = $2`, [customerId, key]);
  return r.rows[0].id;
}

async function seedDemo(c, catalogue) {
  const ids = {};
  for (const [k, a] of Object.entries(DEMO_ACCOUNTS)) ids[k] = await upsertUser(c, a);

  await upsertHomeAddress(c, ids.customer, "Bengaluru", "Karnataka", "12, 5th Cross, HSR Layout", "560102");
  await upsertHomeAddress(c, ids.plumber, "Bengaluru", "Karnataka", "44, 2nd Main, Koramangala", "560034");
  await upsertHomeAddress(c, ids.labour, "Bengaluru", "Karnataka", "7, Bommanahalli Main Road", "560068");

  const plumber = catalogue.get("plumber");
  const labors = catalogue.get("labors");
  const plumberProfile = await upsertProfile(c, ids.plumber, 8);
  const labourProfile = await upsertProfile(c, ids.labour, 5);

  const plumberPrices = { "tap-installation": 49900, "shower-installation": 79900, "bathroom-fixing-cleaning": 149900 };
  const labourPrices = { "per-hour-charges": 15000 };
  const plumberListing = await upsertActiveListing(
    c,
    plumberProfile,
    plumber,
    "Leak repairs, taps, showers and full bathroom fittings.",
    PAID_LISTING_DAYS,
    plumberPrices,
  );
  const labourListing = await upsertActiveListing(
    c,
    labourProfile,
    labors,
    "Loading, shifting and site helper work, by the hour.",
    FREE_LISTING_DAYS,
    labourPrices,
  );

  // The plumber listing is active because its fee was paid; the customer has paid labour access.
  await upsertPaidOrder(c, {
    paytmOrderId: "SEED_DEMO_PLUMBER_LISTING",
    userId: ids.plumber,
    purpose: "listing_fee",
    providerServiceId: plumberListing,
    amountPaise: LISTING_FEE_PAISE,
    validityDays: PAID_LISTING_DAYS,
  });
  const labourOrder = await upsertPaidOrder(c, {
    paytmOrderId: "SEED_DEMO_LABOUR_ACCESS",
    userId: ids.customer,
    purpose: "labour_access",
    providerServiceId: null,
    amountPaise: LABOUR_ACCESS_PAISE,
    validityDays: LABOUR_ACCESS_DAYS,
  });
  await c.query(
    `INSERT INTO labour_access (user_id, order_id, starts_at, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (order_id) DO NOTHING`,
    [ids.customer, labourOrder.id, labourOrder.granted_from, labourOrder.granted_until],
  );

  const common = { customerId: ids.customer };
  await upsertBooking(c, {
    ...common,
    key: "seed-demo-1",
    listingId: plumberListing,
    providerId: plumberProfile,
    service: plumber,
    prices: plumberPrices,
    slugs: ["tap-installation"],
    when: appointment(1, 10, 30),
    status: "pending",
  });
  await upsertBooking(c, {
    ...common,
    key: "seed-demo-2",
    listingId: plumberListing,
    providerId: plumberProfile,
    service: plumber,
    prices: plumberPrices,
    slugs: ["shower-installation", "bathroom-fixing-cleaning"],
    when: appointment(2, 14, 0),
    status: "accepted",
  });
  const done = await upsertBooking(c, {
    ...common,
    key: "seed-demo-3",
    listingId: plumberListing,
    providerId: plumberProfile,
    service: plumber,
    prices: plumberPrices,
    slugs: ["tap-installation"],
    when: appointment(-3, 11, 0),
    status: "completed",
  });
  await upsertBooking(c, {
    ...common,
    key: "seed-demo-4",
    listingId: labourListing,
    providerId: labourProfile,
    service: labors,
    prices: labourPrices,
    slugs: ["per-hour-charges"],
    when: appointment(1, 9, 0),
    status: "pending",
  });

  await c.query(
    `INSERT INTO ratings (booking_id, direction, rater_id, ratee_id, rating, review) VALUES
       ($1, 'customer_to_provider', $2, $3, 5, 'Fixed the leaking tap quickly. Recommended.'),
       ($1, 'provider_to_customer', $3, $2, 5, 'Clear instructions, paid on time.')
     ON CONFLICT (booking_id, direction) DO NOTHING`,
    [done, ids.customer, ids.plumber],
  );
  await c.query(
    `INSERT INTO notifications (user_id, title, message, type, dedup_key) VALUES
       ($1, 'Welcome to BuildXpert! 🎉', 'Your demo customer account is ready.', 'welcome', $4),
       ($2, 'Welcome to BuildXpert Provider! 🎉', 'Your demo provider account is ready.', 'welcome', $5),
       ($3, 'Welcome to BuildXpert Provider! 🎉', 'Your demo provider account is ready.', 'welcome', $6)
     ON CONFLICT (dedup_key) DO NOTHING`,
    [ids.customer, ids.plumber, ids.labour, ...[ids.customer, ids.plumber, ids.labour].map((u) => `seed:welcome:${u}`)],
  );
  return ids;
}

/**
 * Seeds the catalogue and, with `demo`, the demo data, in one transaction.
 * @returns {Promise<{ services: number, subServices: number, demo: Record<string, string> | null }>}
 */
export async function seed(databaseUrl, { demo = true } = {}) {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query("BEGIN");
    const catalogue = await seedCatalogue(c);
    const demoIds = demo ? await seedDemo(c, catalogue) : null;
    await c.query("COMMIT");
    const subServices = [...catalogue.values()].reduce((n, s) => n + s.subs.size, 0);
    return { services: catalogue.size, subServices, demo: demoIds };
  } catch (err) {
    await c.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    await c.end();
  }
}

export function printDemoLogins(log = console.log) {
  log(`Demo logins (password for all: ${DEMO_PASSWORD}):`);
  for (const [k, a] of Object.entries(DEMO_ACCOUNTS)) log(`  ${k.padEnd(8)} phone ${a.phone}  role ${a.role.padEnd(8)}  ${a.fullName}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const url = args.find((a) => !a.startsWith("--")) ?? process.env.DATABASE_URL;
  if (!url) {
    console.error("usage: node scripts/db/seed.mjs <DATABASE_URL> [--no-demo]   (or set DATABASE_URL)");
    process.exit(2);
  }
  const demo = !args.includes("--no-demo");
  const r = await seed(url, { demo });
  console.log(`Seeded ${r.services} services and ${r.subServices} sub-services${demo ? ", plus demo data" : ""}.`);
  if (demo) printDemoLogins();
}
