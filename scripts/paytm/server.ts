// Local Paytm sandbox on node:http (loopback only). The protocol logic lives in sandbox.ts; this
// file only bridges node:http <-> fetch Request/Response and runs the ticker that settles async
// refunds/pending payments and delivers webhooks.
//
//   npm run paytm:sandbox -- [--port 8790] [--merchant MID=KEY[:WEBSITE]]...
//        [--webhook-url URL] [--refund-webhook-url URL] [--refund-delay-ms N]
//
// Tests: `const sb = await startPaytmSandbox({ merchants: { [MID]: KEY } })` then `sb.url`.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import type {
  FaultSpec,
  OutcomePreset,
  PaymentOutcome,
  PaytmSandbox,
  PaytmSandboxOptions,
  RefundPreset,
  SandboxBehaviour,
  SandboxStats,
  SandboxWebhook,
} from "./sandbox.ts";
import { registerTsExtensionResolution } from "./ts-resolve.ts";

registerTsExtensionResolution();
const { createPaytmSandbox } = await import("./sandbox.ts");

export const DEFAULT_SANDBOX_PORT = 8790;
/** Made-up credentials for local runs; never a real Paytm key. */
export const SANDBOX_TEST_MERCHANT = { mid: "BXSANDBOX00000000001", key: "Sbx&Key#2024@Ptm", website: "WEBSTAGING" } as const;

export interface StartPaytmSandboxOptions extends Omit<PaytmSandboxOptions, "now"> {
  /** 0 (default) picks a free port. */
  port?: number;
  /** How often due refunds/pending payments settle and webhooks go out. Default 25 ms. */
  tickMs?: number;
}

export interface StartedPaytmSandbox {
  url: string;
  port: number;
  sandbox: PaytmSandbox;
  close(): Promise<void>;
  stats(): SandboxStats;
  reset(): void;
  pendingWebhooks(): SandboxWebhook[];
  takePendingWebhooks(): SandboxWebhook[];
  deliveredWebhooks(): SandboxWebhook[];
  setBehaviour(patch: Partial<SandboxBehaviour>): SandboxBehaviour;
  injectFault(fault: FaultSpec): void;
  setOrderOutcome(orderId: string, preset: OutcomePreset): void;
  setRefundOutcome(refId: string, preset: RefundPreset): void;
  pay: PaytmSandbox["pay"];
}

async function bridge(sandbox: PaytmSandbox, port: () => number, req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const aborted = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) aborted.abort(); // client gave up (e.g. its timeout): release a hung fault
  });
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i] ?? "", req.rawHeaders[i + 1] ?? "");
  const method = req.method ?? "GET";
  const request = new Request(`http://${req.headers.host ?? `127.0.0.1:${port()}`}${req.url ?? "/"}`, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : Buffer.concat(chunks),
    signal: aborted.signal,
  });
  try {
    const response = await sandbox.handle(request);
    const body = Buffer.from(await response.arrayBuffer());
    if (res.destroyed) return;
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(body);
  } catch (error) {
    if (res.destroyed) return;
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(`sandbox error: ${(error as Error).stack ?? error}`);
  }
}

export async function startPaytmSandbox(options: StartPaytmSandboxOptions): Promise<StartedPaytmSandbox> {
  const { port: wantedPort = 0, tickMs = 25, ...sandboxOptions } = options;
  const sandbox = createPaytmSandbox(sandboxOptions);
  let port = wantedPort;
  const server = createServer((req, res) => {
    void bridge(sandbox, () => port, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(wantedPort, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  let ticking = false;
  const ticker = setInterval(() => {
    if (ticking) return;
    ticking = true;
    sandbox.tick().finally(() => {
      ticking = false;
    });
  }, tickMs);
  ticker.unref();

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    sandbox,
    async close() {
      clearInterval(ticker);
      sandbox.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    stats: () => sandbox.stats(),
    reset: () => sandbox.reset(),
    pendingWebhooks: () => sandbox.pendingWebhooks(),
    takePendingWebhooks: () => sandbox.takePendingWebhooks(),
    deliveredWebhooks: () => sandbox.deliveredWebhooks(),
    setBehaviour: (patch) => sandbox.setBehaviour(patch),
    injectFault: (fault) => sandbox.injectFault(fault),
    setOrderOutcome: (orderId, preset) => sandbox.setOrderOutcome(orderId, preset),
    setRefundOutcome: (refId, preset) => sandbox.setRefundOutcome(refId, preset),
    pay: (orderId: string, outcome?: PaymentOutcome, mid?: string) => sandbox.pay(orderId, outcome, mid),
  };
}

function parseArgs(argv: string[]): StartPaytmSandboxOptions {
  const merchants: PaytmSandboxOptions["merchants"] = {};
  const options: StartPaytmSandboxOptions = { port: DEFAULT_SANDBOX_PORT, merchants };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1] ?? "";
    if (arg === "--port") options.port = Number(argv[++i]);
    else if (arg === "--webhook-url") options.webhookUrl = argv[++i];
    else if (arg === "--refund-webhook-url") options.refundWebhookUrl = argv[++i];
    else if (arg === "--refund-delay-ms") options.behaviour = { ...options.behaviour, refundDelayMs: Number(argv[++i]) };
    else if (arg === "--merchant") {
      i++;
      // MID=KEY[:WEBSITE]; keys contain & # @ %, so quote the argument.
      const eq = value.indexOf("=");
      if (eq < 1) throw new Error(`--merchant expects MID=KEY[:WEBSITE], got ${value}`);
      const mid = value.slice(0, eq);
      const rest = value.slice(eq + 1);
      const colon = rest.lastIndexOf(":");
      merchants[mid] = colon > 0 ? { key: rest.slice(0, colon), website: rest.slice(colon + 1) } : rest;
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (Object.keys(merchants).length === 0) {
    const mid = process.env.PAYTM_MID;
    const key = process.env.PAYTM_MERCHANT_KEY;
    if (mid && key) merchants[mid] = { key, website: process.env.PAYTM_WEBSITE };
    else merchants[SANDBOX_TEST_MERCHANT.mid] = { key: SANDBOX_TEST_MERCHANT.key, website: SANDBOX_TEST_MERCHANT.website };
  }
  return options;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArgs(process.argv.slice(2));
  const started = await startPaytmSandbox(options);
  console.log(`paytm sandbox listening on ${started.url}`);
  for (const [mid, value] of Object.entries(options.merchants)) {
    const m = typeof value === "string" ? { key: value } : value;
    console.log(`  merchant ${mid}${m.website ? ` website=${m.website}` : ""}${mid === SANDBOX_TEST_MERCHANT.mid ? ` key=${m.key}` : ""}`);
  }
  console.log(
    `  webhooks → ${options.webhookUrl ?? "(queued; GET /__sandbox/webhooks)"}; refunds → ${options.refundWebhookUrl ?? "(queued)"}`,
  );
  const stop = () => {
    void started.close().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
