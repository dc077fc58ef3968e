import { createLogger } from "../lib/log";
import { metric } from "../lib/metrics";

const log = createLogger("info", { component: "queue" });

/**
 * Queue consumers, dispatched by queue name. Each capability registers its consumer here; a
 * consumer acks or retries each message itself (at-least-once delivery: consumers are idempotent).
 */
export type QueueConsumer = (batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext) => Promise<void>;

export const consumers: Record<string, QueueConsumer> = {
  // "refunds": refund apply/status (src/refunds), "refunds-dlq": needs_attention,
  // "notifications": Expo push, "notifications-dlq": dead letters (src/notifications).
};

export async function handleQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  if (batch.queue.endsWith("-dlq")) metric("queue.dead_letter", { queue: batch.queue, count: batch.messages.length });
  const consumer = consumers[batch.queue];
  if (!consumer) {
    log.error("no consumer for queue; retrying", { queue: batch.queue });
    batch.retryAll({ delaySeconds: 60 });
    return;
  }
  await consumer(batch, env, ctx);
}
