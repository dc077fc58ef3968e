import { buildApp } from "./app";
import { handleScheduled } from "./jobs/cron";
import { handleQueue } from "./jobs/queue";

/**
 * The core worker (wrangler.toml, placed next to Neon): HTTP via Hono for every route with database
 * access, queue consumers, cron, and the Durable Object classes. It has no public route: requests
 * reach it from the edge worker (src/edge/index.ts) through a service binding (docs/architecture.md).
 */
const app = buildApp();

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;

export { CallRoom } from "./calls/call-room";
export { PaymentOrder } from "./payments/payment-order";
export { RealtimeSession } from "./realtime/session";
export { UserHub } from "./realtime/user-hub";
