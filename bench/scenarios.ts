/** Benchmark scenarios. Each capability adds its own; `setup` may create users, listings, tokens. */
export type BenchRequest = { method?: string; path: string; headers?: Record<string, string>; body?: string };
export type Scenario = {
  name: string;
  connections?: number;
  duration?: number;
  note?: string;
  expectedStatus?: number[];
  setup?: (ctx: Record<string, unknown>) => Promise<void>;
  request: (ctx: Record<string, unknown>, i: number) => Promise<BenchRequest> | BenchRequest;
  /** Synchronous per-request builder for scenarios whose requests differ (autocannon's hook is sync). */
  requestSync?: (ctx: Record<string, unknown>, i: number) => BenchRequest;
};

export const scenarios: Scenario[] = [
  { name: "bare route (ceiling)", request: () => ({ path: "/__bench/bare" }) },
  { name: "GET /health", request: () => ({ path: "/health" }) },
  { name: "GET /health/ready", request: () => ({ path: "/health/ready" }) },
  { name: "read over HTTP mode", request: () => ({ path: "/__bench/db-http" }) },
  { name: "read over WebSocket Pool", request: () => ({ path: "/__bench/db-pool" }) },
];
