/**
 * The end-to-end contract run (`npm run e2e`): every call of client-calls.json, in the order a user
 * meets them, against `wrangler dev` on loopback with a throwaway database (test/e2e/local-worker.ts),
 * checking status, envelope and every field the apps read (docs/api-contract.md), plus the Socket.IO
 * events the apps listen for on sockets opened exactly as the apps open them.
 *
 *   node test/e2e/contract.ts          E2E_PORT (default 8798) moves the worker's port;
 *                                      CONTRACT_CALLS_JSON points at the reference list to cross-check.
 *
 * Story: customer signup → OTP → login → refresh → profile → browse → provider signup → listing →
 * listing fee via the Paytm WebView flow → labour access → booking → accept → badges → notifications →
 * masked call → complete → ratings → reports → admin (moderation, refund, accounts) → password reset
 * and account deletion → the session ends.
 */
import assert from "node:assert/strict";
import { randomBytes, scryptSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import pg from "pg";
import { istSlot } from "../ist-slot.ts";
import {
  appSocket,
  client,
  closeSockets,
  connected,
  coverageReport,
  crossCheckReference,
  event,
  formOf,
  type Res,
  shape,
} from "./contract-kit.ts";
import { type LocalWorker, startLocalWorker } from "./local-worker.ts";

const PORT = Number(process.env.E2E_PORT ?? 8798);
// Every call the two apps make (docs/api-contract.md): the list this run must cover, call by call.
const REFERENCE = process.env.CONTRACT_CALLS_JSON ?? new URL("./client-calls.json", import.meta.url).pathname;
const log = (m: string) => console.log(`[contract] ${m}`);
const PASSWORD = "Passw0rd!";
const DEFAULT_PIC = "https://res.cloudinary.com/dqoizs0fu/raw/upload/v1756189484/profile-pictures/m3szbez4bzvwh76j1fle";
// 1×1 PNG, what the apps send as a base64 data URL.
const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

const randomPhone = () => `${6 + Math.floor(Math.random() * 4)}${String(Math.floor(Math.random() * 1e9)).padStart(9, "0")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** src/auth/password.ts format, at the cost the local worker runs with (PASSWORD_SCRYPT_LOG_N=10). */
function scryptHash(password: string): string {
  const salt = randomBytes(16);
  const dk = scryptSync(password.normalize("NFKC"), salt, 32, { N: 1024, r: 8, p: 5 });
  return `$scrypt$ln=10,r=8,p=5$${salt.toString("base64url")}$${dk.toString("base64url")}`;
}

/** A Nominatim-shaped reverse geocoder on loopback (GEOCODER_URL), so reverse-geocode is exercised. */
async function startGeocoder(): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    const u = new URL(req.url ?? "/", "http://x");
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        lat: u.searchParams.get("lat"),
        lon: u.searchParams.get("lon"),
        address: { city: "Bengaluru", state_district: "Bangalore Urban", state: "Karnataka", country_code: "in" },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/reverse`, server, hits: () => hits };
}

const TOKEN_PAIR = {
  "data.accessToken": "string",
  "data.refreshToken": "string",
  "data.accessTokenExpiresAt": "date",
  "data.refreshTokenExpiresAt": "date",
};

