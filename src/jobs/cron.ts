import { createLogger } from "../lib/log";
import { SCHEDULE } from "./schedule";

const log = createLogger("info", { component: "cron" });

/**
 * Cron Triggers (wrangler.toml [triggers]), dispatched by expression to the tasks of
 * src/jobs/schedule.ts. Every task is idempotent and safe to run twice in a row; tasks of one
 * trigger run independently so one failure does not stop the others.
 */
export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const tasks = SCHEDULE[controller.cron] ?? [];
  const at = new Date(controller.scheduledTime);
  const results = await Promise.allSettled(tasks.map((t) => t.run(env, ctx, at)));
  results.forEach((r, i) => {
    const name = tasks[i]!.name;
    if (r.status === "rejected") log.error("cron task failed", { task: name, cron: controller.cron, error: String(r.reason) });
    else log.info("cron task done", { task: name, cron: controller.cron, result: r.value ?? null });
  });
}
