/**
 * The contract run's instruments (test/e2e/contract.ts): an HTTP client that records every call
 * against the apps' call list and checks the envelope, a field checker for the paths the apps read
 * (client-calls.json `reads`), a tiny HTML form reader for the Paytm WebView pages, and Socket.IO
 * sockets opened the way the apps open them that keep every event they receive.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { io, type Socket } from "socket.io-client";
import { type ContractCheck, contractChecker, contractMessage, type OpenApiDoc } from "../contract-check.ts";
import { CONTRACT_CALLS, type ContractCall } from "./contract-calls.ts";

// ------------------------------------------------------------------------------------------------
// Coverage

export type Coverage = { exercised: Map<string, number>; events: number };
export const coverage: Coverage = { exercised: new Map(), events: 0 };

/** The reference list, when it is at hand, must be the one this run walks (same 68 method+path). */
export function crossCheckReference(file: string): string {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch {
    return `reference ${file} not found; using the embedded list of ${CONTRACT_CALLS.length} calls`;
  }
  const ref = (JSON.parse(raw) as { method: string; path: string; reachable: boolean }[]).map((c) => `${c.method} ${c.path}`);
  const ours = CONTRACT_CALLS.map((c) => c.key);
  assert.deepEqual([...ours].sort(), [...ref].sort(), "test/e2e/contract-calls.ts differs from client-calls.json");
  return `embedded call list matches ${file} (${ref.length} entries)`;
}

export function coverageReport(log: (m: string) => void): { missing: ContractCall[] } {
  const missing: ContractCall[] = [];
  let exercised = 0;
  log("");
  log("coverage (client-calls.json):");
  for (const c of CONTRACT_CALLS) {
    const n = coverage.exercised.get(c.key) ?? 0;
    if (n > 0) exercised++;
    else if (!c.notReachable) missing.push(c);
    const dead = c.deadInApps ? " (never called by the apps: dead code)" : "";
    const mark = n > 0 ? `exercised ×${n}${dead}` : c.notReachable ? `not reachable: ${c.notReachable}` : `MISSING${dead}`;
    log(`  ${c.key.padEnd(58)} ${mark}`);
  }
  log("");
  log(`${exercised}/${CONTRACT_CALLS.length} calls exercised, ${coverage.events} events checked`);
  return { missing };
}

// ------------------------------------------------------------------------------------------------
// HTTP

export type Res<T = any> = { status: number; body: T; text: string; headers: Headers; ms: number };
type CallOpts = {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  /** Expected HTTP status (or list). Defaults to 2xx. */
  expect?: number | number[];
  /** Contract key ("METHOD /path/:param") when the concrete path differs from it. */
  as?: string;
  /** Not a JSON API answer (HTML pages, Engine.IO). */
  raw?: boolean;
};

/**
 * Every 2xx JSON answer is also checked against its route's response schema in the worker's own
 * /api/openapi.json (test/contract-check.ts), fetched once per run.
 */
