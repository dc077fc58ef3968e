/**
 * The local stack the worker runs against, shared by `npm run dev`, the test global setup and the
 * benchmark: a real PostgreSQL (embedded 17, or DATABASE_URL), the Neon front door in front of it,
 * migrations, the seed, the Paytm sandbox and the Expo push mock. Nothing here ships to production.
 */
import { createDatabase, dropDatabase, startDatabase } from "./db/embedded.mjs";
import { startFrontDoor } from "./db/front-door.mjs";
import { migrate } from "./db/migrate.mjs";
import { seed } from "./db/seed.mjs";
import { startExpoMock } from "./mocks/expo.ts";
import { startPaytmSandbox } from "./paytm/server.ts";

export type StackOptions = {
  /** Keep the embedded cluster's data between runs (dev), or use a throwaway one (tests, bench). */
  persistent: boolean;
  dataDir?: string;
  pgPort?: number;
  frontDoorPort?: number;
  /**
   * Latency model: one-way delay (ms) the Neon front door adds in each direction, so a round trip to the
   * database costs twice this (30 models a 60 ms RTT to Neon). 0 (default) for tests and plain dev.
   */
  dbLatencyMs?: number;
  paytmPort?: number;
  expoPort?: number;
  /** Database name; with `fresh`, it is created new (and dropped on stop). */
  database: string;
  fresh: boolean;
  demo: boolean;
  paytm: { mid: string; key: string; webhookUrl?: string; refundWebhookUrl?: string };
  log?: (msg: string) => void;
  /** Told each child process as soon as it runs (the embedded postmaster), for a watchdog. */
  onProcess?: (p: { name: string; pid: number }) => void;
};

export type Stack = {
  databaseUrl: string;
  neonLocalProxy: string;
  paytmUrl: string;
  expoPushUrl: string;
  paytm: Awaited<ReturnType<typeof startPaytmSandbox>>;
  expo: Awaited<ReturnType<typeof startExpoMock>>;
  /** Changes the front door's one-way delay for what is sent from now on (the bench switches models). */
  setDbLatencyMs(ms: number): void;
  stop(): Promise<void>;
};

export async function startStack(o: StackOptions): Promise<Stack> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const pg = await startDatabase({ dataDir: o.dataDir, port: o.pgPort, persistent: o.persistent });
  if (pg.pid) o.onProcess?.({ name: "postgres", pid: pg.pid });
  log(`postgres ready on ${pg.host}:${pg.port} (${Date.now() - t0} ms)`);
  // What has started so far, stopped in reverse if a later step fails: a half-started stack must not
  // keep ports and a data directory busy for the next attempt.
  const started: (() => Promise<unknown>)[] = [async () => pg.stop?.()];
  try {
    if (o.fresh) await dropDatabase(pg.adminUrl, o.database).catch(() => {});
    await createDatabase(pg.adminUrl, o.database).catch((err: { code?: string }) => {
      if (err?.code !== "42P04") throw err; // already exists: a persistent dev database
    });
    const url = new URL(pg.adminUrl);
    url.pathname = `/${o.database}`;
    const databaseUrl = url.toString();
    if (o.fresh && !o.persistent) started.push(() => dropDatabase(pg.adminUrl, o.database).catch(() => {}));
    await migrate(databaseUrl);
    await seed(databaseUrl, { demo: o.demo });
    log(`database ${o.database} migrated and seeded${o.demo ? " with demo data" : ""}`);
    const door = await startFrontDoor({ port: o.frontDoorPort ?? 0, latencyMs: o.dbLatencyMs ?? 0 });
    if (door.latencyMs > 0) log(`front door adds ${door.latencyMs} ms each way (database round trip +${2 * door.latencyMs} ms)`);
    started.push(() => door.close());
    const paytm = await startPaytmSandbox({
      port: o.paytmPort ?? 0,
      merchants: { [o.paytm.mid]: o.paytm.key },
      webhookUrl: o.paytm.webhookUrl,
      refundWebhookUrl: o.paytm.refundWebhookUrl,
    });
    started.push(() => paytm.close());
    const expo = await startExpoMock({ port: o.expoPort ?? 0 });
    started.push(() => expo.close());
    return {
      databaseUrl,
      neonLocalProxy: `127.0.0.1:${door.port}`,
      paytmUrl: paytm.url,
      expoPushUrl: `${expo.url}/--/api/v2/push/send`,
      paytm,
      expo,
      setDbLatencyMs: (ms) => door.setLatencyMs(ms),
      async stop() {
        await Promise.allSettled([paytm.close(), expo.close(), door.close()]);
        if (o.fresh && !o.persistent) await dropDatabase(pg.adminUrl, o.database).catch(() => {});
        await pg.stop?.();
      },
    };
  } catch (err) {
    for (const stop of started.reverse()) await stop().catch(() => {});
    throw err;
  }
}
