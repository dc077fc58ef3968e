/**
 * The local latency model: the Neon front door's one-way delay (scripts/db/front-door.mjs) really
 * delays both of its protocols, and the user↔edge proxy (scripts/latency-proxy.ts) forwards HTTP,
 * keep-alive and WebSocket upgrades with its delay. Times are only ever asserted as lower bounds (a
 * delay cannot make anything faster), so a slow machine cannot fail these.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Client, neonConfig } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { startDatabase } from "../../scripts/db/embedded.mjs";
import { startFrontDoor } from "../../scripts/db/front-door.mjs";
import { type LatencyProxy, startLatencyProxy } from "../../scripts/latency-proxy.ts";

const D = 50;

describe("the Neon front door's latency model", () => {
  let pg: Awaited<ReturnType<typeof startDatabase>>;
  let door: Awaited<ReturnType<typeof startFrontDoor>>;

  beforeAll(async () => {
    pg = await startDatabase();
    door = await startFrontDoor({ port: 0, latencyMs: D });
  });
  afterAll(async () => {
    await door?.close();
    await pg?.stop();
  });

  it(`SQL over HTTP: a query costs at least one round trip (2 × ${D} ms) and still answers`, async () => {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${door.port}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": pg.adminUrl, "content-type": "application/json" },
      body: JSON.stringify({ query: "select $1::int + 1 as two", params: [1] }),
    });
    const body = (await res.json()) as { rows: unknown[] };
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(200);
    expect(body.rows).toEqual([{ two: 2 }]);
    expect(elapsed).toBeGreaterThanOrEqual(2 * D);
  });

  it("SQL over HTTP: errors travel back with the same delay, in Neon's shape", async () => {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${door.port}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": pg.adminUrl, "content-type": "application/json" },
      body: JSON.stringify({ query: "select * from no_such_table" }),
    });
    const body = (await res.json()) as { code: string };
    expect(res.status).toBe(400);
    expect(body.code).toBe("42P01");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * D);
  });

  // The driver pipelines its start-up (pipelineConnect: "password") behind the upgrade, as it does on Neon: the
  // handshake is the upgrade's round trip, and the start-up rides with the first query.
  it("WebSocket: the upgrade costs at least one round trip, and so does each query", async () => {
    neonConfig.webSocketConstructor = WebSocket;
    neonConfig.wsProxy = (host, port) => `127.0.0.1:${door.port}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = "password";
    const client = new Client({ connectionString: pg.adminUrl });
    client.on("error", () => {});
    try {
      const t0 = performance.now();
      await client.connect();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * D);
      for (const n of [1, 2]) {
        const t1 = performance.now();
        const { rows } = await client.query("select $1::int as n", [n]);
        expect(performance.now() - t1).toBeGreaterThanOrEqual(2 * D);
        expect(rows).toEqual([{ n }]);
      }
      // An interactive transaction keeps working through the delayed bridge, in order.
      await client.query("begin");
      await client.query("create temp table t (v int) on commit drop");
      await client.query("insert into t values (1), (2)");
      expect((await client.query("select sum(v)::int as s from t")).rows).toEqual([{ s: 3 }]);
      await client.query("commit");
    } finally {
      await client.end().catch(() => {});
    }
  });

  it("the stall fault still holds marked traffic, on both protocols, with the delay on", async () => {
    const marker = `latency-stall-${Date.now()}`;
    const control = `http://127.0.0.1:${door.port}/__faults/stall`;
    const held = async () => ((await (await fetch(control)).json()) as { held: Record<string, number> }).held[marker] ?? 0;
    expect((await fetch(control, { method: "POST", body: JSON.stringify({ marker }) })).status).toBe(201);
    const overHttp = fetch(`http://127.0.0.1:${door.port}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": pg.adminUrl, "content-type": "application/json" },
      body: JSON.stringify({ query: "select $1::text as m", params: [marker] }),
    }).then(
      (r) => r.status,
      () => "cut",
    );
    const client = new Client({ connectionString: pg.adminUrl });
    client.on("error", () => {});
    await client.connect();
    const overWebSocket = client.query("select $1::text as m", [marker]).then(
      () => "answered",
      () => "cut",
    );
    await vi.waitFor(async () => expect(await held()).toBe(2), { timeout: 10_000, interval: 50 });
    await fetch(`${control}/${encodeURIComponent(marker)}`, { method: "DELETE" });
    expect(await overHttp).toBe("cut");
    expect(await overWebSocket).toBe("cut");
    void client.end().catch(() => {}); // after a cut the driver's end() never settles (with or without the delay)
  });

  it("can be switched off at run time (the bench switches models)", async () => {
    door.setLatencyMs(0);
    try {
      const res = await fetch(`http://127.0.0.1:${door.port}/sql`, {
        method: "POST",
        headers: { "Neon-Connection-String": pg.adminUrl, "content-type": "application/json" },
        body: JSON.stringify({ query: "select 1 as one" }),
      });
      expect(res.status).toBe(200);
      expect(door.latencyMs).toBe(0);
    } finally {
      door.setLatencyMs(D);
    }
  });
});

describe("the user↔edge latency proxy", () => {
  let upstream: http.Server;
  let wss: WebSocketServer;
  let proxy: LatencyProxy;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ method: req.method, path: req.url, body: Buffer.concat(chunks).toString() }));
      });
    });
    wss = new WebSocketServer({ server: upstream });
    wss.on("connection", (ws) => ws.on("message", (data, binary) => ws.send(data, { binary })));
    upstream.listen(0, "127.0.0.1");
    await once(upstream, "listening");
    proxy = await startLatencyProxy({ target: (upstream.address() as AddressInfo).port, latencyMs: D / 2 });
  });
  afterAll(async () => {
    await proxy?.close();
    wss?.close();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it("forwards requests and bodies, on one keep-alive connection, each costing at least one round trip", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const request = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; json: Record<string, string> }>((resolve, reject) => {
        const r = http.request(`${proxy.url}${path}`, { method, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString()) }));
        });
        r.on("error", reject);
        r.end(body);
      });
    try {
      const before = proxy.connections;
      for (const [method, path, body] of [
        ["GET", "/api/public/services", ""],
        ["POST", "/api/bookings", '{"a":1}'],
        ["GET", "/health", ""],
      ] as const) {
        const t0 = performance.now();
        const r = await request(method, path, body || undefined);
        expect(performance.now() - t0).toBeGreaterThanOrEqual(D);
        expect(r).toEqual({ status: 200, json: { method, path, body } });
      }
      expect(proxy.connections - before).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("forwards a WebSocket upgrade (socket.io's transport) both ways, with the delay", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/socket.io/?EIO=4&transport=websocket`);
    try {
      await once(ws, "open");
      const t0 = performance.now();
      ws.send("2probe");
      const [data] = (await once(ws, "message")) as [Buffer];
      expect(String(data)).toBe("2probe");
      expect(performance.now() - t0).toBeGreaterThanOrEqual(D);
    } finally {
      ws.close();
    }
  });
});
