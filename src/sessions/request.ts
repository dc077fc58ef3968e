import type { AppContext } from "../http/context";
import { clientIp } from "../lib/client-ip";
import type { ClientMeta } from "./tokens";

export function clientMeta(c: AppContext): ClientMeta {
  return { ip: clientIp(c) ?? "unknown", userAgent: c.req.header("user-agent") ?? null };
}
