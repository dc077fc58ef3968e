import { buildApp } from "./app";

/** The worker: HTTP via Hono, plus queue consumers, cron, and the Durable Object classes. */
const app = buildApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;

export { CallRoom } from "./calls/call-room";
export { PaymentOrder } from "./payments/payment-order";
export { RealtimeSession } from "./realtime/session";
export { UserHub } from "./realtime/user-hub";
