/**
 * The suite's worker: both workers in one, wired the way production wires them. SELF is the edge
 * worker's fetch; its CORE service binding (vitest.config.ts) points back at this worker's `Core`
 * entrypoint, the core worker's fetch, so every forwarded request crosses a real service-binding hop
 * (a new Request, body streamed, headers as sent). The Durable Object classes are the core's, so
 * runInDurableObject works on every namespace. Queue and cron handlers are the core's: in production
 * only the core has consumers and triggers; here the one worker receives the queues' batches.
 */
import edge from "../../src/edge/index";
import core from "../../src/index";

export default {
  fetch: edge.fetch,
  queue: core.queue,
  scheduled: core.scheduled,
} satisfies ExportedHandler<Env>;

export const Core = { fetch: core.fetch } satisfies ExportedHandler<Env>;

export { CallRoom, PaymentOrder, RealtimeSession, UserHub } from "../../src/index";
