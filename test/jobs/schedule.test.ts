import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { CONSUMERS, SCHEDULE } from "../../src/jobs/schedule";
import coreToml from "../../wrangler.toml?raw";

/**
 * The core worker's schedule (src/jobs/schedule.ts) against its deployment (wrangler.toml): Cloudflare
 * fires only the triggers wrangler.toml lists and delivers only the queues it consumes, so a task on an
 * expression missing there never runs, and a trigger or queue without an entry runs nothing (a queue's
 * messages are retried, then dead-lettered).
 */
const config = parse(coreToml) as { triggers?: { crons?: string[] }; queues?: { consumers?: { queue: string }[] } };
const triggers = config.triggers?.crons ?? [];
const consumed = (config.queues?.consumers ?? []).map((c) => c.queue);

describe("the schedule and wrangler.toml", () => {
  it("every cron trigger has tasks", () => {
    expect(triggers.length).toBeGreaterThan(0);
    for (const cron of triggers) expect(SCHEDULE[cron]?.length ?? 0, `tasks of "${cron}"`).toBeGreaterThan(0);
  });

  it("every scheduled expression is a cron trigger", () => {
    expect(Object.keys(SCHEDULE).filter((cron) => !triggers.includes(cron))).toEqual([]);
  });

  it("every consumed queue has a consumer, and every consumer's queue is consumed", () => {
    expect(consumed.length).toBeGreaterThan(0);
    expect(consumed.filter((queue) => !CONSUMERS[queue])).toEqual([]);
    expect(Object.keys(CONSUMERS).filter((queue) => !consumed.includes(queue))).toEqual([]);
  });

  it("task names are unique, so a run's log line names one task", () => {
    const names = Object.values(SCHEDULE).flatMap((tasks) => tasks.map((t) => t.name));
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
});
