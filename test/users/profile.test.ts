import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { api, randomIp, randomPhone, seedUser, signupViaApi, TEST_PASSWORD, testDb } from "../harness";

// A real 1x1 PNG, as the apps send a resized photo: a data URL inside the JSON body.
const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

describe("profile (docs/api-contract.md §3.2)", () => {
  it("GET returns the fields the profile screens read, in both casings", async () => {
    const u = await signupViaApi("user");
    const r = await api("GET", "/api/users/profile", { token: u.accessToken });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("success");
    const user = r.body.data.user;
    expect(user).toMatchObject({ id: u.id, phone: u.phone, role: "user", nameChangeCount: 0, email: `user.${u.phone}@example.com` });
    expect(user.fullName).toBe(user.full_name);
    expect(user.profilePicUrl).toBe(user.profile_pic_url);
    expect(new Date(user.createdAt).toISOString()).toBe(user.created_at);
    expect(user).toHaveProperty("location");
    expect(r.text).not.toMatch(/password/i);
  });

  it('a data:image photo is stored and its https URL is returned where each app looks; "" removes it', async () => {
    const u = await signupViaApi("provider");
    const up = await api("PUT", "/api/users/profile", { token: u.accessToken, body: { profilePicUrl: PNG } });
    expect(up.status).toBe(200);
    const url = up.body.data.user.profilePicUrl;
    expect(url).toMatch(new RegExp(`^https?://.+/media/profile-pictures/${u.id}/[0-9a-f-]{36}\\.png$`));
    expect(up.body.data.user.profile_pic_url).toBe(url);
    expect(up.body.data.profile_pic_url).toBe(url);
    expect(up.body.profile_pic_url).toBe(url);
    // The stored object is served back as an image.
    const img = await api("GET", new URL(url).pathname);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect((await api("GET", "/api/users/profile", { token: u.accessToken })).body.data.user.profilePicUrl).toBe(url);
    // The profile save sends the stored URL back with the name (http locally: PUBLIC_BASE_URL is http here).
    const saved = await api("PUT", "/api/users/profile", { token: u.accessToken, body: { fullName: "Saved Name", profilePicUrl: url } });
    expect(saved.status).toBe(200);
    expect(saved.body.data.user.profilePicUrl).toBe(url);
    const foreign = await api("PUT", "/api/users/profile", { token: u.accessToken, body: { profilePicUrl: "http://example.com/p.png" } });
    expect(foreign.status).toBe(400);

    const removed = await api("PUT", "/api/users/profile", { token: u.accessToken, body: { profilePicUrl: "" } });
    expect(removed.status).toBe(200);
    expect(removed.body.data.user.profilePicUrl).toBe("");
  });

  it("a photo that is not an image, or a file:// URI, is refused with 400", async () => {
    const u = await seedUser("user");
    const fake = `data:image/jpeg;base64,${btoa("<script>alert(1)</script>")}`;
    const r1 = await api("PUT", "/api/users/profile", { token: u.token, body: { profilePicUrl: fake } });
    expect(r1.status).toBe(400);
    const r2 = await api("PUT", "/api/users/profile", { token: u.token, body: { profilePicUrl: "file:///data/user/0/photo.jpg" } });
    expect(r2.status).toBe(400);
  });

  it("two renames are allowed, the third is refused with the name change limit message", async () => {
    const u = await seedUser("user");
    const rename = (fullName: string) => api("PUT", "/api/users/profile", { token: u.token, body: { fullName } });
    const a = await rename("First Rename");
    expect(a.status).toBe(200);
    expect(a.body.data.user.nameChangeCount).toBe(1);
    // Saving the same name again is not a change.
    expect((await rename("First Rename")).body.data.user.nameChangeCount).toBe(1);
    expect((await rename("Second Rename")).body.data.user.nameChangeCount).toBe(2);
    const third = await rename("Third Rename");
    expect(third.status).toBe(400);
    expect(third.body.message).toContain("name change limit");
    const profile = await api("GET", "/api/users/profile", { token: u.token });
    expect(profile.body.data.user).toMatchObject({ fullName: "Second Rename", nameChangeCount: 2 });
  });

  it("concurrent renames cannot exceed the limit", async () => {
    const u = await seedUser("user");
    const results = await Promise.all(
      ["Alpha Name", "Bravo Name", "Charlie Name", "Delta Name"].map((fullName) =>
        api("PUT", "/api/users/profile", { token: u.token, body: { fullName } }),
      ),
    );
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(2);
    const { rows } = await testDb().http.execute<{ n: number }>(sql`select name_change_count as n from users where id = ${u.id}`);
    expect(rows[0]!.n).toBeLessThanOrEqual(2);
  });

  it("an e-mail another account of the same role uses is refused with `Email already taken`", async () => {
    const a = await seedUser("user", { email: `taken.${randomPhone()}@example.com` });
    const b = await seedUser("user");
    const { rows } = await testDb().http.execute<{ email: string }>(sql`select email from users where id = ${a.id}`);
    const r = await api("PUT", "/api/users/profile", { token: b.token, body: { email: rows[0]!.email.toUpperCase() } });
    expect(r.status).toBe(409);
    expect(r.body.message).toContain("Email already taken");
    const bad = await api("PUT", "/api/users/profile", { token: b.token, body: {} });
    expect(bad.status).toBe(400);
  });
});

