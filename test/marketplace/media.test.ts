import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_IMAGE_BYTES } from "../../src/media/store";
import { api, randomIp, randomPhone, seedUser, signupViaApi } from "../harness";
import { jpegBytes, jpegDataUrl, PNG, registrationBody } from "./images";

/**
 * Images the provider app sends with a registration (working proofs, the engineering certificate) are
 * stored and served back at the URLs the registration returns, whatever their kind; and every body
 * the apps can send (photos picked unshrunk, up to the per-image limit) fits the body limits, while
 * a larger one gets a 413 that names the limit.
 */

const MB = 1024 * 1024;
const pngBytes = () => Uint8Array.from(atob(PNG.split(",")[1]!), (c) => c.charCodeAt(0));

async function sha256(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** GETs a stored image's URL (as the apps do, by its full URL) and returns status, type and digest. */
async function fetchImage(url: string) {
  const res = await SELF.fetch(url);
  const bytes = await res.arrayBuffer();
  return { status: res.status, type: res.headers.get("content-type"), sha: await sha256(bytes) };
}

/** Every URL a registration returned serves exactly the bytes that were sent for it, with the sniffed type. */
async function expectServed(urls: string[], sent: { bytes: Uint8Array; type: string }[]) {
  expect(urls).toHaveLength(sent.length);
  for (const [i, url] of urls.entries()) {
    expect(await fetchImage(url)).toEqual({ status: 200, type: sent[i]!.type, sha: await sha256(sent[i]!.bytes) });
  }
}

describe("registration images are served at the URLs it returns", () => {
  it("working proofs and the engineering certificate: every returned URL answers the image bytes with its type", async () => {
    const provider = await seedUser("provider");
    const jpeg = jpegBytes(30_000);
    const cert = jpegBytes(12_000);
    const r = await api("POST", "/api/services/engineer-interior/providers", {
      token: provider.token,
      body: registrationBody([{ serviceId: "interior-design", price: 1500 }], {
        workingProofUrls: [PNG, jpegDataUrl(jpeg)],
        engineeringCertificateUrl: jpegDataUrl(cert),
        isEngineeringProvider: true,
      }),
    });
    expect(r.status).toBe(201);
    const proofs = r.body.data.providerService.working_proof_urls as string[];
    await expectServed(proofs, [
      { bytes: pngBytes(), type: "image/png" },
      { bytes: jpeg, type: "image/jpeg" },
    ]);
    const [mine] = (await api("GET", "/api/services/my-registrations", { token: provider.token })).body.data.registeredServices;
    expect(mine.working_proof_urls).toEqual(proofs);
    await expectServed([mine.engineering_certificate_url], [{ bytes: cert, type: "image/jpeg" }]);

    // Edit mode: new photos next to the stored URLs sent back; all of them are served.
    const more = jpegBytes(8_000);
    const edit = await api("PUT", "/api/services/engineer-interior/providers", {
      token: provider.token,
      body: { workingProofUrls: [...proofs, jpegDataUrl(more)] },
    });
    expect(edit.status).toBe(200);
    const [edited] = (await api("GET", "/api/services/my-registrations", { token: provider.token })).body.data.registeredServices;
    await expectServed(edited.working_proof_urls, [
      { bytes: pngBytes(), type: "image/png" },
      { bytes: jpeg, type: "image/jpeg" },
      { bytes: more, type: "image/jpeg" },
    ]);
  });

  it("a media URL that names no stored image is a 404 in the envelope, a malformed one a 400", async () => {
    const missing = await api("GET", `/media/working-proofs/${crypto.randomUUID()}/${crypto.randomUUID()}.png`);
    expect(missing).toMatchObject({ status: 404, body: { status: "error", errorCode: "NOT_FOUND" } });
    const bad = await api("GET", "/media/working-proofs/not-a-user/x.png");
    expect(bad).toMatchObject({ status: 400, body: { status: "error", errorCode: "VALIDATION_ERROR" } });
  });
});

describe("body limits fit what the apps send", () => {
  it("four unshrunk ~1.6 MB work photos (an 8.5 MB body) register, and each is served back", async () => {
    const provider = await seedUser("provider");
    const photos = [0, 1, 2, 3].map(() => jpegBytes(1_600_000));
    const body = registrationBody([{ serviceId: "tap-installation", price: 400 }], { workingProofUrls: photos.map(jpegDataUrl) });
    expect(JSON.stringify(body).length).toBeGreaterThan(8.5e6);
    const r = await api("POST", "/api/services/plumber/providers", { token: provider.token, body });
    expect(r.status).toBe(201);
    await expectServed(
      r.body.data.providerService.working_proof_urls,
      photos.map((bytes) => ({ bytes, type: "image/jpeg" })),
    );
  });

  it("the largest registration the app can make (4 proofs and a certificate, each at the per-image limit) is accepted", async () => {
    const provider = await seedUser("provider");
    const photos = [0, 1, 2, 3, 4].map(() => jpegBytes(MAX_IMAGE_BYTES));
    const r = await api("POST", "/api/services/engineer-interior/providers", {
      token: provider.token,
      body: registrationBody([{ serviceId: "interior-design", price: 2000 }], {
        workingProofUrls: photos.slice(0, 4).map(jpegDataUrl),
        engineeringCertificateUrl: jpegDataUrl(photos[4]!),
        isEngineeringProvider: true,
      }),
    });
    expect(r.status).toBe(201);
    const [mine] = (await api("GET", "/api/services/my-registrations", { token: provider.token })).body.data.registeredServices;
    await expectServed(
      [...mine.working_proof_urls, mine.engineering_certificate_url],
      photos.map((bytes) => ({ bytes, type: "image/jpeg" })),
    );
  });

  it("a signup photo and a profile photo at the per-image limit are accepted", async () => {
    const photo = jpegBytes(MAX_IMAGE_BYTES);
    const u = await signupViaApi("provider", { profilePicUrl: jpegDataUrl(photo) });
    await expectServed([u.user.profilePicUrl], [{ bytes: photo, type: "image/jpeg" }]);
    const next = jpegBytes(MAX_IMAGE_BYTES);
    const r = await api("PUT", "/api/users/profile", {
      token: u.accessToken,
      body: { fullName: "Big Photo", profilePicUrl: jpegDataUrl(next) },
    });
    expect(r.status).toBe(200);
    await expectServed([r.body.data.user.profilePicUrl], [{ bytes: next, type: "image/jpeg" }]);
  });

  it("an image over the per-image limit is a 413 naming the field, and nothing of the request is stored", async () => {
    const provider = await seedUser("provider");
    const r = await api("POST", "/api/services/plumber/providers", {
      token: provider.token,
      body: registrationBody([{ serviceId: "tap-installation", price: 400 }], {
        workingProofUrls: [PNG, jpegDataUrl(jpegBytes(MAX_IMAGE_BYTES + 4096))],
      }),
    });
    expect(r).toMatchObject({ status: 413, body: { status: "error", errorCode: "PAYLOAD_TOO_LARGE" } });
    expect(r.body.message).toMatch(/larger than 5 MB/);
    expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual(["workingProofUrls.1"]);
    // Every image is checked before any is stored: the valid first one was not kept either.
    expect((await env.MEDIA.list({ prefix: `working-proofs/${provider.id}/` })).objects).toEqual([]);
  });

  it("a body over a media route's limit is a 413 whose message names that limit", async () => {
    const provider = await seedUser("provider");
    const big = jpegDataUrl(jpegBytes(MAX_IMAGE_BYTES));
    const registration = await api("POST", "/api/services/plumber/providers", {
      token: provider.token,
      body: registrationBody([{ serviceId: "tap-installation", price: 400 }], { workingProofUrls: [big, big, big, big, big, big] }),
    });
    expect(registration).toMatchObject({ status: 413, body: { status: "error", errorCode: "PAYLOAD_TOO_LARGE" } });
    expect(registration.body.message).toMatch(/^Request body is larger than the \d+ MB limit for service registration photos/);

    const u = await seedUser("user");
    const profile = await api("PUT", "/api/users/profile", { token: u.token, body: { profilePicUrl: big, fullName: "x".repeat(2 * MB) } });
    expect(profile).toMatchObject({ status: 413, body: { status: "error", errorCode: "PAYLOAD_TOO_LARGE" } });
    expect(profile.body.message).toMatch(/^Request body is larger than the 8 MB limit for a profile photo/);

    const signup = await api("POST", "/api/auth/signup", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { fullName: "Too Big", phone: randomPhone(), password: "Passw0rd!", role: "user", profilePicUrl: big, pad: "x".repeat(2 * MB) },
    });
    expect(signup).toMatchObject({ status: 413, body: { status: "error", errorCode: "PAYLOAD_TOO_LARGE" } });
    expect(signup.body.message).toMatch(/^Request body is larger than the 8 MB limit for a signup photo/);
  });

  it("a streamed body (no content-length) over the limit gets the same 413", async () => {
    const u = await seedUser("user");
    const chunk = new TextEncoder().encode("x".repeat(MB));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"profilePicUrl":"'));
        if (sent++ < 9) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await SELF.fetch("http://127.0.0.1/api/users/profile", {
      method: "PUT",
      headers: { authorization: `Bearer ${u.token}`, "content-type": "application/json" },
      body: stream,
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errorCode: string; message: string };
    expect(body.errorCode).toBe("PAYLOAD_TOO_LARGE");
    expect(body.message).toMatch(/8 MB limit for a profile photo/);
  });

  it("other routes keep the small limit, and say so", async () => {
    const u = await seedUser("user");
    const r = await api("POST", "/api/users/addresses", { token: u.token, body: { fullAddress: "x".repeat(100 * 1024), state: "Goa" } });
    expect(r).toMatchObject({ status: 413, body: { status: "error", errorCode: "PAYLOAD_TOO_LARGE" } });
    expect(r.body.message).toMatch(/^Request body is larger than the 64 KB limit/);
  });
});
