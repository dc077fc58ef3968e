/**
 * A local stand-in for Expo's push service (https://docs.expo.dev/push-notifications/sending-notifications/),
 * speaking its wire format: POST /--/api/v2/push/send (≤100 messages → tickets) and
 * POST /--/api/v2/push/getReceipts. Test controls under /__expo/*: mark tokens unregistered, fail the
 * next N sends with 5xx or 429, read what was delivered, reset.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

type Message = {
  to: string | string[];
  title?: string;
  body?: string;
  data?: unknown;
  sound?: string;
  priority?: string;
  channelId?: string;
};
type State = {
  delivered: { to: string; title?: string; body?: string; data?: unknown; ticketId: string }[];
  receipts: Map<string, { status: "ok" } | { status: "error"; message: string; details: { error: string } }>;
  unregistered: Set<string>;
  failNext: { status: number; count: number } | null;
  sendCalls: number;
};

const TOKEN = /^(ExponentPushToken|ExpoPushToken)\[[^\]]+\]$/;

export function createExpoHandler() {
  const state: State = { delivered: [], receipts: new Map(), unregistered: new Set(), failNext: null, sendCalls: 0 };
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/--/api/v2/push/send" && req.method === "POST") {
      state.sendCalls++;
      if (state.failNext && state.failNext.count > 0) {
        state.failNext.count--;
        const status = state.failNext.status;
        return json(
          { errors: [{ code: status === 429 ? "TOO_MANY_REQUESTS" : "INTERNAL_SERVER_ERROR", message: "injected failure" }] },
          status,
        );
      }
      const parsed = (await req.json().catch(() => null)) as Message | Message[] | null;
      const messages = Array.isArray(parsed) ? parsed : parsed ? [parsed] : [];
      if (messages.length === 0 || messages.length > 100)
        return json({ errors: [{ code: "VALIDATION_ERROR", message: "1 to 100 messages" }] }, 400);
      const data = messages.flatMap((m) =>
        (Array.isArray(m.to) ? m.to : [m.to]).map((to) => {
          if (!TOKEN.test(to))
            return { status: "error", message: `"${to}" is not a valid Expo push token`, details: { error: "DeviceNotRegistered" } };
          const ticketId = crypto.randomUUID();
          if (state.unregistered.has(to)) {
            // Expo reports an unregistered device either at once or in the receipt; we do both paths.
            state.receipts.set(ticketId, { status: "error", message: "not registered", details: { error: "DeviceNotRegistered" } });
          } else {
            state.receipts.set(ticketId, { status: "ok" });
          }
          state.delivered.push({ to, title: m.title, body: m.body, data: m.data, ticketId });
          return { status: "ok", id: ticketId };
        }),
      );
      return json({ data });
    }
    if (url.pathname === "/--/api/v2/push/getReceipts" && req.method === "POST") {
      const { ids } = ((await req.json().catch(() => ({}))) ?? {}) as { ids?: string[] };
      const data: Record<string, unknown> = {};
      for (const id of ids ?? []) {
        const r = state.receipts.get(id);
        if (r) data[id] = r;
      }
      return json({ data });
    }
    if (url.pathname === "/__expo/unregister" && req.method === "POST") {
      const { token } = (await req.json()) as { token: string };
      state.unregistered.add(token);
      return json({ ok: true });
    }
    if (url.pathname === "/__expo/fail" && req.method === "POST") {
      state.failNext = (await req.json()) as { status: number; count: number };
      return json({ ok: true });
    }
    if (url.pathname === "/__expo/delivered") return json({ delivered: state.delivered, sendCalls: state.sendCalls });
    if (url.pathname === "/__expo/reset" && req.method === "POST") {
      state.delivered = [];
      state.receipts.clear();
      state.unregistered.clear();
      state.failNext = null;
      state.sendCalls = 0;
      return json({ ok: true });
    }
    return json({ errors: [{ code: "NOT_FOUND", message: "unknown path" }] }, 404);
  }
  return { handle, state };
}

async function toRequest(req: IncomingMessage, base: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = chunks.length ? Buffer.concat(chunks) : undefined;
  return new Request(new URL(req.url ?? "/", base), {
    method: req.method,
    headers: req.headers as Record<string, string>,
    body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
  });
}

async function writeResponse(res: ServerResponse, r: Response) {
  res.writeHead(r.status, Object.fromEntries(r.headers));
  res.end(Buffer.from(await r.arrayBuffer()));
}

export async function startExpoMock({ port = 0 }: { port?: number } = {}) {
  const { handle, state } = createExpoHandler();
  const server = createServer((req, res) => {
    toRequest(req, "http://127.0.0.1")
      .then(handle)
      .then((r) => writeResponse(res, r))
      .catch(() => {
        res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const m = await startExpoMock({ port: Number(process.env.EXPO_MOCK_PORT ?? 8791) });
  console.log(`expo push mock on ${m.url}`);
}
