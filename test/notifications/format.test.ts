import { describe, expect, it } from "vitest";
import { formatDateIst, formatTimeIst, istDate, relativeTime } from "../../src/notifications/format";
import { backoffSeconds, settingFor } from "../../src/notifications/push-consumer";

describe("India-time formatting (fixed +05:30)", () => {
  it("formats dates and 12-hour times as the apps show them, across the UTC/IST day boundary", () => {
    const lateUtc = new Date("2026-11-27T18:35:00Z"); // 00:05 IST on the 28th
    expect(formatDateIst(lateUtc)).toBe("28 Nov 2026");
    expect(formatTimeIst(lateUtc)).toBe("12:05 am");
    expect(istDate(lateUtc)).toBe("2026-11-28");
    expect(formatTimeIst(new Date("2026-11-28T06:30:00Z"))).toBe("12:00 pm");
    expect(formatTimeIst(new Date("2026-11-28T07:49:00Z"))).toBe("1:19 pm");
  });

  it("gives upstream's relative times, falling back to the date after a week", () => {
    const now = new Date("2026-11-28T12:00:00Z");
    const ago = (s: number) => new Date(now.getTime() - s * 1000);
    expect(relativeTime(ago(30), now)).toBe("Just now");
    expect(relativeTime(ago(60), now)).toBe("1 minute ago");
    expect(relativeTime(ago(3 * 3600), now)).toBe("3 hours ago");
    expect(relativeTime(ago(2 * 86_400), now)).toBe("2 days ago");
    expect(relativeTime(ago(8 * 86_400), now)).toBe("20 Nov 2026");
  });
});

describe("push policy", () => {
  it("maps a push to the notification setting that governs it", () => {
    expect(settingFor({ type: "daily_reminder" })).toBe("reminders");
    expect(settingFor({ type: "morning_summary" })).toBe("reminders");
    expect(settingFor({ type: "booking_confirmed" })).toBe("booking_updates");
    expect(settingFor({ type: "service_completed" })).toBe("booking_updates");
    expect(settingFor({ type: "promotional" })).toBe("promotional");
    expect(settingFor({ type: "payment_success" })).toBe("always");
    expect(settingFor({})).toBe("always");
  });

  it("backs off exponentially with jitter, capped at 15 minutes, never sooner than Retry-After", () => {
    for (let i = 0; i < 50; i++) {
      expect(backoffSeconds(1)).toBeGreaterThanOrEqual(12);
      expect(backoffSeconds(1)).toBeLessThanOrEqual(18);
      expect(backoffSeconds(3)).toBeGreaterThanOrEqual(48);
      expect(backoffSeconds(20)).toBeLessThanOrEqual(900);
    }
    expect(backoffSeconds(1, 120)).toBe(120);
  });
});
