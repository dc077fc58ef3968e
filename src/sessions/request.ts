import type { AppContext } from "../http/context";
import type { ClientMeta } from "./tokens";

/** Cloudflare sets CF-Connecting-IP at the edge, where a client cannot forge it. */
export function clientIp(c: AppContext): string {
  return c.req.header("cf-connecting-ip") ?? "unknown";
}

export function clientMeta(c: AppContext): ClientMeta {
  return { ip: clientIp(c), userAgent: c.req.header("user-agent") ?? null };
}
