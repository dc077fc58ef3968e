/**
 * `npm run types`: worker-configuration.d.ts for both workers. `wrangler types` describes one worker
 * per run (its first config), so this runs it for the core (wrangler.toml, with the runtime types) and
 * for the edge (wrangler.edge.toml), and adds the edge's bindings the core lacks to the same `Env`:
 * Env is the union of both workers' bindings, and each worker reads only its own (src/env.ts parses
 * the core's and the edge's configuration separately). Secrets are typed from .dev.vars.example.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const OUT = "worker-configuration.d.ts";
const wrangler = join(process.cwd(), "node_modules", ".bin", "wrangler");
const run = (args: string[]) =>
  execFileSync(wrangler, ["types", ...args], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });

run([OUT, "--strict-vars=false", "-c", "wrangler.toml", "--env-file", ".dev.vars.example"]);

// Written next to OUT so its import() paths read the same ("./src/index").
const edgeOut = join(process.cwd(), `.edge-types-${process.pid}.d.ts`);
try {
  run([
    edgeOut,
    "--strict-vars=false",
    "--include-runtime=false",
    "--include-main-module=false",
    "--env-interface",
    "EdgeBindings",
    "-c",
    "wrangler.edge.toml",
    "-c",
    "wrangler.toml",
  ]);
  const members = (text: string, iface: string) =>
    new Map(
      (new RegExp(`interface ${iface} \\{\\n([\\s\\S]*?)\\n\\}`).exec(text)?.[1] ?? "")
        .split("\n")
        .map((line) => [line.trim().split(":")[0]!, line] as const),
    );
  const core = readFileSync(OUT, "utf8");
  const coreMembers = members(core, "__BaseEnv_Env");
  const edgeOnly = [...members(readFileSync(edgeOut, "utf8"), "__BaseEnv_EdgeBindings")].filter(([name]) => name && !coreMembers.has(name));
  if (coreMembers.size === 0 || edgeOnly.length === 0) throw new Error("unexpected `wrangler types` output: no bindings found");
  const block = [
    "// The edge worker's bindings (wrangler.edge.toml) that the core worker does not have, added by scripts/types.ts:",
    "// Env is the union of both workers' bindings.",
    "interface __BaseEnv_Env {",
    ...edgeOnly.map(([, line]) => line),
    "}",
  ].join("\n");
  writeFileSync(
    OUT,
    core.replace(/\ninterface Env extends __BaseEnv_Env \{\}\n/, (m) => `\n${block}\n${m.slice(1)}`),
  );
  if (!readFileSync(OUT, "utf8").includes(block)) throw new Error("could not place the edge bindings in worker-configuration.d.ts");
} finally {
  rmSync(edgeOut, { force: true });
}
console.log(`${OUT}: core (wrangler.toml) and edge (wrangler.edge.toml) bindings`);
