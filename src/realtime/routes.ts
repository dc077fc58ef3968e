import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/context";
import { describe } from "../http/meta";
import { routeLimits } from "../http/route-limits";
import { clientIp } from "../lib/client-ip";
import { ENGINE_ERRORS, engineError, MAX_PAYLOAD } from "./protocol";

/**
 * /socket.io/: the Engine.IO/Socket.IO gateway front door. Stateless: it checks the protocol
 * version and transport, then routes by sid to the session's Durable Object (the sid *is* the
 * object id, so no lookup; ids that this namespace did not mint are refused by idFromString).
 */
export const socketRoutes = new Hono<AppEnv>();

const gateway = describe({
  summary: "Engine.IO v4 / Socket.IO v5 endpoint (polling and WebSocket)",
  tags: ["realtime"],
  other: { media: "text/plain", description: "Engine.IO packets (polling) or a WebSocket upgrade (101)" },
});

/** Development diagnostics for the end-to-end run and the bench (404 in every other environment). */
socketRoutes.get(
  "/__session/:sid",
  describe({
    summary: "Session diagnostics (development only)",
    tags: ["realtime"],
    other: { json: z.record(z.string(), z.unknown()), description: "The session object's state" },
  }),
  async (c) => {
    if (c.get("config").ENVIRONMENT !== "development") return c.notFound();
    const stub = sessionStub(c.env, c.req.param("sid"));
    if (!stub) return c.notFound();
    if (c.req.query("terminate") === "1") await stub.terminate();
    return c.json(await stub.diagnostics());
  },
);

/** Long-poll POSTs up to the maxPayload the handshake advertises. */
const packets = routeLimits({ body: { maxBytes: MAX_PAYLOAD, what: "socket.io packets" } });

// The client asks for `/socket.io/` (trailing slash); `/socket.io` is accepted too.
socketRoutes.all("/", gateway, packets, (c) => gate(c));
socketRoutes.all("/*", gateway, packets, (c) => (/^\/socket\.io\/?$/.test(c.req.path) ? gate(c) : c.notFound()));

/** SOCKET_LIMITER's period (wrangler.toml). */
const HANDSHAKE_RETRY_AFTER_SECONDS = 10;

/**
 * Every Engine.IO handshake creates a session object, so handshakes are limited per client address
 * (SOCKET_LIMITER, CF-Connecting-IP). The budget fits a carrier NAT's worth of devices each opening
 * the apps' four sockets and reconnecting; a flood is refused with an Engine.IO error that
 * socket.io-client treats as a failed attempt and retries with backoff. Requests on an existing
 * session are not counted. Exempt, like the API limiter: requests without the header (local tools)
 * and the `development` environment (the end-to-end run and the bench connect from one address).
 */
async function gate(c: Context<AppEnv>): Promise<Response> {
  const ip = clientIp(c);
  if (ip && !c.req.query("sid") && c.get("config").ENVIRONMENT !== "development") {
    const { success } = await c.env.SOCKET_LIMITER.limit({ key: `ip:${ip}` });
    if (!success) {
      const res = engineError(ENGINE_ERRORS.TOO_MANY_REQUESTS, 429);
      res.headers.set("retry-after", String(HANDSHAKE_RETRY_AFTER_SECONDS));
      return res;
    }
  }
  return route(c.env, c.req.raw);
}

function sessionStub(env: Env, sid: string) {
  try {
    return env.REALTIME_SESSION.get(env.REALTIME_SESSION.idFromString(sid));
  } catch {
    return undefined;
  }
}

export async function route(env: Env, req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (url.searchParams.get("EIO") !== "4") return engineError(ENGINE_ERRORS.UNSUPPORTED_PROTOCOL_VERSION);
  const transport = url.searchParams.get("transport");
  if (transport !== "polling" && transport !== "websocket") return engineError(ENGINE_ERRORS.UNKNOWN_TRANSPORT);
  const sid = url.searchParams.get("sid");
  if (sid === null) {
    // Handshake: a fresh object per connection.
    if (transport === "polling" && req.method !== "GET") return engineError(ENGINE_ERRORS.BAD_HANDSHAKE_METHOD);
    return env.REALTIME_SESSION.get(env.REALTIME_SESSION.newUniqueId()).fetch(req);
  }
  const stub = sessionStub(env, sid);
  if (!stub) return engineError(ENGINE_ERRORS.UNKNOWN_SID);
  return stub.fetch(req);
}
