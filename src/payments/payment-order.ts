import { DurableObject } from "cloudflare:workers";

/** Owns the payment attempts, notifications and refunds of one order. (Placeholder until its issue lands; declared now so wrangler.toml's bindings resolve.) */
export class PaymentOrder extends DurableObject<Env> {}
