/**
 * The user↔edge leg of the local latency model: a TCP proxy in front of the worker that delays every
 * chunk by `latencyMs` in each direction, in order. It works below HTTP, so keep-alive connections,
 * request bodies, streamed answers and WebSocket upgrades (socket.io) pass unchanged, and a request on
 * a warm connection costs exactly one round trip (2 × latencyMs) more than on loopback. TCP set-up and
 * TLS are not modelled. Local only: it dials the loopback target it is given, nothing else.
 *
 *   const proxy = await startLatencyProxy({ target: 8787, latencyMs: 5 });   // proxy.url → the worker, 10 ms RTT
 *   proxy.setLatencyMs(30); ... await proxy.close();
 *
 * CLI: node scripts/latency-proxy.ts <listen port> <worker port> <one-way ms>
 */
import net from "node:net";
import { fileURLToPath } from "node:url";
import { createDelayLine } from "./db/delay-line.mjs";

export type LatencyProxy = {
  port: number;
  url: string;
  readonly latencyMs: number;
  /** Applies to bytes sent from now on; bytes already in flight keep their delay (and their order). */
  setLatencyMs(ms: number): void;
  /** Client connections accepted so far (a benchmark on a warm connection expects 1). */
  readonly connections: number;
  close(): Promise<void>;
};

export type LatencyProxyOptions = {
  /** The worker's port on 127.0.0.1. */
  target: number;
  /** Port to listen on (127.0.0.1); 0 (default) picks a free one. */
  port?: number;
  /** One-way delay in each direction, ms. */
  latencyMs?: number;
};

function checkLatency(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`latency must be a number of milliseconds >= 0, not ${ms}`);
  return ms;
}

export async function startLatencyProxy(o: LatencyProxyOptions): Promise<LatencyProxy> {
  let latency = checkLatency(o.latencyMs ?? 0);
  const oneWay = () => latency;
  const sockets = new Set<net.Socket>();
  let connections = 0;

  // allowHalfOpen: a FIN from one side reaches the other side after the delay, like the bytes before it.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    connections++;
    const upstream = net.connect({ host: "127.0.0.1", port: o.target, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {}); // followed by 'close', which takes the other side down (after the delay)
    }
    pipeDelayed(client, upstream, createDelayLine(oneWay));
    pipeDelayed(upstream, client, createDelayLine(oneWay));
  });
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get latencyMs() {
      return latency;
    },
    setLatencyMs(ms) {
      latency = checkLatency(ms);
    },
    get connections() {
      return connections;
    },
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      return closed;
    },
  };
}

/** Bytes, end and reset of `from` reach `to` through `line` (in order, each after the delay). */
function pipeDelayed(from: net.Socket, to: net.Socket, line: ReturnType<typeof createDelayLine>) {
  from.on("data", (chunk: Buffer) =>
    line.push(() => {
      if (to.destroyed || !to.writable) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    }),
  );
  from.on("end", () => line.push(() => to.end()));
  from.on("close", (hadError: boolean) => {
    // A reset (or a failed connect to the worker) resets the other side too; a clean close was an 'end' above.
    if (hadError || !from.readableEnded) line.push(() => to.destroy());
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [listen, target, ms] = process.argv.slice(2).map(Number);
  if (!Number.isInteger(listen) || !Number.isInteger(target) || !Number.isFinite(ms)) {
    console.error("usage: node scripts/latency-proxy.ts <listen port> <worker port> <one-way ms>");
    process.exit(2);
  }
  const proxy = await startLatencyProxy({ port: listen, target: target!, latencyMs: ms! });
  console.log(`latency proxy on ${proxy.url} → 127.0.0.1:${target}, ${ms} ms each way`);
  const stop = () => proxy.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
