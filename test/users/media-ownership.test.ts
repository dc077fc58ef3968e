import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { api, config, randomIp, randomPhone, seedUser, signupViaApi, testDb } from "../harness";
import { jpegBytes, jpegDataUrl, PNG, registrationBody } from "../marketplace/images";

/**
 * Stored images belong to the account that uploaded them: their key carries the owner, and a profile
 * or listing accepts (and deletes) only its caller's images. Before this, any account could take
 * another's /media URL as its photo and then "remove" it, deleting the victim's object.
 */

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const base = () => config().PUBLIC_BASE_URL;
const path = (url: string) => new URL(url).pathname;

async function profilePhoto(token: string): Promise<string> {
  const r = await api("PUT", "/api/users/profile", { token, body: { profilePicUrl: PNG } });
  expect(r.status).toBe(200);
  return r.body.data.user.profilePicUrl as string;
}

describe("stored images carry their owner", () => {
  it("another account's photo URL is refused (400 naming profilePicUrl) and the victim's photo survives the attacker's removal", async () => {
    const victim = await seedUser("user");
    const attacker = await seedUser("user");
    const url = await profilePhoto(victim.token);

    const take = await api("PUT", "/api/users/profile", { token: attacker.token, body: { profilePicUrl: url } });
    expect(take.status).toBe(400);
    expect(take.body).toMatchObject({ status: "error", errorCode: "VALIDATION_ERROR" });
    expect(take.body.errors.map((e: { field: string }) => e.field)).toEqual(["profilePicUrl"]);
    expect((await api("GET", "/api/users/profile", { token: attacker.token })).body.data.user.profilePicUrl).not.toBe(url);

    const remove = await api("PUT", "/api/users/profile", { token: attacker.token, body: { profilePicUrl: "" } });
    expect(remove.status).toBe(200);
    await settled(attacker.token);
    const img = await api("GET", path(url));
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    // The key names its owner.
    expect(path(url)).toMatch(new RegExp(`^/media/profile-pictures/${victim.id}/${UUID}\\.png$`));
  });

  it("spellings of a foreign URL that resolve to the same object are refused too", async () => {
    const victim = await seedUser("provider");
    const attacker = await seedUser("provider");
    const url = await profilePhoto(victim.token);
    const u = new URL(url);
    const variants = [
      url.replace(u.host, u.host.toUpperCase()),
      `${u.origin}/media/profile-pictures/../profile-pictures/${path(url).split("/").slice(3).join("/")}`,
      `${u.origin}/media/./${path(url).slice("/media/".length)}`,
      `${url}?v=2`,
      `${url}#x`,
    ];
    for (const v of variants) {
      const r = await api("PUT", "/api/users/profile", { token: attacker.token, body: { profilePicUrl: v } });
      expect({ v, status: r.status }).toEqual({ v, status: 400 });
    }
    // Anything else under /media that is not a stored image of the caller is refused as well.
    for (const v of [`${base()}/media/`, `${base()}/media/profile-pictures/${victim.id}`, `${base()}/media/x%2F..%2Fy.png`]) {
      const r = await api("PUT", "/api/users/profile", { token: attacker.token, body: { profilePicUrl: v } });
      expect({ v, status: r.status }).toEqual({ v, status: 400 });
    }
  });

  it("the owner's own photo is kept on save and deleted when replaced or removed", async () => {
    const u = await seedUser("user");
    const first = await profilePhoto(u.token);
    const saved = await api("PUT", "/api/users/profile", { token: u.token, body: { fullName: "Kept Photo", profilePicUrl: first } });
    expect(saved.status).toBe(200);
    expect(saved.body.data.user.profilePicUrl).toBe(first);
    expect((await api("GET", path(first))).status).toBe(200);

    const second = await profilePhoto(u.token);
    expect(second).not.toBe(first);
    await gone(path(first));
    const removed = await api("PUT", "/api/users/profile", { token: u.token, body: { profilePicUrl: "" } });
    expect(removed.status).toBe(200);
    await gone(path(second));
  });

  it("a working proof or certificate of another provider is refused by name, on register and on edit", async () => {
    const owner = await seedUser("provider");
    const reg = await api("POST", "/api/services/plumber/providers", {
      token: owner.token,
      body: registrationBody([{ serviceId: "tap-installation", price: 300 }], { workingProofUrls: [PNG] }),
    });
    expect(reg.status).toBe(201);
    const [proof] = reg.body.data.providerService.working_proof_urls as string[];
    expect(path(proof!)).toMatch(new RegExp(`^/media/working-proofs/${owner.id}/${UUID}\\.png$`));

    const thief = await seedUser("provider");
    const steal = await api("POST", "/api/services/plumber/providers", {
      token: thief.token,
      body: registrationBody([{ serviceId: "tap-installation", price: 300 }], { workingProofUrls: [PNG, proof!] }),
    });
    expect(steal.status).toBe(400);
    expect(steal.body.errors.map((e: { field: string }) => e.field)).toEqual(["workingProofUrls.1"]);
    const cert = await api("POST", "/api/services/engineer-interior/providers", {
      token: thief.token,
      body: registrationBody([{ serviceId: "interior-design", price: 300 }], {
        engineeringCertificateUrl: proof,
        isEngineeringProvider: true,
      }),
    });
    expect(cert.status).toBe(400);
    expect(cert.body.errors.map((e: { field: string }) => e.field)).toEqual(["engineeringCertificateUrl"]);
    // Nothing was half-written: the refused registration left no listing behind.
    expect((await api("GET", "/api/services/my-registrations", { token: thief.token })).body.data.registeredServices).toEqual([]);

    const mine = await api("POST", "/api/services/plumber/providers", {
      token: thief.token,
      body: registrationBody([{ serviceId: "tap-installation", price: 300 }], { workingProofUrls: [PNG] }),
    });
    expect(mine.status).toBe(201);
    const edit = await api("PUT", "/api/services/plumber/providers", {
      token: thief.token,
      body: { workingProofUrls: [...mine.body.data.providerService.working_proof_urls, proof] },
    });
    expect(edit.status).toBe(400);
    expect(edit.body.errors.map((e: { field: string }) => e.field)).toEqual(["workingProofUrls.1"]);
    // The provider's own stored URLs, sent back by edit mode, are accepted.
    const keep = await api("PUT", "/api/services/plumber/providers", {
      token: thief.token,
      body: { workingProofUrls: mine.body.data.providerService.working_proof_urls },
    });
    expect(keep.status).toBe(200);
  });

  it("the signup photo is stored under the account the OTP then creates, which alone can remove it", async () => {
    const u = await signupViaApi("provider", { profilePicUrl: jpegDataUrl(jpegBytes(20_000)) });
    const url = u.user.profilePicUrl as string;
    expect(path(url)).toMatch(new RegExp(`^/media/profile-pictures/${u.id}/${UUID}\\.jpg$`));
    const img = await api("GET", path(url));
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/jpeg");

    const other = await seedUser("provider");
    expect((await api("PUT", "/api/users/profile", { token: other.token, body: { profilePicUrl: url } })).status).toBe(400);
    expect((await api("PUT", "/api/users/profile", { token: u.accessToken, body: { profilePicUrl: "" } })).status).toBe(200);
    await gone(path(url));
  });

  it("signup refuses a stored image of another account, naming profilePicUrl", async () => {
    const victim = await seedUser("user");
    const url = await profilePhoto(victim.token);
    const r = await api("POST", "/api/auth/signup", {
      body: { fullName: "Photo Thief", phone: randomPhone(), password: "Passw0rd!", role: "user", profilePicUrl: url },
      headers: { "cf-connecting-ip": randomIp() },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual(["profilePicUrl"]);
  });

  it("an old-format key (no owner) stays readable; a profile may keep it but never deletes it", async () => {
    const u = await seedUser("user");
    const key = `profile-pictures/${crypto.randomUUID()}.png`;
    await env.MEDIA.put(
      key,
      Uint8Array.from(atob(PNG.split(",")[1]!), (c) => c.charCodeAt(0)),
      { httpMetadata: { contentType: "image/png" } },
    );
    const legacy = `${base()}/media/${key}`;
    await testDb().http.execute(sql`update users set profile_pic_url = ${legacy} where id = ${u.id}`);
    const img = await api("GET", `/media/${key}`);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");

    // The app's profile save sends the current URL back unchanged: accepted.
    const saved = await api("PUT", "/api/users/profile", { token: u.token, body: { fullName: "Legacy Photo", profilePicUrl: legacy } });
    expect(saved.status).toBe(200);
    // Another account cannot take it...
    const other = await seedUser("user");
    expect((await api("PUT", "/api/users/profile", { token: other.token, body: { profilePicUrl: legacy } })).status).toBe(400);
    // ...and removing it from the profile does not delete an object whose owner is not recorded.
    expect((await api("PUT", "/api/users/profile", { token: u.token, body: { profilePicUrl: "" } })).status).toBe(200);
    await settled(u.token);
    expect((await api("GET", `/media/${key}`)).status).toBe(200);
  });
});

/** A replaced photo is deleted after the response (waitUntil): poll until it is gone. */
async function gone(p: string) {
  await vi.waitFor(
    async () => {
      expect((await api("GET", p)).status).toBe(404);
    },
    { timeout: 5000, interval: 50 },
  );
}

/**
 * Waits until the deletions the caller's earlier saves queued have run: it replaces a photo of its
 * own and waits for that one to go, so a negative check after it is not a race.
 */
async function settled(token: string) {
  const a = await profilePhoto(token);
  await profilePhoto(token);
  await gone(path(a));
}