export function client(base: string, log: (m: string) => void) {
  let contract: Promise<ContractCheck> | undefined;
  const contractCheck = () => {
    contract ??= fetch(`${base}/api/openapi.json`).then(async (r) => {
      assert.equal(r.status, 200, "GET /api/openapi.json");
      return contractChecker((await r.json()) as OpenApiDoc);
    });
    return contract;
  };
  return async function call<T = any>(method: string, path: string, o: CallOpts = {}): Promise<Res<T>> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.rawBody !== undefined) body = o.rawBody;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const t0 = performance.now();
    const res = await fetch(path.startsWith("http") ? path : `${base}${path}`, { method, headers, body, redirect: "manual" });
    const text = await res.text();
    const ms = performance.now() - t0;
    const key = o.as ?? `${method} ${path.replace(/^https?:\/\/[^/]+/, "").replace(/\?.*$/, "")}`;
    const known = CONTRACT_CALLS.some((c) => c.key === key);
    log(
      `${method.padEnd(6)} ${path
        .replace(/^https?:\/\/[^/]+/, "")
        .slice(0, 96)
        .padEnd(96)} ${res.status} ${ms.toFixed(0).padStart(5)} ms${known ? "" : "  (extra)"}`,
    );
    let parsed: any = text;
    if (!o.raw) {
      assert.match(res.headers.get("content-type") ?? "", /application\/json/, `${key}: every JSON answer carries application/json`);
      parsed = JSON.parse(text);
      envelope(key, res.status, parsed);
      const answer = {
        method,
        path: path.replace(/^https?:\/\/[^/]+/, ""),
        status: res.status,
        contentType: res.headers.get("content-type"),
        body: parsed,
      };
      const mismatch = (await contractCheck())(answer);
      if (mismatch) throw new assert.AssertionError({ message: contractMessage(answer, mismatch) });
    }
    const want = o.expect === undefined ? null : Array.isArray(o.expect) ? o.expect : [o.expect];
    if (want) assert.ok(want.includes(res.status), `${key}: HTTP ${res.status}, expected ${want.join("|")}: ${text.slice(0, 300)}`);
    else assert.ok(res.ok, `${key}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    if (known) coverage.exercised.set(key, (coverage.exercised.get(key) ?? 0) + 1);
    return { status: res.status, body: parsed as T, text, headers: res.headers, ms };
  };
}

/** `{status:'success', data, message?}` on 2xx, `{status:'error', message, errorCode}` otherwise (docs/api-contract.md §1.2–§1.3). */
export function envelope(key: string, status: number, b: any) {
  assert.equal(typeof b, "object", `${key}: body is an object`);
  if (status >= 200 && status < 300) {
    assert.equal(b.status, "success", `${key}: status 'success' on ${status}`);
    assert.ok("data" in b, `${key}: success carries data`);
    if ("message" in b) assert.equal(typeof b.message, "string", `${key}: message is a string`);
  } else {
    assert.equal(b.status, "error", `${key}: status 'error' on ${status}`);
    assert.equal(typeof b.message, "string", `${key}: error message`);
    assert.ok(b.message.length > 0, `${key}: non-empty error message`);
    assert.equal(typeof b.errorCode, "string", `${key}: errorCode`);
    if ("retryAfter" in b) {
      assert.equal(typeof b.retryAfter, "number", `${key}: retryAfter is a number of seconds`);
      assert.ok(b.retryAfter < 3600, `${key}: retryAfter is seconds, not milliseconds`);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Field checks: `shape(body, {"data.providers[].averageRating": "number|null", ...})`.
// Types: string, number, boolean, object, array, null, date (new Date(x) parses), any (present);
// unions with "|"; a leading "?" allows the field to be absent. `[]` checks every element and
// requires at least one.

export function shape(label: string, root: unknown, spec: Record<string, string>) {
  for (const [path, type] of Object.entries(spec)) {
    const optional = type.startsWith("?");
    const kinds = (optional ? type.slice(1) : type).split("|");
    for (const { value, where } of walk(root, path.split("."), "")) {
      if (value === undefined) {
        assert.ok(optional, `${label}: ${where} is missing (wanted ${type})`);
        continue;
      }
      assert.ok(
        kinds.some((k) => isKind(value, k)),
        `${label}: ${where} is ${JSON.stringify(value)?.slice(0, 80)}, wanted ${type}`,
      );
    }
  }
}

function isKind(v: unknown, k: string): boolean {
  switch (k) {
    case "any":
      return true;
    case "null":
      return v === null;
    case "array":
      return Array.isArray(v);
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    case "date":
      return (typeof v === "string" || typeof v === "number") && !Number.isNaN(new Date(v).getTime());
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    default:
      return typeof v === k;
  }
}

function* walk(v: unknown, parts: string[], where: string): Generator<{ value: unknown; where: string }> {
  if (parts.length === 0) {
    yield { value: v, where };
    return;
  }
  const [head, ...rest] = parts as [string, ...string[]];
  const many = head.endsWith("[]");
  const name = many ? head.slice(0, -2) : head;
  const next = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[name] : undefined;
  const here = where ? `${where}.${name}` : name;
  if (!many) {
    if (next === undefined && rest.length > 0) {
      yield { value: undefined, where: here };
      return;
    }
    yield* walk(next, rest, here);
    return;
  }
  assert.ok(Array.isArray(next), `${here} is an array`);
  assert.ok(next.length > 0, `${here} has at least one element to check`);
  for (const [i, el] of next.entries()) yield* walk(el, rest, `${here}[${i}]`);
}

// ------------------------------------------------------------------------------------------------
// HTML forms (the WebView's pages): the first <form>'s action and hidden inputs.

const decodeEntities = (s: string) =>
  s
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

export function formOf(html: string, index = 0): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  const f = forms[index];
  assert.ok(f, `page has a form #${index}: ${html.slice(0, 200)}`);
  const action = /action="([^"]*)"/i.exec(f[1]!)?.[1];
  assert.ok(action, "form has an action");
  const fields: Record<string, string> = {};
  for (const m of f[2]!.matchAll(/<input\b[^>]*>/gi)) {
    const name = /name="([^"]*)"/i.exec(m[0])?.[1];
    const value = /value="([^"]*)"/i.exec(m[0])?.[1] ?? "";
    if (name) fields[decodeEntities(name)] = decodeEntities(value);
  }
  return { action: decodeEntities(action), fields };
}

