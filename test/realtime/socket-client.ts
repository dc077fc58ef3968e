/**
 * A small Engine.IO v4 / Socket.IO v5 client for workerd tests, over SELF.fetch (polling) and
 * SELF.fetch + Upgrade (WebSocket), framed by the same official parsers the server and
 * socket.io-client use. It answers pings, records every event, and resolves acks, so a test reads
 * like the app: connect, join, wait for an event. (The real socket.io-client runs in test/e2e.)
 */
import { SELF } from "cloudflare:test";
import {
  decodeEngine,
  decodePollingPayload,
  type EnginePacket,
  encodeEngine,
  encodeEvent,
  encodeSocket,
  type SocketPacket,
  SocketPacketType,
  socketDecoder,
} from "../../src/realtime/protocol";

const BASE = "http://127.0.0.1/socket.io/";

export type Received = { event: string; payload: unknown };

export class TestSocket {
  sid = "";
  socketId = "";
  transport: "polling" | "websocket" = "polling";
  open: Record<string, unknown> = {};
  events: Received[] = [];
  connectError: unknown;
  closed = false;
  /** Raw engine packets seen (pings, noops), for protocol tests. */
  engine: EnginePacket[] = [];
  private ws: WebSocket | undefined;
  private ackId = 0;
  private acks = new Map<number, (v: unknown) => void>();
  private waiters: Array<() => void> = [];
  private decoder = socketDecoder((p) => this.onSocket(p));
  autoPong = true;

  /** Polling handshake, Socket.IO CONNECT (with `auth.token` when given), then optionally the WebSocket upgrade. */
  static async connect(opts: { token?: string; upgrade?: boolean } = {}): Promise<TestSocket> {
    const s = new TestSocket();
    await s.handshake();
    await s.post([
      {
        type: "message",
        data: encodeSocket({ type: SocketPacketType.CONNECT, nsp: "/", data: opts.token ? { token: opts.token } : undefined })[0],
      },
    ]);
    await s.pollOnce();
    if (!s.socketId && !s.connectError) throw new Error("no CONNECT answer");
    if (opts.upgrade !== false && !s.connectError) await s.upgrade();
    return s;
  }

  async handshake(): Promise<void> {
    const res = await SELF.fetch(`${BASE}?EIO=4&transport=polling`);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`handshake ${res.status} ${body}`);
    const [open] = decodePollingPayload(body);
    if (open?.type !== "open") throw new Error(`expected open packet, got ${body}`);
    this.open = JSON.parse(open.data as string);
    this.sid = this.open.sid as string;
  }

  async post(packets: EnginePacket[]): Promise<Response> {
    const body = packets.map((p) => encodeEngine(p)).join("\x1e");
    const res = await SELF.fetch(`${BASE}?EIO=4&transport=polling&sid=${this.sid}`, {
      method: "POST",
      body,
      headers: { "content-type": "text/plain" },
    });
    await res.text();
    return res;
  }

  /** One GET; resolves when the server answers (immediately when something is queued). */
  async pollOnce(): Promise<{ status: number; body: string }> {
    const res = await SELF.fetch(`${BASE}?EIO=4&transport=polling&sid=${this.sid}`);
    const body = await res.text();
    if (res.status === 200) for (const p of decodePollingPayload(body)) this.onEngine(p);
    return { status: res.status, body };
  }

  /** The probe, then (like engine.io-client's pause) `drained` — e.g. an in-flight POST — then `5`. */
  async upgrade(drained?: Promise<unknown>): Promise<void> {
    const res = await SELF.fetch(`${BASE}?EIO=4&transport=websocket&sid=${this.sid}`, { headers: { upgrade: "websocket" } });
    const ws = res.webSocket;
    if (!ws) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
    ws.accept();
    const probe = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no 3probe")), 3000);
      ws.addEventListener("message", function first(ev) {
        if (ev.data === "3probe") {
          clearTimeout(t);
          ws.removeEventListener("message", first);
          resolve();
        }
      });
    });
    ws.send("2probe");
    await probe;
    await drained;
    ws.send("5");
    this.ws = ws;
    this.transport = "websocket";
    ws.addEventListener("message", (ev) => this.onEngine(decodeEngine(ev.data as string | ArrayBuffer)));
    ws.addEventListener("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  private onEngine(p: EnginePacket): void {
    this.engine.push(p);
    if (p.type === "ping" && this.autoPong) this.sendEngine({ type: "pong" });
    else if (p.type === "message") this.decoder.add(p.data);
    else if (p.type === "close") this.closed = true;
    this.wake();
  }

  private onSocket(p: SocketPacket): void {
    if (p.type === SocketPacketType.CONNECT) this.socketId = (p.data as { sid: string }).sid;
    else if (p.type === SocketPacketType.CONNECT_ERROR) this.connectError = p.data;
    else if (p.type === SocketPacketType.EVENT) this.events.push({ event: p.data[0], payload: p.data[1] });
    else if (p.type === SocketPacketType.ACK && p.id !== undefined) this.acks.get(p.id)?.(p.data[0]);
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  sendEngine(p: EnginePacket): void {
    if (this.ws) this.ws.send(encodeEngine(p));
    else void this.post([p]);
  }

  emit(event: string, payload?: unknown): void {
    for (const data of encodeEvent(event, payload)) this.sendEngine({ type: "message", data });
  }

  // biome-ignore lint/suspicious/noExplicitAny: acks are arbitrary JSON
  async emitWithAck(event: string, payload?: unknown, timeoutMs = 5000): Promise<any> {
    const id = this.ackId++;
    const result = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ack for ${event}`)), timeoutMs);
      this.acks.set(id, (v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
    const packet = encodeEvent(event, payload, id);
    if (this.ws) for (const data of packet) this.ws.send(encodeEngine({ type: "message", data }));
    else {
      await this.post(packet.map((data) => ({ type: "message", data })));
      await this.pollOnce();
    }
    return result;
  }

  /** Waits for the next not-yet-consumed event of that name (consumes it). */
  // biome-ignore lint/suspicious/noExplicitAny: payloads are arbitrary JSON
  async waitFor(event: string, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.event === event);
      if (i >= 0) return this.events.splice(i, 1)[0]!.payload;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${event}; have ${this.events.map((e) => e.event).join(",") || "nothing"}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.closed) throw new Error("socket did not close");
  }

  /** Events of one name seen so far (not consumed). */
  seen(prefix: string): Received[] {
    return this.events.filter((e) => e.event.startsWith(prefix));
  }

  close(): void {
    try {
      this.ws?.send(encodeEngine({ type: "close" }));
      this.ws?.close(1000);
    } catch {}
    this.closed = true;
  }
}

/** Lets in-flight deliveries land before asserting that something did NOT arrive. */
export const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));
