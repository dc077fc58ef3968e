import { DurableObject } from "cloudflare:workers";
import type { Role } from "../db/schema";
import { AppError } from "../http/errors";
import { migrateStorage } from "../lib/do-storage";
import { createLogger } from "../lib/log";
import { identifySocket, isUuid, sessionIsLive } from "./identity";
import type { Delivery } from "./policy";
import {
  binaryForPolling,
  decodeEngine,
  decodePollingPayload,
  ENGINE_ERRORS,
  type EnginePacket,
  encodeEngine,
  encodeEvent,
  encodePollingPayload,
  encodeSocket,
  engineError,
  MAX_PAYLOAD,
  openPacket,
  PING_INTERVAL_MS,
  PING_TIMEOUT_MS,
  type SocketPacket,
  SocketPacketType,
  socketDecoder,
} from "./protocol";

/**
 * Owns one Engine.IO session (sid = this object's id): its transport (HTTP long-polling, then a
 * hibernatable WebSocket after the upgrade probe), its heartbeat, and the one Socket.IO socket on
 * the default namespace riding on it (identity, join, call:* forwarding).
 *
 * Everything that must outlive hibernation is in SQLite (`session` row, `outq` polling queue) or in
 * the WebSocket attachment; the constructor only creates tables. Closing a session deletes its
 * storage, so one object per connection never accumulates data.
 */

type Session = {
  transport: "polling" | "websocket";
  /** A WebSocket probe succeeded (`2probe`/`3probe`) and the client is pausing polling. */
  upgrading: boolean;
  createdAt: number;
  lastPingAt: number;
  awaitingPong: boolean;
  /** Socket.IO CONNECT on "/" done. */
  connected: boolean;
  socketId?: string;
  /** Bound by a valid token in CONNECT auth: the only identity that may place or receive calls. */
  userId?: string;
  role?: Role;
  /** The auth session behind that token (revoking it closes this socket) and the token's `exp` in seconds. */
  sessionId?: string;
  tokenExpiresAt?: number;
  /** Compatibility `join(userId)` of a socket without a token: triggers only. */
  joinedUserId?: string;
};

type Attachment = { role: "probe" | "transport" };

export type CallCommand =
  | "call:initiate"
  | "call:accept"
  | "call:reject"
  | "call:offer"
  | "call:answer"
  | "call:ice-candidate"
  | "call:end";
const CALL_COMMANDS = new Set<string>([
  "call:initiate",
  "call:accept",
  "call:reject",
  "call:offer",
  "call:answer",
  "call:ice-candidate",
  "call:end",
]);
/** Commands that start something re-check the session every time; the rest at most this often. */
const SESSION_RECHECK_MS = 5_000;
const ALWAYS_RECHECK = new Set<string>(["call:initiate", "call:accept"]);
/** Events upstream listened for that the apps never send; accepted and ignored. */
const IGNORED_EVENTS = new Set(["call:connection-state", "call:error", "call:quality", "error"]);

const log = createLogger("info", { component: "realtime-session" });

const ANONYMOUS = { userId: undefined, role: undefined, sessionId: undefined, tokenExpiresAt: undefined, joinedUserId: undefined };

export type Ack = { status: "success" } | { status: "error"; message: string; errorCode: string };

