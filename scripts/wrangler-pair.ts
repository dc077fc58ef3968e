/**
 * Both workers under one `wrangler dev` (docs/architecture.md), for `npm run dev`, `npm run e2e` and
 * `npm run bench`: the edge (wrangler.edge.toml) is the first config, so it is the worker served on the
 * port; the core (wrangler.toml) runs beside it, reached through the edge's CORE service binding and
 * its Durable Object bindings, as in production.
 *
 * wrangler dev gives `--var` and `--env-file` to the first worker only, and each worker reads the
 * .dev.vars next to its own config. So both configs are copied into a directory of their own, `main`
 * made absolute, with one .dev.vars there holding every variable: both workers read the same values
 * (each parses only what it uses, src/env.ts). Edits to the configs during a session are not followed;
 * restart it. Always pass --persist-to: the default state directory would be this one.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const CORE_CONFIG = "wrangler.toml";
export const EDGE_CONFIG = "wrangler.edge.toml";

export type WorkerPair = {
  /** The directory holding the two configs and their .dev.vars. */
  dir: string;
  /** `wrangler dev` arguments naming the configs, edge first. */
  configArgs: string[];
  remove(): void;
};

export type PairOptions = {
  /** Every variable and secret of both workers. */
  vars: Record<string, string>;
  /** Prebuilt bundles (`wrangler deploy --dry-run` output) to serve instead of the sources. */
  bundles?: { core: string; edge: string };
  /** Where the checkout is (default: the current directory). */
  root?: string;
};

function relocated(configPath: string, main: string, noBundle: boolean): string {
  const text = readFileSync(configPath, "utf8");
  const line = /^main\s*=\s*".*"$/m;
  if (!line.test(text)) throw new Error(`${configPath}: no \`main = "..."\` line to relocate`);
  return text.replace(line, `main = ${JSON.stringify(main)}${noBundle ? "\nno_bundle = true" : ""}`);
}

/** .dev.vars syntax: double-quoted, so URLs and secrets keep every character. */
const devVars = (vars: Record<string, string>) =>
  `${Object.entries(vars)
    .map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`)
    .join("\n")}\n`;

export function workerPair(opts: PairOptions): WorkerPair {
  const root = path.resolve(opts.root ?? ".");
  const dir = mkdtempSync(path.join(tmpdir(), "bx-workers-"));
  const mainOf = (config: string) => {
    const m = /^main\s*=\s*"(.*)"$/m.exec(readFileSync(path.join(root, config), "utf8"))?.[1];
    if (!m) throw new Error(`${config}: no main`);
    return path.join(root, m);
  };
  const core = path.join(dir, CORE_CONFIG);
  const edge = path.join(dir, EDGE_CONFIG);
  writeFileSync(core, relocated(path.join(root, CORE_CONFIG), opts.bundles?.core ?? mainOf(CORE_CONFIG), !!opts.bundles));
  writeFileSync(edge, relocated(path.join(root, EDGE_CONFIG), opts.bundles?.edge ?? mainOf(EDGE_CONFIG), !!opts.bundles));
  writeFileSync(path.join(dir, ".dev.vars"), devVars(opts.vars), { mode: 0o600 });
  return {
    dir,
    configArgs: ["-c", edge, "-c", core],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
