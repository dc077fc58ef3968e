/**
 * The core worker's Cron Triggers for `npm run dev`, which fires them itself: wrangler dev does not, and
 * its scheduled endpoint reaches only the first worker of the pair, the edge, which has no crons.
 * The patterns come from wrangler.toml's [triggers] and run as Cloudflare runs them: in UTC.
 */
import { readFileSync } from "node:fs";
import { Cron } from "croner";
import { parse } from "smol-toml";

/** `[triggers] crons` of a wrangler config (the top-level worker's, not an [env.*]'s). */
export function cronTriggers(tomlText: string = readFileSync("wrangler.toml", "utf8")): string[] {
  const triggers = parse(tomlText).triggers;
  if (triggers === undefined) return [];
  const crons = (triggers as { crons?: unknown }).crons;
  if (!Array.isArray(crons) || !crons.every((c) => typeof c === "string")) {
    throw new Error(`[triggers] crons must be an array of strings, got ${JSON.stringify(crons)}`);
  }
  return crons;
}

/** One trigger's schedule; with `fire`, it runs (calling fire at each due time) until stopped. */
export function cronSchedule(pattern: string, fire?: () => void): Cron {
  return new Cron(pattern, { timezone: "UTC", paused: fire === undefined, unref: true }, fire ?? (() => {}));
}

/** Starts every trigger; `fire(cron)` is called with the pattern as written, the way the worker's scheduled() sees it. */
export function scheduleCronTriggers(crons: string[], fire: (cron: string) => void): { stop(): void } {
  const jobs = crons.map((cron) => cronSchedule(cron, () => fire(cron)));
  return {
    stop: () => {
      for (const job of jobs) job.stop();
    },
  };
}