// ------------------------------------------------------------------------------------------------
// Sockets, as the apps open them (docs/api-contract.md §4.1), keeping every event they receive.

export const APP_OPTIONS = {
  transports: ["polling", "websocket"] as ("polling" | "websocket")[],
  upgrade: true,
  reconnection: true,
  reconnectionAttempts: 5,
  reconnectionDelay: 1000,
  reconnectionDelayMax: 5000,
  timeout: 20000,
  forceNew: false,
};

export type Received = { event: string; payload: unknown; at: number };
export type AppSocket = { name: string; socket: Socket; received: Received[] };
export const openSockets: AppSocket[] = [];

/**
 * `joinOn: 'connect'`: the booking/notification contexts (join on every connect);
 * `'once'`: the provider home socket (join right after io(), buffered); token: the WebRTC socket.
 */
export function appSocket(base: string, name: string, userId: string, o: { token?: string; joinOn?: "connect" | "once" } = {}): AppSocket {
  const socket = io(base, o.token ? { ...APP_OPTIONS, auth: { token: o.token } } : APP_OPTIONS);
  const s: AppSocket = { name, socket, received: [] };
  socket.onAny((event: string, payload: unknown) => s.received.push({ event, payload, at: Date.now() }));
  if (o.joinOn === "once") socket.emit("join", userId);
  else socket.on("connect", () => setTimeout(() => socket.emit("join", userId), o.token ? 100 : 0));
  openSockets.push(s);
  return s;
}

export async function connected(s: AppSocket, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!s.socket.connected || s.socket.io.engine?.transport?.name !== "websocket") {
    if (Date.now() > deadline) throw new Error(`${s.name}: not connected and upgraded to websocket`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 150)); // the join (sent on connect) has reached the hub
}

/** Waits for an event received after `since` (events already kept count), checks it once. */
export async function event<T = any>(
  s: AppSocket,
  name: string,
  since: number,
  check: (payload: T) => void = () => {},
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = s.received.find((r) => r.event === name && r.at >= since);
    if (hit) {
      check(hit.payload as T);
      coverage.events++;
      return hit.payload as T;
    }
    if (Date.now() > deadline) {
      const seen = s.received.filter((r) => r.at >= since).map((r) => r.event);
      throw new Error(`${s.name}: no ${name} within ${timeoutMs} ms (got: ${seen.join(", ") || "nothing"})`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function next<T = unknown>(s: AppSocket, name: string, timeoutMs = 10_000): Promise<T> {
  return event<T>(s, name, Date.now(), () => {}, timeoutMs);
}

export function closeSockets() {
  for (const s of openSockets) s.socket.disconnect();
}
