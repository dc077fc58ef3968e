import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { api, seedUser, testDb } from "../harness";

const expoToken = () => `ExponentPushToken[${crypto.randomUUID().replace(/-/g, "").slice(0, 22)}]`;
const deviceInfo = {
  deviceName: "Pixel 7",
  deviceType: 1,
  osName: "Android",
  osVersion: "14",
  platform: "android",
  appVersion: "1.0.0",
  appType: "user",
};

describe("push tokens (docs/api-contract.md §3.11)", () => {
  it("registration is idempotent (the apps re-register every 5 minutes) and a device moves to its latest user", async () => {
    const a = await seedUser("user");
    const b = await seedUser("provider");
    const token = expoToken();
    for (let i = 0; i < 3; i++) {
      const r = await api("POST", "/api/push-notifications/register-token", { token: a.token, body: { pushToken: token, deviceInfo } });
      expect(r.status).toBe(200);
    }
    const db = testDb();
    const rows = async () =>
      (
        await db.http.execute<{ user_id: string; is_active: boolean }>(
          sql`select user_id, is_active from push_tokens where token = ${token}`,
        )
      ).rows;
    expect(await rows()).toEqual([{ user_id: a.id, is_active: true }]);

    // Same phone, another account signs in: the device now belongs to it only.
    await api("POST", "/api/push-notifications/register-token", {
      token: b.token,
      body: { pushToken: token, deviceInfo: { ...deviceInfo, appType: "provider" } },
    });
    expect(await rows()).toEqual([{ user_id: b.id, is_active: true }]);

    // A second device of the same user stays active alongside.
    const second = expoToken();
    await api("POST", "/api/push-notifications/register-token", { token: b.token, body: { pushToken: second } });
    const { rows: active } = await db.http.execute<{ n: number }>(
      sql`select count(*)::int as n from push_tokens where user_id = ${b.id} and is_active`,
    );
    expect(active[0]!.n).toBe(2);

    // Removing one device, then all.
    expect((await api("DELETE", "/api/push-notifications/token", { token: b.token, body: { pushToken: token } })).body.data.removed).toBe(
      1,
    );
    expect((await api("DELETE", "/api/push-notifications/token", { token: b.token })).body.data.removed).toBe(1);
  });

  it("refuses what is not an Expo push token, and needs a signed-in user", async () => {
    const u = await seedUser("user");
    const bad = await api("POST", "/api/push-notifications/register-token", { token: u.token, body: { pushToken: "not-a-token" } });
    expect(bad.status).toBe(400);
    const anon = await api("POST", "/api/push-notifications/register-token", { body: { pushToken: expoToken() } });
    expect(anon.status).toBe(401);
  });

  it("settings start at the defaults, change partially, and history is paginated", async () => {
    const u = await seedUser("user");
    const first = await api("GET", "/api/push-notifications/settings", { token: u.token });
    expect(first.body.data.settings).toEqual({
      booking_updates: true,
      reminders: true,
      promotional: false,
      sound_enabled: true,
      vibration_enabled: true,
    });
    const put = await api("PUT", "/api/push-notifications/settings", {
      token: u.token,
      body: { settings: { promotional: true, sound_enabled: false } },
    });
    expect(put.status).toBe(200);
    const after = await api("GET", "/api/push-notifications/settings", { token: u.token });
    expect(after.body.data.settings).toEqual({
      booking_updates: true,
      reminders: true,
      promotional: true,
      sound_enabled: false,
      vibration_enabled: true,
    });
    const wrongType = await api("PUT", "/api/push-notifications/settings", { token: u.token, body: { settings: { reminders: "yes" } } });
    expect(wrongType.status).toBe(400);

    const db = testDb();
    await db.http.execute(
      sql`insert into push_deliveries (user_id, title, body, data, status) values (${u.id}, 'Hello', 'World', '{"type":"booking_confirmed"}', 'sent')`,
    );
    const history = await api("GET", "/api/push-notifications/history?page=1&limit=10", { token: u.token });
    expect(history.status).toBe(200);
    expect(history.body.data.notifications).toHaveLength(1);
    expect(history.body.data.notifications[0]).toMatchObject({
      title: "Hello",
      body: "World",
      status: "sent",
      notification_type: "booking_confirmed",
    });
    expect(history.body.data.pagination).toMatchObject({ page: 1, total: 1, totalPages: 1, hasMore: false });
  });
});