let worker: LocalWorker | undefined;
let geocoder: Server | undefined;
let db: pg.Client | undefined;
const t0 = performance.now();
try {
  log(crossCheckReference(REFERENCE));
  const geo = await startGeocoder();
  geocoder = geo.server;
  worker = await startLocalWorker(PORT, log, { vars: { GEOCODER_URL: geo.url } });
  log(`wrangler dev ready at ${worker.base} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  db = new pg.Client({ connectionString: worker.stack.databaseUrl });
  await db.connect();
  await story(worker, db, geo.hits);
  const { missing } = coverageReport(log);
  assert.equal(missing.length, 0, `reachable calls not exercised: ${missing.map((m) => m.key).join(", ")}`);
  console.log(`\nCONTRACT E2E PASSED in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  process.exitCode = 0;
} catch (err) {
  coverageReport(log);
  console.error("\nCONTRACT E2E FAILED:", err);
  process.exitCode = 1;
} finally {
  closeSockets();
  await db?.end().catch(() => {});
  geocoder?.close();
  await worker?.stop();
  process.exit(process.exitCode ?? 0);
}

async function story(w: LocalWorker, db: pg.Client, geocoderHits: () => number) {
  const call = client(w.base, log);
  const { base } = w;
  const paytm = w.stack.paytmUrl;

  async function otp(phone: string, purpose: "signup" | "password_reset"): Promise<string> {
    // The development SMS driver records every code in dev_sms_outbox (src/auth/sms.ts).
    for (let i = 0; i < 50; i++) {
      const r = await db.query(
        "select code from dev_sms_outbox where phone = $1 and purpose = $2 order by created_at desc, id desc limit 1",
        [phone, purpose],
      );
      if (r.rows[0]) return r.rows[0].code as string;
      await sleep(100);
    }
    throw new Error(`no ${purpose} OTP for ${phone}`);
  }

  /** signup → verify-otp, as both apps do it; returns the verify answer. */
  async function signUp(role: "user" | "provider", fullName: string, phone: string, profilePicUrl: string) {
    const email = `${fullName.split(" ")[0]!.toLowerCase()}.${phone}@example.com`;
    await call("POST", "/api/auth/signup", { body: { fullName, email, phone, password: PASSWORD, role, profilePicUrl } });
    const code = await otp(phone, "signup");
    const v = await call("POST", "/api/auth/verify-otp", { body: { phone, otp: code } });
    shape(`verify-otp (${role})`, v.body, {
      ...TOKEN_PAIR,
      "data.token": "string",
      "data.user": "object",
      "data.user.id": "string",
      "data.user.phone": "string",
      "data.user.fullName": "string",
      "data.user.full_name": "string",
      "data.user.email": "string",
      "data.user.role": "string",
      "data.user.profilePicUrl": "string|null",
      "data.user.profile_pic_url": "string|null",
      "data.user.nameChangeCount": "number",
      "data.user.aadharNumber": "?string|null",
      "data.user.registeredServices": "?array",
    });
    assert.equal(v.body.data.user.role, role);
    assert.equal(v.body.data.user.phone, phone);
    return { id: v.body.data.user.id as string, phone, email, fullName, verify: v.body.data };
  }

  async function login(phone: string, role: string, password = PASSWORD, expect?: number | number[]) {
    const r = await call("POST", "/api/auth/login", { body: { phone, password, role }, expect });
    if (r.status === 200) {
      shape(`login (${role})`, r.body, { ...TOKEN_PAIR, "data.token": "string", "data.user.id": "string", "data.user.role": "string" });
      assert.equal(r.body.data.user.role, role);
    }
    return r;
  }

  // ---------------------------------------------------------------------------------------------
  // 1. The customer arrives: health probe, signup, OTP (a wrong one first), login, refresh.
  await call("GET", "/health", { raw: true });
  // The API reference reads offline: the page's only script is the worker's own copy of Scalar.
  const docs = await call("GET", "/api/docs", { raw: true });
  const script = /<script src="(\/api\/docs\/[^"]+\.js)"><\/script>/.exec(docs.text)?.[1];
  assert.ok(script && !/<script[^>]+src="(https?:)?\/\//.test(docs.text), "/api/docs loads no script from elsewhere");
  const bundle = await call("GET", script, { raw: true });
  assert.match(bundle.headers.get("content-type") ?? "", /javascript/);
  assert.ok(bundle.text.includes("createApiReference"), `${script} is Scalar's bundle`);

  // A second customer starts signing up now; their OTP resend comes later (30 s cooldown).
  const spare = { phone: randomPhone(), startedAt: Date.now() };
  await call("POST", "/api/auth/signup", {
    body: {
      fullName: "Kiran Spare",
      email: `kiran.${spare.phone}@example.com`,
      phone: spare.phone,
      password: PASSWORD,
      role: "user",
      profilePicUrl: DEFAULT_PIC,
    },
  });

  const custPhone = randomPhone();
  await call("POST", "/api/auth/signup", {
    body: {
      fullName: "Asha Rao",
      email: `asha.${custPhone}@example.com`,
      phone: custPhone,
      password: PASSWORD,
      role: "user",
      profilePicUrl: DEFAULT_PIC,
    },
  });
  const goodCode = await otp(custPhone, "signup");
  const wrongCode = goodCode === "000000" ? "111111" : "000000";
  const bad = await call("POST", "/api/auth/verify-otp", { body: { phone: custPhone, otp: wrongCode }, expect: [400, 401] });
  shape("verify-otp wrong code", bad.body, { remainingAttempts: "number", locked: "?boolean", lockoutTimeRemaining: "?number" });
  const cv = await call("POST", "/api/auth/verify-otp", { body: { phone: custPhone, otp: goodCode } });
  shape("verify-otp (user)", cv.body, {
    ...TOKEN_PAIR,
    "data.token": "string",
    "data.user.id": "string",
    "data.user.nameChangeCount": "number",
  });
  const customer = { id: cv.body.data.user.id as string, phone: custPhone, fullName: "Asha Rao", token: "" };

  const cl = await login(custPhone, "user");
  assert.equal(cl.body.data.user.id, customer.id);
  const rf = await call("POST", "/api/auth/refresh", { body: { refreshToken: cl.body.data.refreshToken } });
  shape("refresh", rf.body, TOKEN_PAIR);
  // Concurrent forced refreshes (docs/api-contract.md §2.2): the just-rotated token is accepted briefly.
  const rf2 = await call("POST", "/api/auth/refresh", { body: { refreshToken: cl.body.data.refreshToken } });
  assert.equal(rf2.body.data.refreshToken, rf.body.data.refreshToken, "a reused refresh token within the window gets the same pair");
  // The old access token keeps working until it expires.
  await call("GET", "/api/users/profile", { token: cl.body.data.accessToken });
  customer.token = rf.body.data.accessToken;

  // ---------------------------------------------------------------------------------------------
  // 2. Profile: read, photo upload (data URL → stored URL), rename + e-mail, photo removal, addresses.
  const prof = await call("GET", "/api/users/profile", { token: customer.token });
  shape("profile", prof.body, {
    "data.user.fullName": "string",
    "data.user.full_name": "string",
    "data.user.email": "string",
    "data.user.phone": "string",
    "data.user.profilePicUrl": "string|null",
    "data.user.profile_pic_url": "string|null",
    "data.user.nameChangeCount": "number",
    "data.user.createdAt": "date",
    "data.user.created_at": "date",
    "data.user.location": "?string|null|object",
  });
  const photo = await call("PUT", "/api/users/profile", { token: customer.token, body: { profilePicUrl: PNG } });
  shape("profile photo", photo.body, { "data.user.profilePicUrl": "string", "data.user.profile_pic_url": "string" });
  const picUrl = photo.body.data.user.profilePicUrl as string;
  assert.ok(!picUrl.startsWith("data:"), "the stored photo is a URL, not the data URL");
  const pic = await fetch(picUrl.replace(/^https?:\/\/[^/]+/, base));
  assert.equal(pic.status, 200, "the stored photo is served");
  assert.match(pic.headers.get("content-type") ?? "", /^image\//);
  await pic.arrayBuffer();
  const renamed = await call("PUT", "/api/users/profile", {
    token: customer.token,
    body: { fullName: "Asha R", email: `asha.r.${custPhone}@example.com`, profilePicUrl: picUrl },
  });
  shape("profile save", renamed.body, { "data.user.nameChangeCount": "number" });
  assert.equal(renamed.body.data.user.nameChangeCount, 1);
  customer.fullName = "Asha R";
  const removed = await call("PUT", "/api/users/profile", { token: customer.token, body: { profilePicUrl: "" } });
  assert.ok(!removed.body.data.user.profilePicUrl, "photo removed");
  const noAddr = await call("GET", "/api/users/addresses", { token: customer.token });
  shape("addresses (none)", noAddr.body, { "data.addresses": "array" });
  await call("POST", "/api/users/addresses", {
    token: customer.token,
    body: { fullAddress: "12 MG Road, Shivajinagar", state: "Karnataka", city: "Bengaluru", pincode: "560001" },
  });
  const addr = await call("GET", "/api/users/addresses", { token: customer.token });
  shape("addresses", addr.body, { "data.addresses[].full_address": "string" });

  // Push token: registered after login, again on every foreground (idempotent).
  const pushToken = `ExponentPushToken[e2e${customer.id.slice(0, 8)}]`;
  const deviceInfo = {
    deviceName: "Pixel 8",
    deviceType: 1,
    osName: "Android",
    osVersion: "14",
    platform: "android",
    appVersion: "1.0.0",
    appType: "user",
  };
  await call("POST", "/api/push-notifications/register-token", { token: customer.token, body: { pushToken, deviceInfo } });
  await call("POST", "/api/push-notifications/register-token", { token: customer.token, body: { pushToken, deviceInfo } });
  await call("PUT", "/api/push-notifications/settings", {
    token: customer.token,
    body: { settings: { booking_updates: true, reminders: true, promotional: false, sound_enabled: true, vibration_enabled: true } },
  });
  await call("POST", "/api/push-notifications/send-test", {
    token: customer.token,
    body: { title: "Test", body: "Test notification", data: { type: "test" } },
  });

  // ---------------------------------------------------------------------------------------------
  // 3. Browse: categories (slugs), location.
  const services = await call("GET", "/api/public/services");
  shape("services", services.body, { "data.services[].id": "string", "data.services[].name": "string" });
  const byName = new Map<string, string>(services.body.data.services.map((s: { id: string; name: string }) => [s.name, s.id]));
  for (const slug of ["plumber", "labors", "mason-mastri", "painting-cleaning", "cleaning", "engineer-interior"]) {
    assert.ok(byName.has(slug), `category slug ${slug} is listed`);
  }
  const plumberId = byName.get("plumber")!;
  const geoRes = await call("GET", "/api/public/reverse-geocode?latitude=12.9716&longitude=77.5946", {
    headers: { accept: "application/json", "content-type": "application/json" },
  });
  shape("reverse-geocode", geoRes.body, { "data.state": "string", "data.city": "string" });
  assert.deepEqual([geoRes.body.data.state, geoRes.body.data.city], ["Karnataka", "Bengaluru"]);
  assert.ok(geocoderHits() >= 1, "the geocoder was asked");

  // ---------------------------------------------------------------------------------------------
  // 4. The provider: signup (photo required), provider app login (role provider), registration.
  const prov = await signUp("provider", "Ravi Kumar", randomPhone(), PNG);
  const pl = await login(prov.phone, "provider");
  const provider = { id: prov.id, phone: prov.phone, fullName: prov.fullName, token: pl.body.data.accessToken as string };
  const early = await call("GET", "/api/providers/profile", { token: provider.token, expect: [200, 404] });
  if (early.status === 404) await call("GET", "/api/users/profile", { token: provider.token }); // the app's fallback
  const none = await call("GET", "/api/services/my-registrations", { token: provider.token });
  shape("my-registrations (none)", none.body, { "data.registeredServices": "array" });

  const registration = {
    yearsOfExperience: 7,
    serviceDescription: "Taps, showers and full bathroom plumbing",
    state: "Karnataka",
    city: "Bengaluru",
    fullAddress: "45 Residency Road, Bengaluru",
    workingProofUrls: [PNG],
    isEngineeringProvider: false,
    subServices: [
      { serviceId: "tap-installation", price: 450 },
      { serviceId: "shower-installation", price: 800 },
    ],
  };
  const reg = await call("POST", "/api/services/plumber/providers", {
    token: provider.token,
    body: registration,
    as: "POST /api/services/:category/providers",
    expect: [200, 201],
  });
  shape("register", reg.body, { "data.providerService.id": "string", "data.isFreeService": "boolean" });
  assert.equal(reg.body.data.isFreeService, false, "plumber listings are paid");
  const listingId = reg.body.data.providerService.id as string;
  const dup = await call("POST", "/api/services/plumber/providers", {
    token: provider.token,
    body: registration,
    as: "POST /api/services/:category/providers",
    expect: [400, 409],
  });
  assert.match(dup.body.message, /Already registered/i, "the app keys its UX on 'Already registered'");
  // A free labour listing, then deleted from the services tab.
  const labour = await call("POST", "/api/services/labor/providers", {
    token: provider.token,
    body: { ...registration, subServices: [{ serviceId: "per-hour-charges", price: 300 }] },
    as: "POST /api/services/:category/providers",
    expect: [200, 201],
  });
  assert.equal(labour.body.data.isFreeService, true, "labour listings are free");
  await call("DELETE", `/api/services/my-registrations/${labour.body.data.providerService.id}`, {
    token: provider.token,
    as: "DELETE /api/services/my-registrations/:serviceId",
  });

  const REGISTRATION_FIELDS = {
    "data.registeredServices[].provider_service_id": "string",
    "data.registeredServices[].service_id": "string",
    "data.registeredServices[].service_name": "string",
    "data.registeredServices[].payment_status": "string",
    "data.registeredServices[].payment_start_date": "date|null",
    "data.registeredServices[].payment_end_date": "date|null",
    "data.registeredServices[].days_until_expiry": "number|null",
    "data.registeredServices[].created_at": "date",
    "data.registeredServices[].working_proof_urls": "array|string",
    "data.registeredServices[].engineering_certificate_url": "string|null",
    "data.registeredServices[].state": "string|null",
    "data.registeredServices[].city": "string|null",
    "data.registeredServices[].full_address": "string|null",
    "data.registeredServices[].years_of_experience": "number|null",
    "data.registeredServices[].service_description": "string|null",
    "data.registeredServices[].sub_services[].id": "string",
    "data.registeredServices[].sub_services[].serviceId": "string",
    "data.registeredServices[].sub_services[].price": "number",
    "data.registeredServices[].pricing.minPrice": "number|null",
    "data.registeredServices[].pricing.maxPrice": "number|null",
    "data.registeredServices[].pricing.priceRange": "string|null",
    "data.registeredServices[].pricing.subServiceCount": "number",
  };
  const pending = await call("GET", "/api/services/my-registrations", { token: provider.token });
  shape("my-registrations (pending)", pending.body, REGISTRATION_FIELDS);
  const mine = pending.body.data.registeredServices.find((r: { provider_service_id: string }) => r.provider_service_id === listingId);
  assert.ok(mine, "the new listing is in my-registrations");
  assert.equal(mine.service_name, "plumber");
  assert.equal(mine.payment_status, "pending");
  assert.equal(pending.body.data.registeredServices.length, 1, "the deleted labour listing is gone");
  // Edit mode sends the whole form again, with the stored image URLs as they came back.
  await call("PUT", "/api/services/plumber/providers", {
    token: provider.token,
    body: { ...registration, workingProofUrls: mine.working_proof_urls, serviceDescription: "Taps, showers, bathrooms: 7 years" },
    as: "PUT /api/services/:category/providers",
  });

  // ---------------------------------------------------------------------------------------------
  // 5. The listing fee: initiate → the WebView GETs paytmUrl → Paytm page → pay → callback → verify.
  const init = await call("POST", "/api/payments/initiate-paytm", {
    token: provider.token,
    body: { providerServiceId: listingId, amount: "99", serviceCategory: "plumber", serviceName: "Plumber" },
  });
  shape("initiate-paytm (top level)", init.body, { orderId: "string", paytmUrl: "string" });
  const listingOrder = init.body.orderId as string;
  await webViewPayment(init.body.paytmUrl as string, listingOrder);
  const vp = await call("POST", "/api/payments/verify-paytm", {
    token: provider.token,
    body: { orderId: listingOrder, providerServiceId: listingId },
  });
  assert.equal(vp.body.status, "success");
  const active = await call("GET", "/api/services/my-registrations", { token: provider.token });
  shape("my-registrations (active)", active.body, REGISTRATION_FIELDS);
  const act = active.body.data.registeredServices[0];
  assert.equal(act.payment_status, "active");
  assert.ok(act.days_until_expiry >= 29 && act.days_until_expiry <= 30, `30 days bought, got ${act.days_until_expiry}`);
  const pp = await call("GET", "/api/providers/profile", { token: provider.token });
  shape("providers/profile", pp.body, {
    "data.profile.full_name": "string",
    "data.profile.email": "string|null",
    "data.profile.phone": "string",
    "data.profile.location": "?string|null|object",
    "data.profile.profile_pic_url": "string|null",
    "data.profile.created_at": "date",
  });

  /** What the app's WebView does with paytmUrl: GET it, follow the auto-submitted forms, land on our callback. */
  async function webViewPayment(paytmUrl: string, orderId: string) {
    const checkout = await call("GET", paytmUrl.replace(/^https?:\/\/[^/]+/, base), { raw: true, as: "GET (checkout page)" });
    assert.match(checkout.headers.get("content-type") ?? "", /text\/html/);
    const toPaytm = formOf(checkout.text);
    assert.equal(toPaytm.fields.orderId, orderId);
    const paytmPage = await fetch(toPaytm.action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(toPaytm.fields).toString(),
    });
    const pageHtml = await paytmPage.text();
    assert.equal(paytmPage.status, 200, `Paytm payment page: ${pageHtml.slice(0, 200)}`);
    const payForm = formOf(pageHtml, 1); // the "Succeed" button's form
    assert.equal(payForm.fields.outcome, "success");
    const paid = await fetch(new URL(payForm.action, paytm), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(payForm.fields).toString(),
    });
    const toMerchant = formOf(await paid.text());
    assert.ok(toMerchant.action.includes("/api/payments/paytm-callback"), "the WebView's completion signal is our callback URL");
    const result = await call("POST", toMerchant.action.replace(/^https?:\/\/[^/]+/, base), {
      rawBody: new URLSearchParams(toMerchant.fields).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      raw: true,
    });
    assert.match(result.text, /Payment successful/);
  }

  // ---------------------------------------------------------------------------------------------
  // 6. The customer finds the provider: listing, detail, featured.
  const list = await call("GET", `/api/public/services/${plumberId}/providers?limit=30&page=1&userCity=Bengaluru&userState=Karnataka`, {
    as: "GET /api/public/services/:id/providers",
  });
  shape("providers of a category", list.body, {
    "data.providers[].provider_service_id": "string",
    "data.providers[].full_name": "string",
    "data.providers[].service_description": "string",
    "data.providers[].averageRating": "number|null",
    "data.providers[].totalReviews": "number",
    "data.providers[].years_of_experience": "number|null",
    "data.providers[].city": "string|null",
    "data.providers[].state": "string|null",
    "data.providers[].profile_pic_url": "string|null",
    "data.providers[].pricing.minPrice": "number|null",
    "data.providers[].pricing.maxPrice": "number|null",
    "data.providers[].pricing.subServiceCount": "number",
    "data.pagination.total": "number",
    "data.pagination.currentPage": "number",
    "data.pagination.totalPages": "number",
  });
  const card = list.body.data.providers.find((p: { provider_service_id: string }) => p.provider_service_id === listingId);
  assert.ok(card, "the paid listing is listed");
  assert.deepEqual([card.pricing.minPrice, card.pricing.maxPrice], [450, 800]);
  assert.ok(!list.text.includes(provider.phone), "no provider phone in public listings");

  const PROVIDER_DETAIL = {
    "data.provider.provider_service_id": "string",
    "data.provider.full_name": "string",
    "data.provider.profile_pic_url": "string|null",
    "data.provider.is_engineering_provider": "boolean",
    "data.provider.averageRating": "number|null",
    "data.provider.totalReviews": "number",
    "data.provider.city": "string|null",
    "data.provider.state": "string|null",
    "data.provider.years_of_experience": "number",
    "data.provider.service_name": "string",
    "data.provider.service_description": "string",
    "data.provider.working_proof_urls": "array|string",
    "data.provider.pricing.minPrice": "number|null",
    "data.provider.pricing.maxPrice": "number|null",
    "data.provider.pricing.subServiceCount": "number",
    "data.provider.ratings": "array",
    "data.provider.sub_services[].serviceId": "string",
    "data.provider.sub_services[].serviceName": "string",
    "data.provider.sub_services[].price": "number",
  };
  const detail = await call("GET", `/api/public/provider-service/${listingId}`, {
    as: "GET /api/public/provider-service/:providerServiceId",
  });
  shape("provider-service", detail.body, PROVIDER_DETAIL);
  const missingListing = await call("GET", "/api/public/provider-service/00000000-0000-4000-8000-000000000000", {
    as: "GET /api/public/provider-service/:providerServiceId",
    expect: 404,
  });
  assert.ok(missingListing.body.message);
  const featured = await call("GET", "/api/public/featured-providers");
  shape("featured-providers", featured.body, { "data.providers": "array" });

  // ---------------------------------------------------------------------------------------------
  // 7. Labour access (₹99 / 7 days): status → initiate → WebView → verify → status → history.
  const before = await call("GET", "/api/payments/labour-access-status", { token: customer.token });
  shape("labour-access-status (none)", before.body, { "data.hasAccess": "boolean", "data.accessStatus": "string" });
  assert.equal(before.body.data.hasAccess, false);
  const li = await call("POST", "/api/payments/initiate-labour-payment", {
    token: customer.token,
    body: { amount: 99, serviceName: "labors", paymentMethod: "paytm" },
  });
  shape("initiate-labour-payment (top level)", li.body, { orderId: "string", paytmUrl: "string" });
  const labourOrder = li.body.orderId as string;
  // apiClient retries this POST on a timeout: the retry must not start a second payment.
  const liRetry = await call("POST", "/api/payments/initiate-labour-payment", {
    token: customer.token,
    body: { amount: 99, serviceName: "labors", paymentMethod: "paytm" },
    expect: [200, 201, 400, 409],
  });
  if (liRetry.status < 300) assert.equal(liRetry.body.orderId, labourOrder, "a retried initiation answers with the same order");
  await webViewPayment(li.body.paytmUrl as string, labourOrder);
  const vl = await call("POST", "/api/payments/verify-labour-payment", { token: customer.token, body: { orderId: labourOrder } });
  assert.equal(vl.body.status, "success");
  const again = await call("POST", "/api/payments/verify-labour-payment", {
    token: customer.token,
    body: { orderId: labourOrder },
    expect: [200, 400, 409],
  });
  if (again.status !== 200) assert.match(again.body.message, /already processed/i);
  const after = await call("GET", "/api/payments/labour-access-status", { token: customer.token });
  shape("labour-access-status", after.body, {
    "data.hasAccess": "boolean",
    "data.accessStatus": "string",
    "data.startDate": "date",
    "data.endDate": "date",
    "data.daysRemaining": "number",
    "data.isExpired": "boolean",
    "data.labour_access_start_date": "date",
    "data.labour_access_end_date": "date",
    "data.labour_access_status": "string",
  });
  assert.equal(after.body.data.hasAccess, true);
  assert.equal(after.body.data.accessStatus, "active");
  const hist = await call("GET", "/api/payments/labour-transaction-history?limit=100", { token: customer.token });
  shape("labour-transaction-history", hist.body, {
    "data.transactions[].id": "string",
    "data.transactions[].order_id": "string",
    "data.transactions[].created_at": "date",
    "data.transactions[].status": "string",
    "data.transactions[].amount": "number|string",
    "data.transactions[].transaction_id": "string|null",
  });
  const paidTxn = hist.body.data.transactions.find((t: { order_id: string }) => t.order_id === labourOrder);
  assert.ok(paidTxn, "the labour payment is in the history");
  assert.equal(Number(paidTxn.amount), 99);

  // ---------------------------------------------------------------------------------------------
  // 8. Sockets as the apps open them once logged in (no token on booking / notification / home).
  const cBook = appSocket(base, "customer booking socket", customer.id);
  const cNote = appSocket(base, "customer notification socket", customer.id);
  const pBook = appSocket(base, "provider booking socket", provider.id);
  const pNote = appSocket(base, "provider notification socket", provider.id);
  const pHome = appSocket(base, "provider home socket", provider.id, { joinOn: "once" });
  await Promise.all([cBook, cNote, pBook, pNote, pHome].map((s) => connected(s)));
  const triggerOnly = (label: string) => (p: unknown) =>
    assert.ok(p === undefined || (typeof p === "object" && p !== null && Object.keys(p).length === 0), `${label}: content-free`);
  const notificationTrigger = (p: { id?: unknown; type?: unknown; notification?: Record<string, unknown> }) => {
    // The apps prepend notification.{id,title,message,created_at,is_read}; tokenless sockets get a
    // generic title and message, nothing personal (README "Real-time policy").
    assert.equal(typeof p.id, "string", "notification_created carries the notification id");
    for (const k of Object.keys(p))
      assert.ok(["id", "type", "createdAt", "notification"].includes(k), `notification_created on a tokenless socket: ${k}`);
    const n = p.notification ?? {};
    assert.equal(n.id, p.id, "notification.id");
    assert.equal(typeof n.title, "string", "notification.title");
    assert.equal(typeof n.message, "string", "notification.message");
    assert.equal(typeof n.created_at, "string", "notification.created_at");
    assert.equal(n.is_read, false, "notification.is_read");
    assert.equal(n.title, "New notification", "no personal text on a tokenless socket");
  };

  // ---------------------------------------------------------------------------------------------
  // 9. Booking: create (and the apiClient retry), both lists, badges, accept, mark-viewed, cancel.
  const slot = istSlot(2, 10, 30);
  const bookingBody = {
    providerServiceId: listingId,
    selectedService: "tap-installation,shower-installation",
    selectedServices: ["tap-installation", "shower-installation"],
    ...slot,
  };
  let since = Date.now();
  const created = await call("POST", "/api/bookings", { token: customer.token, body: bookingBody, expect: [200, 201] });
  const bookingId = created.body.data.booking.id as string;
  await event(pBook, "booking_created", since, triggerOnly("booking_created"));
  await event(pBook, "booking_unread_count_update", since, triggerOnly("booking_unread_count_update"));
  await event(pNote, "notification_created", since, notificationTrigger);
  await event(cBook, "booking_created", since, triggerOnly("booking_created"));
  const retried = await call("POST", "/api/bookings", { token: customer.token, body: bookingBody, expect: [200, 201, 400, 409, 422] });
  if (retried.status < 300) assert.equal(retried.body.data.booking.id, bookingId, "the retried POST returns the same booking");
  else assert.match(retried.body.message, /already have a booking|duplicate|same date and time/i);

  const BOOKING_FIELDS = {
    "data.bookings[].id": "string",
    "data.bookings[].service_name": "string",
    "data.bookings[].provider_name": "string",
    "data.bookings[].appointment_date": "string",
    "data.bookings[].appointment_time": "string",
    "data.bookings[].status": "string",
    "data.bookings[].provider_profile_pic_url": "string|null",
    "data.bookings[].report_reason": "string|null",
    "data.bookings[].report_description": "string|null",
    "data.bookings[].rating": "object|null",
    "data.bookings[].selected_service": "string",
    "data.pagination.total": "number",
  };
  const cList = await call("GET", "/api/bookings", { token: customer.token });
  shape("bookings (customer)", cList.body, BOOKING_FIELDS);
  assert.equal(cList.body.data.bookings.length, 1, "one booking, whatever the retry did");
  assert.equal(cList.body.data.pagination.total, 1);
  assert.match(cList.body.data.bookings[0].appointment_date, /^\d{4}-\d{2}-\d{2}/);
  assert.equal(cList.body.data.bookings[0].selected_service, "tap-installation,shower-installation");

  const PROVIDER_BOOKING_FIELDS = {
    "data.bookings[].id": "string",
    "data.bookings[].customer_name": "string",
    "data.bookings[].service_name": "string",
    "data.bookings[].selected_service": "string",
    "data.bookings[].appointment_date": "string",
    "data.bookings[].appointment_time": "string",
    "data.bookings[].status": "string",
    "data.bookings[].description": "?string|null",
    "data.bookings[].estimated_price": "number",
    "data.bookings[].created_at": "date",
    "data.bookings[].customer_address": "string|null",
    "data.bookings[].customer_state": "string|null",
    "data.bookings[].rating": "object|null",
  };
  const pList = await call("GET", "/api/providers/bookings", { token: provider.token });
  shape("bookings (provider)", pList.body, PROVIDER_BOOKING_FIELDS);
  assert.equal(pList.body.data.bookings[0].estimated_price, 1250);
  assert.ok(!pList.text.includes(customer.phone), "no customer phone in the provider's list");
  const pUnread = await call("GET", "/api/providers/bookings/unread-count", { token: provider.token });
  shape("provider unread-count", pUnread.body, { "data.unreadCount": "number" });
  assert.equal(pUnread.body.data.unreadCount, 1);
  await call("PUT", "/api/providers/bookings/mark-all-viewed", { token: provider.token });
  assert.equal((await call("GET", "/api/providers/bookings/unread-count", { token: provider.token })).body.data.unreadCount, 0);

  since = Date.now();
  const acc = await call("PUT", `/api/providers/bookings/${bookingId}/status`, {
    token: provider.token,
    body: { status: "accepted" },
    as: "PUT /api/providers/bookings/:id/status",
  });
  assert.equal(typeof acc.body.message, "string");
  await event(cBook, "booking_updated", since, triggerOnly("booking_updated"));
  await event(cBook, "booking_unread_count_update", since, triggerOnly("booking_unread_count_update"));
  await event(cNote, "notification_created", since, notificationTrigger);
  await event(pHome, "booking_updated", since, triggerOnly("booking_updated (home socket, joined once)"));
  const cUnread = await call("GET", "/api/bookings/unread-count", { token: customer.token });
  shape("customer unread-count", cUnread.body, { "data.unreadCount": "number" });
  assert.equal(cUnread.body.data.unreadCount, 1);
  since = Date.now();
  await call("PUT", `/api/bookings/${bookingId}/mark-viewed`, { token: customer.token, as: "PUT /api/bookings/:id/mark-viewed" });
  await event(cBook, "booking_viewed", since, triggerOnly("booking_viewed"));
  await call("PUT", "/api/bookings/mark-all-viewed", { token: customer.token });
  assert.equal((await call("GET", "/api/bookings/unread-count", { token: customer.token })).body.data.unreadCount, 0);

  // A second booking the customer cancels.
  const second = await call("POST", "/api/bookings", {
    token: customer.token,
    body: { ...bookingBody, selectedService: "tap-installation", selectedServices: ["tap-installation"], ...istSlot(3, 16, 0) },
    expect: [200, 201],
  });
  const secondId = second.body.data.booking.id as string;
  since = Date.now();
  const cancel = await call("PUT", `/api/bookings/${secondId}/cancel`, {
    token: customer.token,
    body: { cancellationReason: "Plans changed" },
    as: "PUT /api/bookings/:id/cancel",
  });
  assert.equal(typeof cancel.body.message, "string");
  await event(pBook, "booking_updated", since, triggerOnly("booking_updated (cancel)"));

  // ---------------------------------------------------------------------------------------------
  // 10. The masked call: HTTP initiate, then the WebRTC sockets (token in CONNECT auth).
  const ci = await call("POST", "/api/calls/initiate", { token: customer.token, body: { bookingId, callerType: "user" } });
  shape("calls/initiate", ci.body, {
    "data.bookingId": "string",
    "data.callerId": "string",
    "data.callerName": "string",
    "data.receiverId": "string",
    "data.receiverName": "string",
    "data.serviceName": "string",
  });
  assert.equal(ci.body.data.receiverId, provider.id);
  assert.ok(!ci.text.includes(provider.phone) && !ci.text.includes(customer.phone), "no phone numbers");
  const wrongSide = await call("POST", "/api/calls/initiate", {
    token: customer.token,
    body: { bookingId: secondId, callerType: "user" },
    expect: [400, 403, 404, 409],
  });
  assert.equal(wrongSide.body.errorCode, "CALL_STATUS_NOT_ALLOWED", "a cancelled booking cannot be called");
  await callStory(customer, provider, bookingId);
  await call("POST", "/api/calls/log", {
    token: customer.token,
    body: { bookingId, duration: 3, callerType: "user", status: "completed" },
  });

  async function callStory(caller: { id: string; token: string }, callee: { id: string; token: string }, booking: string) {
    const a = appSocket(base, "customer WebRTC socket", caller.id, { token: caller.token });
    const b = appSocket(base, "provider WebRTC socket", callee.id, { token: callee.token });
    await Promise.all([connected(a), connected(b)]);
    let t = Date.now();
    const ack = await a.socket.timeout(10_000).emitWithAck("call:initiate", { bookingId: booking, callerType: "user" });
    assert.deepEqual(ack, { status: "success" });
    await event(b, "call:incoming", t, (p: Record<string, unknown>) => {
      shape("call:incoming", p, {
        bookingId: "string",
        callerId: "string",
        callerName: "string",
        receiverId: "string",
        receiverName: "string",
        serviceName: "string",
      });
      assert.equal(p.callerName, customer.fullName);
      assert.ok(!JSON.stringify(p).includes(customer.phone), "no phone in call:incoming");
    });
    t = Date.now();
    b.socket.emit("call:accept", { bookingId: booking, receiverId: callee.id });
    await event(a, "call:accepted", t);
    t = Date.now();
    a.socket.emit("call:offer", { bookingId: booking, offer: { type: "offer", sdp: "v=0\r\n" }, to: callee.id });
    await event(b, "call:offer", t, (p: { offer: unknown; from: string }) => {
      assert.deepEqual(p.offer, { type: "offer", sdp: "v=0\r\n" });
      assert.equal(p.from, caller.id);
    });
    t = Date.now();
    // The receiver addresses the answer and its candidates to itself (the apps' bug): routed by the room.
    b.socket.emit("call:answer", { bookingId: booking, answer: { type: "answer", sdp: "v=0\r\n" }, to: callee.id });
    await event(a, "call:answer", t, (p: { answer: unknown }) => assert.deepEqual(p.answer, { type: "answer", sdp: "v=0\r\n" }));
    t = Date.now();
    const cand = { candidate: "candidate:1 1 udp 1 10.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
    b.socket.emit("call:ice-candidate", { bookingId: booking, candidate: cand, to: callee.id });
    a.socket.emit("call:ice-candidate", { bookingId: booking, candidate: { ...cand, candidate: "candidate:2" }, to: callee.id });
    await event(a, "call:ice-candidate", t, (p: { candidate: { candidate: string } }) =>
      assert.equal(p.candidate.candidate, cand.candidate),
    );
    await event(b, "call:ice-candidate", t, (p: { candidate: { candidate: string } }) =>
      assert.equal(p.candidate.candidate, "candidate:2"),
    );
    await sleep(1100);
    t = Date.now();
    a.socket.emit("call:end", { bookingId: booking, userId: caller.id });
    for (const s of [a, b]) {
      await event(s, "call:ended", t, (p: { duration: number; endedBy: string }) => {
        assert.equal(typeof p.duration, "number");
        assert.equal(p.endedBy, caller.id);
      });
    }
    // A rejected call: ring again, the provider declines.
    t = Date.now();
    const ack2 = await a.socket.timeout(10_000).emitWithAck("call:initiate", { bookingId: booking, callerType: "user" });
    assert.deepEqual(ack2, { status: "success" });
    await event(b, "call:incoming", t);
    t = Date.now();
    b.socket.emit("call:reject", { bookingId: booking, reason: "declined" });
    await event(a, "call:rejected", t, (p: { reason: string }) => assert.equal(p.reason, "declined"));
    // Errors come back as {message, errorCode}: calling a booking that is not callable.
    const bad = await a.socket.timeout(10_000).emitWithAck("call:initiate", { bookingId: secondId, callerType: "user" });
    shape("call:initiate error ack", bad, { status: "string", message: "string", errorCode: "string" });
    assert.equal(bad.status, "error");
  }

  // ---------------------------------------------------------------------------------------------
  // 11. The provider rates the customer (still accepted), completes; earnings; the customer rates.
  const rc = await call("POST", `/api/providers/bookings/${bookingId}/rate-customer`, {
    token: provider.token,
    body: { rating: 4, review: "On time" },
    as: "POST /api/providers/bookings/:id/rate-customer",
  });
  assert.equal(typeof rc.body.message, "string");
  since = Date.now();
  await call("PUT", `/api/providers/bookings/${bookingId}/status`, {
    token: provider.token,
    body: { status: "completed" },
    as: "PUT /api/providers/bookings/:id/status",
  });
  await event(cBook, "booking_updated", since, triggerOnly("booking_updated (completed)"));
  const earnings = await call("GET", "/api/earnings", { token: provider.token });
  shape("earnings", earnings.body, {
    "data.earnings.thisMonth": "string",
    "data.earnings.today": "string",
    "data.earnings.pending": "string",
  });
  for (const v of Object.values(earnings.body.data.earnings) as string[]) {
    assert.match(v, /^₹[\d,]+(\.\d+)?$/, "earnings are '₹N,NNN' strings");
    assert.ok(!Number.isNaN(Number.parseFloat(v.replace(/[₹,]/g, ""))));
  }
  assert.equal(earnings.body.data.earnings.thisMonth, "₹1,250");
  since = Date.now();
  await call("POST", `/api/bookings/${bookingId}/rate`, {
    token: customer.token,
    body: { rating: 5, review: "Quick and tidy" },
    as: "POST /api/bookings/:id/rate",
  });
  await event(pBook, "booking_updated", since, triggerOnly("booking_updated (rated)"));
  const rated = await call("GET", "/api/bookings", { token: customer.token });
  const mineRated = rated.body.data.bookings.find((b: { id: string }) => b.id === bookingId);
  shape("bookings (rated)", { b: mineRated }, { "b.rating.rating": "number", "b.rating.review": "string|null" });
  const done = await call("GET", "/api/providers/bookings?status=completed", { token: provider.token });
  shape("bookings (provider, completed)", done.body, { ...PROVIDER_BOOKING_FIELDS, "data.bookings[].rating.rating": "number" });
  assert.deepEqual(
    done.body.data.bookings.map((b: { id: string }) => b.id),
    [bookingId],
  );
  const detail2 = await call("GET", `/api/public/provider-service/${listingId}`, {
    as: "GET /api/public/provider-service/:providerServiceId",
  });
  shape("provider-service (rated)", detail2.body, {
    ...PROVIDER_DETAIL,
    "data.provider.ratings[].customer_name": "string",
    "data.provider.ratings[].review": "string|null",
    "data.provider.ratings[].rating": "number",
    "data.provider.ratings[].created_at": "date",
  });
  assert.equal(detail2.body.data.provider.averageRating, 5);
  assert.equal(detail2.body.data.provider.totalReviews, 1);
  const featured2 = await call("GET", "/api/public/featured-providers");
  shape("featured-providers", featured2.body, {
    "data.providers[].provider_service_id": "string",
    "data.providers[].full_name": "string",
    "data.providers[].service_name": "string",
    "data.providers[].averageRating": "number|null",
    "data.providers[].totalReviews": "number",
    "data.providers[].pricing.displayPrice": "string|null",
    "data.providers[].working_proof_urls": "array|string",
    "data.providers[].profile_pic_url": "string|null",
    "data.providers[].service_id": "string",
  });

  // ---------------------------------------------------------------------------------------------
  // 12. Reports both ways.
  await call("POST", `/api/bookings/${bookingId}/report`, {
    token: customer.token,
    body: { reportReason: "Overcharged", reportDescription: "Overcharged" },
    as: "POST /api/bookings/:id/report",
  });
  const reportedList = await call("GET", "/api/bookings", { token: customer.token });
  assert.equal(reportedList.body.data.bookings.find((b: { id: string }) => b.id === bookingId).report_reason, "Overcharged");
  await call("POST", "/api/providers/report-customer", {
    token: provider.token,
    body: {
      customerName: customer.fullName,
      incidentDate: istSlot(0, 9).appointmentDate,
      incidentTime: "10:30 AM",
      incidentType: "Payment Issues",
      description: "Refused to pay the agreed amount",
      evidence: ["https://images.pexels.com/photos/1/pexels-photo-1.jpeg"],
    },
  });

  // ---------------------------------------------------------------------------------------------
  // 13. Notifications (both apps).
  const NOTIFICATION_FIELDS = {
    "data.notifications[].id": "string",
    "data.notifications[].title": "string",
    "data.notifications[].message": "string",
    "data.notifications[].created_at": "date",
    "data.notifications[].is_read": "boolean",
    "data.notifications[].formatted_date": "string",
    "data.notifications[].formatted_time": "string",
  };
  const cn = await call("GET", "/api/notifications?page=1&limit=20", { token: customer.token });
  shape("notifications (user)", cn.body, {
    ...NOTIFICATION_FIELDS,
    "data.pagination.currentPage": "number",
    "data.pagination.totalPages": "number",
    "data.pagination.totalCount": "number",
    "data.pagination.hasMore": "boolean",
  });
  const titles = cn.body.data.notifications.map((n: { title: string }) => n.title);
  assert.ok(titles.includes("Booking Accepted"), `customer inbox: ${titles.join(", ")}`);
  const pn = await call("GET", "/api/notifications", { token: provider.token });
  shape("notifications (provider)", pn.body, NOTIFICATION_FIELDS);
  const cCount = await call("GET", "/api/notifications/unread-count", { token: customer.token });
  shape("notification unread-count", cCount.body, { "data.unreadCount": "number" });
  assert.ok(cCount.body.data.unreadCount >= 1);
  const firstUnread = cn.body.data.notifications.find((n: { is_read: boolean }) => !n.is_read);
  since = Date.now();
  await call("PUT", `/api/notifications/${firstUnread.id}/mark-read`, {
    token: customer.token,
    as: "PUT /api/notifications/:id/mark-read",
  });
  await event(cNote, "notification_updated", since);
  assert.equal(
    (await call("GET", "/api/notifications/unread-count", { token: customer.token })).body.data.unreadCount,
    cCount.body.data.unreadCount - 1,
  );
  await call("PUT", "/api/notifications/mark-all-read", { token: customer.token });
  assert.equal((await call("GET", "/api/notifications/unread-count", { token: customer.token })).body.data.unreadCount, 0);
  await call("PUT", "/api/notifications/mark-all-read", { token: provider.token });
  const nh = await call("GET", "/api/notifications/history?page=1&limit=50&type=Booking", { token: customer.token });
  shape("notifications/history", nh.body, {
    "data.notifications": "array",
    "data.pagination": "object",
    "data.statistics.total": "number",
    "data.statistics.unread": "number",
    "data.statistics.booking_notifications": "number",
  });
  const recent = await call("GET", `/api/notifications/recent?since=${Date.now() - 3_600_000}`, { token: customer.token });
  shape("notifications/recent", recent.body, { "data.notifications": "array" });

  // ---------------------------------------------------------------------------------------------
  // 14. Admin: the provider app logs in as provider, then as admin on any non-2xx (docs/api-contract.md §3.1).
  const adminPhone = randomPhone();
  const victimUser = randomPhone();
  const victimProvider = randomPhone();
  const ins = async (role: string, phone: string, name: string) =>
    (
      await db.query(
        "insert into users (role, phone, full_name, email, password_hash, is_verified) values ($1, $2, $3, $4, $5, true) returning id",
        [role, phone, name, `${role}.${phone}@example.com`, scryptHash(PASSWORD)],
      )
    ).rows[0].id as string;
  await ins("admin", adminPhone, "Ops Admin");
  const victimUserId = await ins("user", victimUser, "Spam User");
  const victimProviderId = await ins("provider", victimProvider, "Fake Provider");
  const asProvider = await login(adminPhone, "provider", PASSWORD, 401);
  assert.equal(asProvider.status, 401);
  const al = await login(adminPhone, "admin");
  const admin = al.body.data.accessToken as string;

  const stats = await call("GET", "/api/admin/stats", { token: admin });
  shape("admin/stats", stats.body, {
    "data.totalUsers": "number",
    "data.totalProviders": "number",
    "data.totalBookings": "number",
    "data.totalRevenue": "number|string",
    "data.pendingReports": "number",
    "data.reportsStats.total": "number",
    "data.reportsStats.open": "number",
    "data.reportsStats.resolved": "number",
    "data.reportsStats.closed": "number",
  });
  assert.ok(stats.body.data.reportsStats.open >= 2);
  const reports = await call("GET", "/api/admin/reports", { token: admin });
  shape("admin/reports", reports.body, {
    "data.reports[].id": "string",
    "data.reports[].report_type": "string",
    "data.reports[].description": "string",
    "data.reports[].status": "string",
    "data.reports[].created_at": "date",
    "data.reports[].reporter_name": "string",
    "data.reports[].reporter_phone": "string|null",
    "data.reports[].reported_provider_name": "string",
    "data.reports[].reported_provider_phone": "string|null",
    "data.reports[].reported_type": "string",
    "data.reports[].reporter_type": "string",
    "data.reports[].reported_by_user_id": "string|null",
    "data.reports[].reported_provider_id": "string|null",
    "data.reports[].provider_id": "string|null",
    "data.reports[].customer_name": "string|null",
    "data.reports[].customer_user_id": "string|null",
  });
  for (const r of reports.body.data.reports as { reported_type: string; reporter_type: string }[]) {
    assert.ok(["User", "Provider"].includes(r.reported_type) && ["User", "Provider"].includes(r.reporter_type), "User/Provider");
  }
  const rep = reports.body.data.reports[0];
  await call("PUT", `/api/admin/reports/${rep.id}/status`, {
    token: admin,
    body: { status: "resolved" },
    as: "PUT /api/admin/reports/:id/status",
  });
  const users = await call("GET", "/api/admin/all-users", { token: admin });
  shape("admin/all-users", users.body, {
    "data.users[].id": "string",
    "data.users[].full_name": "string",
    "data.users[].email": "string",
    "data.users[].phone": "string",
    "data.users[].role": "string",
    "data.users[].is_verified": "boolean",
    "data.users[].created_at": "date",
    "data.users[].last_login": "date|null",
  });
  const providers = await call("GET", "/api/admin/all-providers", { token: admin });
  shape("admin/all-providers", providers.body, {
    "data.providers[].id": "string",
    "data.providers[].full_name": "string",
    "data.providers[].email": "string",
    "data.providers[].phone": "string",
    "data.providers[].is_verified": "boolean",
    "data.providers[].created_at": "date",
    "data.providers[].last_login": "date|null",
    "data.providers[].state": "string|null",
    "data.providers[].city": "string|null",
    "data.providers[].years_of_experience": "number|null",
    "data.providers[].service_description": "string|null",
    "data.providers[].registered_services_count": "number",
  });
  await call("DELETE", `/api/admin/users/${victimUserId}`, { token: admin, as: "DELETE /api/admin/users/:id" });
  await call("DELETE", `/api/admin/providers/${victimProviderId}`, { token: admin, as: "DELETE /api/admin/providers/:id" });
  await login(victimUser, "user", PASSWORD, [401, 403]); // a removed account cannot log in
  const mon = await call("GET", "/api/monitoring/status", { token: admin });
  shape("monitoring/status", mon.body, {
    "data.status": "string",
    "data.score": "number",
    "data.uptime": "number|string",
    "data.requests.total": "number",
    "data.requests.errors": "number",
    "data.requests.errorRate": "number|string",
    "data.performance.averageResponseTime": "number|string",
    "data.performance.p95ResponseTime": "number|string",
    "data.system.memoryUsage": "number|string|object",
    "data.system.databasePoolUsage": "number|string|object",
  });
  const alerts = await call("GET", "/api/monitoring/alerts?limit=10", { token: admin });
  shape("monitoring/alerts", alerts.body, { "data.alerts": "array" });
  for (const a of alerts.body.data.alerts) shape("alert", { a }, { "a.type": "string", "a.severity": "string", "a.timestamp": "date" });

  // ---------------------------------------------------------------------------------------------
  // 15. Refund (admin) of the labour payment, completed by Paytm's refund webhook and the cron poll.
  const refund = await call("POST", "/api/payments/refund", {
    token: admin,
    body: { orderId: labourOrder, reason: "Customer could not use labour access" },
    expect: [200, 201],
  });
  shape("refund", refund.body, { refundId: "string", refundStatus: "string", "data.id": "string", "data.status": "string" });
  const refundId = refund.body.refundId as string;
  const refundStatus = () => call("GET", `/api/payments/refunds/${refundId}`, { token: customer.token });
  let status = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const r: Res = await refundStatus();
    status = r.body.data.status ?? r.body.data.refund?.status;
    if (status === "completed") break;
    // Paytm settles the refund after ~1 s and signs a webhook; deliver it as Paytm would, and run the cron.
    await fetch(`${paytm}/__sandbox/tick`, { method: "POST" });
    const taken = (await (await fetch(`${paytm}/__sandbox/webhooks/take`, { method: "POST" })).json()) as {
      kind: string;
      body: string;
      contentType: string;
    }[];
    for (const wh of taken.filter((x) => x.kind === "refund")) {
      await call("POST", "/api/payments/paytm-refund-webhook", {
        rawBody: wh.body,
        headers: { "content-type": wh.contentType },
        raw: true,
      });
    }
    const cron = await fetch(`${base}/__scheduled?cron=${encodeURIComponent("*/2 * * * *")}`);
    assert.equal(cron.status, 200, `scheduled handler: ${await cron.text()}`);
    await sleep(500);
  }
  assert.equal(status, "completed", "the refund completed");
  const afterRefund = await call("GET", "/api/payments/labour-access-status", { token: customer.token });
  log(
    `labour access after a full refund: hasAccess=${afterRefund.body.data.hasAccess}, accessStatus=${afterRefund.body.data.accessStatus}`,
  );

  // ---------------------------------------------------------------------------------------------
  // 16. The spare customer: resend OTP (after the 30 s cooldown), verify, forgot password, delete.
  const wait = spare.startedAt + 31_000 - Date.now();
  if (wait > 0) {
    log(`waiting ${(wait / 1000).toFixed(1)} s for the resend cooldown`);
    await sleep(wait);
  }
  const firstCode = await otp(spare.phone, "signup");
  await call("POST", "/api/auth/resend-otp", { body: { phone: spare.phone } });
  const resent = await otp(spare.phone, "signup");
  const tooSoon = await call("POST", "/api/auth/resend-otp", { body: { phone: spare.phone }, expect: [400, 429] });
  assert.ok(tooSoon.body.message);
  log(`resend-otp: ${firstCode === resent ? "same code re-sent" : "new code"}; an immediate second resend is ${tooSoon.status}`);
  const sv = await call("POST", "/api/auth/verify-otp", { body: { phone: spare.phone, otp: resent } });
  const spareToken = sv.body.data.accessToken as string;
  await call("POST", "/api/auth/forgot-password", { body: { phone: spare.phone } });
  const resetCode = await otp(spare.phone, "password_reset");
  const fv = await call("POST", "/api/auth/forgot-password/verify", { body: { phone: spare.phone, otp: resetCode } });
  shape("forgot-password/verify", fv.body, { "data.resetToken": "string" });
  await call("POST", "/api/auth/forgot-password/reset", {
    body: { phone: spare.phone, resetToken: fv.body.data.resetToken, newPassword: "NewPassw0rd" },
  });
  await call("GET", "/api/users/profile", { token: spareToken, expect: 401 }); // reset ends every session
  await login(spare.phone, "user", PASSWORD, 401);
  const sl = await login(spare.phone, "user", "NewPassw0rd");
  await call("DELETE", "/api/users/delete-account", { token: sl.body.data.accessToken });
  await login(spare.phone, "user", "NewPassw0rd", [401, 403]);

  // ---------------------------------------------------------------------------------------------
  // 17. Socket.IO transport as seen on the wire (both entries), then the customer's session ends.
  const hs = await call("GET", "/socket.io/?EIO=4&transport=polling", { raw: true });
  assert.match(hs.text, /^0\{/, "Engine.IO open packet");
  const sid = JSON.parse(hs.text.slice(1)).sid as string;
  const post = await call("POST", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
    rawBody: "40",
    headers: { "content-type": "text/plain;charset=UTF-8" },
    raw: true,
  });
  assert.equal(post.text, "ok");
  const connectAck = await call("GET", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, { raw: true });
  assert.match(connectAck.text, /^40\{"sid":/, "Socket.IO CONNECT ack");
  await call("POST", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, { rawBody: "1", raw: true }); // close

  await call("DELETE", "/api/push-notifications/token", { token: customer.token, body: { pushToken } });
  // The apps never call logout (docs/api-contract.md §2.3); the server's own logout still ends the session.
  await call("POST", "/api/auth/logout", { token: customer.token });
  await call("GET", "/api/users/profile", { token: customer.token, expect: 401 });
}
