/**
 * Registers every capability's queue consumers and cron tasks (imported once by src/index.ts).
 * Capabilities add one line each here; the tables live in queue.ts and cron.ts.
 */
import { createDb } from "../db/client";
import { loadConfig } from "../env";
import { dispatchOutbox } from "../notifications/outbox";
import { CRON, cronTasks } from "./cron";
// Registers the outbox's live-socket sink (realtime gateway).
import "../realtime/sink";

cronTasks[CRON.everyTwoMinutes]!.push({
  name: "outbox-sweep",
  run: async (env) => {
    const db = createDb(loadConfig(env));
    try {
      let total = 0;
      for (let i = 0; i < 10; i++) {
        const n = await dispatchOutbox(env, db);
        total += n;
        if (n === 0) break;
      }
      return { dispatched: total };
    } finally {
      await db.close();
    }
  },
});
