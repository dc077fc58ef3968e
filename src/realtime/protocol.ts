import { decodePacket, decodePayload, type Packet as EnginePacket, encodePacket } from "engine.io-parser";
import { Decoder, Encoder, PacketType, type Packet as SocketPacket } from "socket.io-parser";

/**
 * Engine.IO v4 / Socket.IO v5 wire helpers over the official parsers (engine.io-parser 5,
 * socket.io-parser 4), so framing is exactly what socket.io-client 4.8.1 speaks.
 *
 * Heartbeat: Engine.IO v4 servers ping and clients pong; the client closes the connection if no
 * ping arrives within pingInterval + pingTimeout, and it adopts whatever values the handshake
 * announces. We keep socket.io's defaults (25 s / 20 s): mobile NATs drop idle TCP flows after
 * 30 s-5 min, so a longer interval would trade DO wake-ups for dead sockets. Each session DO wakes
 * once per interval from its alarm (only while the session is open), sends `2`, and the `3` comes
 * back while it is still in memory; between pings the WebSocket hibernates.
 */
export const PING_INTERVAL_MS = 25_000;
export const PING_TIMEOUT_MS = 20_000;
/** Largest polling POST body / WebSocket message we accept (socket.io's maxHttpBufferSize default). */
export const MAX_PAYLOAD = 1_000_000;
export type { EnginePacket, SocketPacket };
export { PacketType as SocketPacketType };

/** Engine.IO handshake errors, in the server's format (`{code, message}` with HTTP 400). */
export const ENGINE_ERRORS = {
  UNKNOWN_TRANSPORT: { code: 0, message: "Transport unknown" },
  UNKNOWN_SID: { code: 1, message: "Session ID unknown" },
  BAD_HANDSHAKE_METHOD: { code: 2, message: "Bad handshake method" },
  BAD_REQUEST: { code: 3, message: "Bad request" },
  FORBIDDEN: { code: 4, message: "Forbidden" },
  UNSUPPORTED_PROTOCOL_VERSION: { code: 5, message: "Unsupported protocol version" },
  /** Ours (answered with HTTP 429): the client handles it like any refused handshake and retries later. */
  TOO_MANY_REQUESTS: { code: 3, message: "Too many connections from this address, retry later" },
} as const;

export function engineError(e: (typeof ENGINE_ERRORS)[keyof typeof ENGINE_ERRORS], status = 400): Response {
  return new Response(JSON.stringify(e), { status, headers: { "content-type": "application/json" } });
}

export function openPacket(sid: string, upgrades: string[]): string {
  return encodeEngine({
    type: "open",
    data: JSON.stringify({ sid, upgrades, pingInterval: PING_INTERVAL_MS, pingTimeout: PING_TIMEOUT_MS, maxPayload: MAX_PAYLOAD }),
  });
}

/** One Engine.IO packet as a WebSocket frame (strings) or raw binary (binary messages over WebSocket). */
export function encodeEngine(packet: EnginePacket): string {
  let out: string | undefined;
  encodePacket(packet, false, (encoded: string) => {
    out = encoded;
  });
  if (typeof out !== "string") throw new Error("engine packet did not encode synchronously");
  return out;
}

/**
 * Polling payloads: packets joined by the record separator (engine.io-parser's encodePayload).
 * Binary packets are stored pre-encoded as `b<base64>` (the parser's own polling form), because the
 * parser's browser build would reach for FileReader, which workerd lacks.
 */
export function encodePollingPayload(encoded: string[]): string {
  return encoded.join("\x1e");
}

export function decodePollingPayload(body: string): EnginePacket[] {
  return decodePayload(body, "arraybuffer");
}

export function decodeEngine(data: string | ArrayBuffer): EnginePacket {
  return decodePacket(data, "arraybuffer");
}

/** Binary Socket.IO attachments as a polling-safe engine message (`b` + base64). */
export function binaryForPolling(data: ArrayBuffer | Uint8Array): string {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return `b${btoa(s)}`;
}

const encoder = new Encoder();

/** A Socket.IO EVENT on the default namespace, as Engine.IO message payloads (strings or binary). */
export function encodeEvent(event: string, payload: unknown, ackId?: number): Array<string | ArrayBuffer> {
  return encoder.encode({ type: PacketType.EVENT, nsp: "/", data: payload === undefined ? [event] : [event, payload], id: ackId });
}

export function encodeSocket(packet: SocketPacket): Array<string | ArrayBuffer> {
  return encoder.encode(packet);
}

/**
 * Decodes Socket.IO packets from Engine.IO message data. The decoder keeps state only while a
 * binary event's attachments are arriving; callers hold one per session and may lose it on
 * hibernation (the apps never send binary).
 */
export function socketDecoder(onPacket: (p: SocketPacket) => void): Decoder {
  const d = new Decoder();
  d.on("decoded", onPacket);
  return d;
}
