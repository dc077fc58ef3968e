import { createLogger } from "../lib/log";
import { metric } from "../lib/metrics";
import { CONSUMERS } from "./schedule";

const log = createLogger("info", { component: "queue" });

/**
 * Queue batches, dispatched by queue name to the consumers of src/jobs/schedule.ts; a consumer
 * acks or retries each message itself (at-least-once delivery: consumers are idempotent).
 */
export async function handleQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  if (batch.queue.endsWith("-dlq")) metric("queue.dead_letter", { queue: batch.queue, count: batch.messages.length });
  const consumer = CONSUMERS[batch.queue];
  if (!consumer) {
    log.error("no consumer for queue; retrying", { queue: batch.queue });
    batch.retryAll({ delaySeconds: 60 });
    return;
  }
  await consumer(batch, env, ctx);
}
