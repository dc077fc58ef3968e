/**
 * The caller's address. Cloudflare sets CF-Connecting-IP at the edge, where a client cannot forge
 * it, and the edge worker forwards it to the core unchanged (src/edge/forward.ts). Null without the
 * header: only local tools and tests send requests that Cloudflare has not seen.
 * Takes anything with Hono's `c.req.header`, so this file stays free of Hono.
 */
export function clientIp(c: { req: { header(name: string): string | undefined } }): string | null {
  return c.req.header("cf-connecting-ip") ?? null;
}
