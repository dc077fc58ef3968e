/**
 * The Cron Triggers `npm run dev` fires (scripts/crons.ts): read from wrangler.toml as TOML, scheduled in
 * UTC like Cloudflare's, whatever the developer's time zone.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cronSchedule, cronTriggers, scheduleCronTriggers } from "../../scripts/crons.ts";
import { REPO } from "./processes";

const TZ = process.env.TZ;
afterEach(() => {
  if (TZ === undefined) delete process.env.TZ;
  else process.env.TZ = TZ;
});

describe("the Cron Triggers dev fires", () => {
  it("are the core worker's [triggers] crons, read as TOML: comments, a multi-line array and an [env] table's crons do not confuse it", () => {
    const toml = `
name = "core"
# crons = ["0 0 * * *"] is not a trigger: a comment
[env.staging.triggers]
crons = ["* * * * *"]

[triggers]
crons = [
  "*/2 * * * *", # reconciliation
  "30 21 * * *",
]
`;
    expect(cronTriggers(toml)).toEqual(["*/2 * * * *", "30 21 * * *"]);
    expect(cronTriggers(`name = "edge"\n`)).toEqual([]);
    expect(() => cronTriggers(`[triggers]\ncrons = "*/2 * * * *"\n`)).toThrow(/array of strings/);
  });

  it("the project's wrangler.toml has triggers, and each is a valid pattern", () => {
    const crons = cronTriggers(readFileSync(path.join(REPO, "wrangler.toml"), "utf8"));
    expect(crons.length).toBeGreaterThan(0);
    for (const cron of crons) expect(cronSchedule(cron).nextRun()).toBeInstanceOf(Date);
  });

  it("are scheduled in UTC even on a machine set to India time (30 2 * * * is 08:00 IST)", () => {
    process.env.TZ = "Asia/Kolkata";
    const from = new Date("2026-03-01T00:00:00Z");
    expect(cronSchedule("30 2 * * *").nextRun(from)?.toISOString()).toBe("2026-03-01T02:30:00.000Z");
    expect(cronSchedule("30 21 * * *").nextRun(from)?.toISOString()).toBe("2026-03-01T21:30:00.000Z");
    expect(
      cronSchedule("*/10 * * * *")
        .nextRuns(3, new Date("2026-03-01T00:05:00Z"))
        .map((d) => d.toISOString()),
    ).toEqual(["2026-03-01T00:10:00.000Z", "2026-03-01T00:20:00.000Z", "2026-03-01T00:30:00.000Z"]);
  });

  it("fire with the pattern as written (what the worker's scheduled() is told)", async () => {
    const fired: string[] = [];
    // Seconds precision, so the case need not wait for a minute to turn.
    const triggers = scheduleCronTriggers(["* * * * * *"], (cron) => fired.push(cron));
    try {
      await vi.waitFor(() => expect(fired).toContain("* * * * * *"), { timeout: 3_000, interval: 50 });
    } finally {
      triggers.stop();
    }
  });
});