export class RealtimeSession extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private cached: Session | null | undefined;
  private pendingPoll: ((r: Response) => void) | undefined;
  private decoder = socketDecoder((p) => this.queueSocketPacket(p));
  private decodedQueue: SocketPacket[] = [];
  /** When the auth session was last found live (memory only: after hibernation the next command checks). */
  private sessionCheckedAt = 0;
  /** Changes on every constructor run, i.e. after each hibernation or eviction (dev diagnostics). */
  private readonly bootId = crypto.randomUUID();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateStorage(ctx.storage, [
      "CREATE TABLE IF NOT EXISTS session (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);" +
        "CREATE TABLE IF NOT EXISTS outq (seq INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);",
    ]);
  }

  private get sid(): string {
    return this.ctx.id.toString();
  }

  // ---- state ---------------------------------------------------------------------------------

  private load(): Session | null {
    if (this.cached !== undefined) return this.cached;
    let row: { json: string } | undefined;
    try {
      row = this.sql.exec<{ json: string }>("SELECT json FROM session WHERE id = 1").toArray()[0];
    } catch {
      row = undefined; // tables dropped by close(): the session is gone
    }
    this.cached = row ? (JSON.parse(row.json) as Session) : null;
    return this.cached;
  }

  private save(s: Session): void {
    this.cached = s;
    this.sql.exec("INSERT INTO session (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json", JSON.stringify(s));
  }

  /**
   * Merges fields into the *current* state. Handlers await the database and other objects, and the
   * upgrade can complete meanwhile; writing back a copy taken before the await would undo it.
   */
  private patch(fields: Partial<Session>): Session | null {
    const cur = this.load();
    if (!cur) return null;
    const next = { ...cur, ...fields };
    this.save(next);
    return next;
  }

  private transportSocket(): WebSocket | undefined {
    return this.ctx.getWebSockets().find((ws) => (ws.deserializeAttachment() as Attachment | null)?.role === "transport");
  }

  // ---- HTTP: handshake, long-polling, WebSocket upgrade -----------------------------------------

  override async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const transport = url.searchParams.get("transport");
    const isUpgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
    const s = this.load();

    if (!url.searchParams.has("sid")) {
      if (s) return engineError(ENGINE_ERRORS.BAD_REQUEST);
      if (transport === "websocket") {
        if (!isUpgrade) return engineError(ENGINE_ERRORS.BAD_REQUEST);
        this.start("websocket");
        const ws = this.accept("transport");
        ws.send(openPacket(this.sid, []));
        return ws.response;
      }
      if (req.method !== "GET") return engineError(ENGINE_ERRORS.BAD_HANDSHAKE_METHOD);
      this.start("polling");
      return text(openPacket(this.sid, ["websocket"]));
    }

    if (!s) return engineError(ENGINE_ERRORS.UNKNOWN_SID);
    if (transport === "websocket") {
      if (!isUpgrade || s.transport !== "polling") return engineError(ENGINE_ERRORS.BAD_REQUEST);
      return this.accept("probe").response;
    }
    if (s.transport !== "polling") return engineError(ENGINE_ERRORS.BAD_REQUEST);
    if (req.method === "GET") return this.poll(s);
    if (req.method === "POST") return this.post(req);
    return engineError(ENGINE_ERRORS.BAD_REQUEST);
  }

  private start(transport: Session["transport"]): void {
    const now = Date.now();
    this.save({ transport, upgrading: false, createdAt: now, lastPingAt: now, awaitingPong: false, connected: false });
    // The heartbeat alarm exists exactly while the session is open.
    void this.ctx.storage.setAlarm(now + PING_INTERVAL_MS);
  }

  private accept(role: Attachment["role"]): { response: Response } & WebSocket {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ role } satisfies Attachment);
    return Object.assign(server, { response: new Response(null, { status: 101, webSocket: client }) });
  }

  private async poll(s: Session): Promise<Response> {
    // A second GET while one is held: answer the old one empty (its client gave up on it) and hold the new one.
    this.pendingPoll?.(text(encodeEngine({ type: "noop" })));
    this.pendingPoll = undefined;
    const queued = this.drain();
    if (queued.length) return text(encodePollingPayload(queued));
    // Lets the client finish pausing polling while it upgrades (engine.io's noop during upgrade).
    if (s.upgrading) return text(encodeEngine({ type: "noop" }));
    // Held until a packet is queued; the heartbeat alarm queues a ping within PING_INTERVAL_MS.
    return new Promise<Response>((resolve) => {
      this.pendingPoll = resolve;
    });
  }

  private async post(req: Request): Promise<Response> {
    const length = Number(req.headers.get("content-length") ?? 0);
    if (length > MAX_PAYLOAD) {
      await this.close("payload too large");
      return engineError(ENGINE_ERRORS.BAD_REQUEST, 413);
    }
    const body = await req.text();
    if (body.length > MAX_PAYLOAD) {
      await this.close("payload too large");
      return engineError(ENGINE_ERRORS.BAD_REQUEST, 413);
    }
    for (const p of decodePollingPayload(body)) {
      if (!this.load()) break;
      await this.onEnginePacket(p);
    }
    return new Response("ok", { headers: { "content-type": "text/html" } });
  }

  private drain(): string[] {
    const rows = this.sql.exec<{ seq: number; data: string }>("SELECT seq, data FROM outq ORDER BY seq").toArray();
    if (rows.length) this.sql.exec("DELETE FROM outq WHERE seq <= ?", rows[rows.length - 1]!.seq);
    return rows.map((r) => r.data);
  }

  private flushPoll(): void {
    if (!this.pendingPoll) return;
    const queued = this.drain();
    if (!queued.length) return;
    const resolve = this.pendingPoll;
    this.pendingPoll = undefined;
    resolve(text(encodePollingPayload(queued)));
  }

  /** Sends one Engine.IO packet on whichever transport is current (queued for the next poll on polling). */
  private sendEngine(packet: EnginePacket): void {
    const s = this.load();
    if (!s) return;
    const binary = packet.data instanceof ArrayBuffer || ArrayBuffer.isView(packet.data);
    if (s.transport === "websocket") {
      const ws = this.transportSocket();
      if (!ws) return;
      try {
        ws.send(binary ? (packet.data as ArrayBuffer) : encodeEngine(packet));
      } catch {
        // Socket already closing; webSocketClose ends the session.
      }
      return;
    }
    const encoded = binary ? binaryForPolling(packet.data as ArrayBuffer) : encodeEngine(packet);
    this.sql.exec("INSERT INTO outq (data) VALUES (?)", encoded);
    this.flushPoll();
  }

  private sendSocket(packet: SocketPacket): void {
    for (const data of encodeSocket(packet)) this.sendEngine({ type: "message", data });
  }

  private emitEvent(event: string, payload: unknown): void {
    for (const data of encodeEvent(event, payload)) this.sendEngine({ type: "message", data });
  }

  // ---- WebSocket (hibernatable) -----------------------------------------------------------------

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const s = this.load();
    if (!s) {
      ws.close(1000, "session closed");
      return;
    }
    const size = typeof message === "string" ? message.length : message.byteLength;
    if (size > MAX_PAYLOAD) {
      await this.close("payload too large");
      return;
    }
    const packet = decodeEngine(message);
    const role = (ws.deserializeAttachment() as Attachment | null)?.role;
    if (role === "probe") {
      if (packet.type === "ping" && packet.data === "probe") {
        ws.send(encodeEngine({ type: "pong", data: "probe" }));
        this.save({ ...s, upgrading: true });
        // Release a held GET so the client can pause polling (engine.io sends a noop for this).
        const resolve = this.pendingPoll;
        this.pendingPoll = undefined;
        if (resolve) {
          const queued = this.drain();
          resolve(text(queued.length ? encodePollingPayload(queued) : encodeEngine({ type: "noop" })));
        }
      } else if (packet.type === "upgrade" && s.upgrading) {
        for (const other of this.ctx.getWebSockets())
          if (other !== ws && other.readyState === WebSocket.OPEN) other.close(1000, "replaced");
        ws.serializeAttachment({ role: "transport" } satisfies Attachment);
        this.save({ ...s, transport: "websocket", upgrading: false });
        const queued = this.drain();
        for (const q of queued) ws.send(q.startsWith("b") ? base64ToBytes(q.slice(1)) : q);
        const resolve = this.pendingPoll;
        this.pendingPoll = undefined;
        resolve?.(text(encodeEngine({ type: "noop" })));
      }
      return;
    }
    await this.onEnginePacket(packet);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const role = (ws.deserializeAttachment() as Attachment | null)?.role;
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {}
    const s = this.load();
    if (!s) return;
    if (role === "transport") await this.close("transport close");
    else if (s.upgrading) this.save({ ...s, upgrading: false }); // failed probe: keep polling
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    const role = (ws.deserializeAttachment() as Attachment | null)?.role;
    if (role === "transport") await this.close("transport error");
  }

  // ---- heartbeat ----------------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    const s = this.load();
    if (!s) return;
    const now = Date.now();
    // A pong moves the alarm to the next ping, so an alarm while awaiting one is the pong deadline.
    // Alarms can fire more than once: only a deadline that really passed closes.
    if (s.awaitingPong) {
      if (now - s.lastPingAt >= PING_TIMEOUT_MS - 1000) {
        await this.close("ping timeout");
        return;
      }
      await this.ctx.storage.setAlarm(s.lastPingAt + PING_TIMEOUT_MS);
      return;
    }
    this.save({ ...s, lastPingAt: now, awaitingPong: true });
    this.sendEngine({ type: "ping" });
    await this.ctx.storage.setAlarm(now + PING_TIMEOUT_MS);
  }

  // ---- Engine.IO and Socket.IO packets ------------------------------------------------------------

  private async onEnginePacket(packet: EnginePacket): Promise<void> {
    const s = this.load();
    if (!s) return;
    switch (packet.type) {
      case "pong":
        if (s.awaitingPong) {
          this.patch({ awaitingPong: false });
          await this.ctx.storage.setAlarm(s.lastPingAt + PING_INTERVAL_MS);
        }
        return;
      case "close":
        await this.close("client close");
        return;
      case "message": {
        try {
          this.decoder.add(packet.data);
        } catch {
          await this.close("parse error");
          return;
        }
        const decoded = this.decodedQueue.splice(0);
        for (const p of decoded) await this.onSocketPacket(p);
        return;
      }
      default:
        return;
    }
  }

  private queueSocketPacket(p: SocketPacket): void {
    this.decodedQueue.push(p);
  }

  private async onSocketPacket(p: SocketPacket): Promise<void> {
    const s = this.load();
    if (!s) return;
    switch (p.type) {
      case SocketPacketType.CONNECT:
        await this.onConnect(s, p);
        return;
      case SocketPacketType.DISCONNECT:
        if (p.nsp === "/") {
          await this.leaveHubs(s);
          this.patch({ ...ANONYMOUS, connected: false, socketId: undefined });
        }
        return;
      case SocketPacketType.EVENT:
      case SocketPacketType.BINARY_EVENT:
        if (p.nsp !== "/" || !s.connected || !Array.isArray(p.data) || typeof p.data[0] !== "string") return;
        await this.onEvent(s, p.data[0], p.data.slice(1), p.id);
        return;
      default:
        return; // ACKs from the client: the server never asks for one.
    }
  }

  private async onConnect(s: Session, p: SocketPacket): Promise<void> {
    if (p.nsp !== "/") {
      this.sendSocket({ type: SocketPacketType.CONNECT_ERROR, nsp: p.nsp, data: { message: "Invalid namespace" } });
      return;
    }
    const token = (p.data as { token?: unknown } | undefined)?.token;
    if (s.connected) await this.leaveHubs(s);
    let identity: Pick<Session, "userId" | "role" | "sessionId" | "tokenExpiresAt"> = ANONYMOUS;
    this.sessionCheckedAt = 0;
    if (typeof token === "string" && token.length > 0) {
      try {
        const who = await identifySocket(this.env, token);
        identity = { userId: who.userId, role: who.role, sessionId: who.sessionId, tokenExpiresAt: who.tokenExpiresAt };
        // False: the session was revoked between the check and now.
        if (!(await this.hub(who.userId).register(who.userId, this.sid, true, who.sessionId))) {
          throw new AppError("INVALID_TOKEN", "Session is no longer valid");
        }
      } catch (err) {
        const code = err instanceof AppError ? err.code : "INVALID_TOKEN";
        this.patch({ ...ANONYMOUS, connected: false });
        // socket.io-client surfaces this as connect_error with err.message and err.data.
        this.sendSocket({
          type: SocketPacketType.CONNECT_ERROR,
          nsp: "/",
          data: { message: "Authentication failed", data: { errorCode: code } },
        });
        if (!(err instanceof AppError)) log.warn("socket identify failed", { error: String(err) });
        return;
      }
    }
    const socketId = crypto.randomUUID().replace(/-/g, "").slice(0, 20);
    if (!this.patch({ ...identity, joinedUserId: undefined, connected: true, socketId })) return;
    this.sendSocket({ type: SocketPacketType.CONNECT, nsp: "/", data: { sid: socketId } });
  }

  private async onEvent(s: Session, name: string, args: unknown[], ackId: number | undefined): Promise<void> {
    const ack = (payload: unknown) => {
      if (ackId === undefined) return;
      this.sendSocket({ type: SocketPacketType.ACK, nsp: "/", id: ackId, data: [payload] });
    };
    if (name === "join") {
      const userId = args[0];
      if (!isUuid(userId)) return ack({ status: "error", message: "Invalid userId" });
      if (s.userId) {
        // An identified socket may only be in its own user's room.
        if (userId.toLowerCase() !== s.userId.toLowerCase())
          return ack({ status: "error", message: "Cannot join another user", errorCode: "FORBIDDEN" });
        return ack({ status: "success", userId: s.userId });
      }
      const normalised = userId.toLowerCase();
      if (s.joinedUserId && s.joinedUserId !== normalised) await this.hub(s.joinedUserId).unregister(this.sid);
      await this.hub(normalised).register(normalised, this.sid, false);
      this.patch({ joinedUserId: normalised });
      return ack({ status: "success", userId: normalised });
    }
    if (CALL_COMMANDS.has(name)) {
      const verdict = s.userId ? await this.sessionState(s, name) : "live";
      if (verdict === "revoked") {
        // Revoked since connect and its close has not arrived (yet): nothing call:* for it, and it goes.
        ack({ status: "error", message: "Session is no longer valid", errorCode: "WEBRTC_NOT_AUTHENTICATED" });
        await this.close("session revoked");
        return;
      }
      // Starting or answering a call needs a verdict; signalling of a call in progress rides out a blip.
      if (verdict === "unknown" && ALWAYS_RECHECK.has(name))
        return ack({ status: "error", message: "Call service error", errorCode: "WEBRTC_ERROR" });
      const result = await this.onCall(s, name as CallCommand, args[0]);
      ack(result);
      return;
    }
    if (IGNORED_EVENTS.has(name)) return ack({ status: "success" });
  }

  /**
   * Revocation normally closes this socket through the user's hub; this covers a delayed or lost
   * close. "unknown": the database could not say (it is down, and the command would fail there too).
   */
  private async sessionState(s: Session, command: string): Promise<"live" | "revoked" | "unknown"> {
    if (!s.userId || !s.sessionId || s.tokenExpiresAt === undefined) return "revoked";
    if (!ALWAYS_RECHECK.has(command) && Date.now() - this.sessionCheckedAt < SESSION_RECHECK_MS) return "live";
    try {
      const live = await sessionIsLive(this.env, { userId: s.userId, sessionId: s.sessionId, tokenExpiresAt: s.tokenExpiresAt });
      if (live) this.sessionCheckedAt = Date.now();
      return live ? "live" : "revoked";
    } catch (err) {
      log.warn("session re-check failed", { error: err instanceof Error ? err.message : String(err) });
      return "unknown";
    }
  }

  private async onCall(s: Session, command: CallCommand, data: unknown): Promise<Ack> {
    if (!s.userId) {
      // No call:* event ever reaches an unauthenticated socket, not even call:error.
      return { status: "error", message: "Authentication required for calls", errorCode: "WEBRTC_NOT_AUTHENTICATED" };
    }
    const bookingId = (data as { bookingId?: unknown } | undefined)?.bookingId;
    let result: Ack;
    if (!isUuid(bookingId)) {
      result = { status: "error", message: "bookingId is required", errorCode: "WEBRTC_INVALID_PAYLOAD" };
    } else {
      try {
        const room = this.env.CALL_ROOM.get(this.env.CALL_ROOM.idFromName(bookingId.toLowerCase()));
        result = await room.command({
          command,
          userId: s.userId,
          bookingId: bookingId.toLowerCase(),
          data: data as Record<string, unknown>,
        });
      } catch (err) {
        log.error("call command failed", { command, error: err instanceof Error ? err.message : String(err) });
        result = { status: "error", message: "Call service error", errorCode: "WEBRTC_ERROR" };
      }
    }
    // Upstream also told the initiating socket through call:error; the apps toast it (docs/api-contract.md §4.3).
    if (result.status === "error" && (command === "call:initiate" || command === "call:accept" || command === "call:reject")) {
      this.emitEvent("call:error", { bookingId, message: result.message, errorCode: result.errorCode });
    }
    return result;
  }

  // ---- fan-out ------------------------------------------------------------------------------------

  private hub(userId: string) {
    return this.env.USER_HUB.get(this.env.USER_HUB.idFromName(userId));
  }

  private async leaveHubs(s: Session): Promise<void> {
    const users = new Set([s.userId, s.joinedUserId].filter((u): u is string => !!u));
    await Promise.all(
      [...users].map((u) =>
        this.hub(u)
          .unregister(this.sid)
          .catch(() => undefined),
      ),
    );
  }

  /** Called by the user's hub. False tells the hub to forget this session. */
  async deliver(events: Delivery[]): Promise<boolean> {
    const s = this.load();
    if (!s?.connected) return false;
    for (const e of events) this.emitEvent(e.event, e.payload);
    return true;
  }

  /** Server-initiated close (tests, admin removal): like a transport drop, the client reconnects. */
  async terminate(): Promise<void> {
    await this.close("server terminate");
  }

  /** Development diagnostics: which instance is running and what it holds. */
  async diagnostics(): Promise<{ bootId: string; session: Session | null; webSockets: number }> {
    return { bootId: this.bootId, session: this.load(), webSockets: this.ctx.getWebSockets().length };
  }

  private async close(reason: string): Promise<void> {
    const s = this.load();
    if (!s) return;
    // Forget the session first so interleaved events see it gone.
    this.cached = null;
    const resolve = this.pendingPoll;
    this.pendingPoll = undefined;
    resolve?.(text(encodeEngine({ type: "close" })));
    for (const ws of this.ctx.getWebSockets()) {
      try {
        // The close packet first: the client acts on it at once, whereas a bare close frame can wait
        // for the client library's TCP close timeout (30 s in Node's ws).
        if ((ws.deserializeAttachment() as Attachment | null)?.role === "transport") ws.send(encodeEngine({ type: "close" }));
        ws.close(1000, reason.slice(0, 100));
      } catch {}
    }
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.cached = null;
    await this.leaveHubs(s);
  }
}

function text(body: string): Response {
  return new Response(body, { headers: { "content-type": "text/plain; charset=UTF-8", "cache-control": "no-store" } });
}

function base64ToBytes(b64: string): ArrayBuffer {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}