describe("addresses (docs/api-contract.md §3.3)", () => {
  it("lists the user's addresses with full_address; only their own", async () => {
    const u = await seedUser("user");
    const other = await seedUser("user");
    const empty = await api("GET", "/api/users/addresses", { token: u.token });
    expect(empty.status).toBe(200);
    expect(empty.body.data.addresses).toEqual([]);

    const add = await api("POST", "/api/users/addresses", {
      token: u.token,
      body: { type: "work", fullAddress: "42 MG Road, Indiranagar", state: "Karnataka", city: "Bengaluru", pincode: "560038" },
    });
    expect(add.status).toBe(201);
    expect(add.body.data.address.type).toBe("office"); // upstream's `work` was a 500
    // The created address answers in the same shape the list gives it.
    const listed = (await api("GET", "/api/users/addresses", { token: u.token })).body.data.addresses[0];
    expect(add.body.data.address).toEqual(listed);
    expect(listed.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    await api("POST", "/api/users/addresses", { token: u.token, body: { fullAddress: "7 Residency Road, Bengaluru", state: "Karnataka" } });

    const list = await api("GET", "/api/users/addresses", { token: u.token });
    expect(list.body.data.addresses.length).toBe(2);
    expect(list.body.data.addresses[0].full_address).toBe("7 Residency Road, Bengaluru"); // home first
    expect(list.body.data.addresses[1]).toMatchObject({ full_address: "42 MG Road, Indiranagar", city: "Bengaluru", pincode: "560038" });
    expect((await api("GET", "/api/users/addresses", { token: other.token })).body.data.addresses).toEqual([]);
    // The profile shows the home address as its location.
    expect((await api("GET", "/api/users/profile", { token: u.token })).body.data.user.location).toBe("7 Residency Road, Bengaluru");

    // Someone else's address cannot be touched.
    const id = add.body.data.address.id;
    expect((await api("DELETE", `/api/users/addresses/${id}`, { token: other.token })).status).toBe(404);
    expect((await api("PUT", `/api/users/addresses/${id}`, { token: u.token, body: { city: "Mysuru" } })).body.data.address.city).toBe(
      "Mysuru",
    );
    expect((await api("DELETE", `/api/users/addresses/${id}`, { token: u.token })).status).toBe(200);
    expect((await api("DELETE", "/api/users/addresses/not-a-uuid", { token: u.token })).status).toBe(400);
  });
});

describe("account deletion", () => {
  it("ends every session, keeps the row for the ledger, and frees the phone for a new signup", async () => {
    const u = await signupViaApi("user");
    const r = await api("DELETE", "/api/users/delete-account", { token: u.accessToken });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("success");
    expect((await api("GET", "/api/users/profile", { token: u.accessToken })).status).toBe(401);
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(401);
    const headers = { "cf-connecting-ip": randomIp() };
    expect(
      (await api("POST", "/api/auth/login", { headers, body: { phone: u.phone, password: TEST_PASSWORD, role: "user" } })).status,
    ).toBe(401);

    // The row stays (bookings, ratings and payments keep pointing at it), marked deleted.
    const { rows } = await testDb().http.execute<{ deleted: boolean }>(
      sql`select deleted_at is not null as deleted from users where id = ${u.id}`,
    );
    expect(rows[0]!.deleted).toBe(true);

    const again = await signupViaApi("user", { phone: u.phone });
    expect(again.id).not.toBe(u.id);
  });
});
