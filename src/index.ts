import { buildApp } from "./app";
import { handleScheduled } from "./jobs/cron";
import { handleQueue } from "./jobs/queue";
import "./jobs/register";

/** The worker: HTTP via Hono, queue consumers, cron, and the Durable Object classes. */
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
