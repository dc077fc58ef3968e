import { DurableObject } from "cloudflare:workers";

/** Owns one Engine.IO session (polling and WebSocket transport). (Placeholder until its issue lands; declared now so wrangler.toml's bindings resolve.) */
export class RealtimeSession extends DurableObject<Env> {}
