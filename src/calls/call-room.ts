import { DurableObject } from "cloudflare:workers";

/** Owns the masked-call room of one booking. (Placeholder until its issue lands; declared now so wrangler.toml's bindings resolve.) */
export class CallRoom extends DurableObject<Env> {}
