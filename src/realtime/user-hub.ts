import { DurableObject } from "cloudflare:workers";

/** Owns the live sockets of one user. (Placeholder until its issue lands; declared now so wrangler.toml's bindings resolve.) */
export class UserHub extends DurableObject<Env> {}
