/**
 * The shape of src/'s imports, read by dependency-cruiser (TypeScript's own resolution, type-only
 * imports included):
 * - no import circles, between files or between the top-level folders of src/ (its capabilities and
 *   platform layers), so every folder can be read, tested and changed from the bottom up;
 * - the platform layers point one way: lib and env.ts ← db ← http ← capabilities ← jobs ← app, edge ← index;
 * - the edge worker (src/edge/index.ts) loads no database code: it runs next to the user and forwards
 *   everything that needs the database to the core (docs/architecture.md).
 */
import { cruise, type ICruiseResult } from "dependency-cruiser";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO } from "./processes";

type Edge = { from: string; to: string; typeOnly: boolean };
type Graph = { files: string[]; edges: Edge[]; packages: Map<string, Set<string>> };

/** The import graph of src/: file → file edges, and the packages each file loads at run time. */
async function importGraph(): Promise<Graph> {
  const { output } = await cruise(
    ["src"],
    { baseDir: REPO, tsPreCompilationDeps: true, doNotFollow: { path: "node_modules" } },
    {},
    { tsConfig: extractTSConfig(`${REPO}/src/tsconfig.json`) },
  );
  const result = output as ICruiseResult;
  const files: string[] = [];
  const edges: Edge[] = [];
  const packages = new Map<string, Set<string>>();
  for (const m of result.modules) {
    if (!m.source.startsWith("src/")) continue;
    files.push(m.source);
    for (const d of m.dependencies) {
      const typeOnly = d.dependencyTypes.includes("type-only");
      if (d.resolved.startsWith("src/")) edges.push({ from: m.source, to: d.resolved, typeOnly });
      else if (!typeOnly) {
        // A package by name, or a file inside one by relative path (the docs page inlines Scalar's bundle).
        const relative = d.module.startsWith(".");
        if (relative && !d.resolved.includes("node_modules/")) continue;
        const spec = relative ? d.resolved.split("node_modules/").at(-1)! : d.module;
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
        packages.set(m.source, (packages.get(m.source) ?? new Set()).add(name));
      }
    }
  }
  return { files, edges, packages };
}

/**
 * Import circles: every strongly connected set of more than one node (or a node importing itself),
 * with its members and the shortest circle through the first of them.
 */
function circles(nodes: string[], edges: { from: string; to: string }[]): { members: string[]; circle: string[] }[] {
  const next = new Map<string, string[]>();
  for (const n of nodes) next.set(n, []);
  for (const e of edges) next.get(e.from)?.push(e.to);
  // Tarjan's strongly connected components.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)!.includes(v)) components.push(component);
    }
  };
  for (const n of [...nodes].sort()) if (!index.has(n)) visit(n);
  // One shortest circle per component, from its first node in name order, so a failure names a path to cut.
  return components.map((component) => ({ members: [...component].sort(), circle: shortestCircle(component) }));

  function shortestCircle(component: string[]): string[] {
    const inside = new Set(component);
    const start = [...component].sort()[0]!;
    const parent = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of next.get(v) ?? []) {
        if (!inside.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let x = v; x !== start; x = parent.get(x)!) path.splice(1, 0, x);
          return [...path, start];
        }
        if (!parent.has(w)) {
          parent.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  }
}

/** `src/http/auth.ts` → `http`; files directly in src/ stand for themselves (`app.ts`, `env.ts`, `index.ts`). */
const folderOf = (file: string) => file.slice("src/".length).split("/")[0]!;

/** Lower ranks may not load higher ones. Everything not named here is a capability. */
const RANK: Record<string, number> = { lib: 0, "env.ts": 0, db: 1, http: 2, jobs: 4, "app.ts": 5, edge: 5, "index.ts": 6 };
const CAPABILITY = 3;
const rank = (folder: string) => RANK[folder] ?? CAPABILITY;

/** Database drivers and ORMs (by package name) and the database code of src/. */
const DATABASE_PACKAGES = ["@neondatabase/serverless", "drizzle-orm", "pg", "postgres"];

/** The OpenAPI generator and the API reference page (by package name). */
const DOCUMENT_PACKAGES = ["hono-openapi", "@scalar/api-reference"];

/** Run-time imports reachable from the edge's entry, with the chain that reached each file. */
function edgeReach(): { reached: string[]; chain: (file: string) => string } {
  const cameFrom = new Map<string, string | null>([["src/edge/index.ts", null]]);
  const queue = ["src/edge/index.ts"];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const e of graph.edges) {
      if (e.from !== v || e.typeOnly || cameFrom.has(e.to)) continue;
      cameFrom.set(e.to, v);
      queue.push(e.to);
    }
  }
  const chain = (file: string) => {
    const path: string[] = [];
    for (let x: string | null = file; x !== null; x = cameFrom.get(x) ?? null) path.unshift(x);
    return path.join(" → ");
  };
  return { reached: [...cameFrom.keys()], chain };
}

let graph: Graph;
beforeAll(async () => {
  graph = await importGraph();
});

describe("src/ imports", () => {
  it("are read from every file (the graph is not empty or cut short)", () => {
    expect(graph.files).toContain("src/index.ts");
    expect(graph.files).toContain("src/edge/index.ts");
    expect(graph.edges.length).toBeGreaterThan(graph.files.length);
    expect(graph.edges.some((e) => e.typeOnly)).toBe(true);
  });

  it("form no circle between files (type-only imports count)", () => {
    const found = circles(graph.files, graph.edges).map(({ members, circle }) => `${circle.join(" → ")}   (tied: ${members.join(", ")})`);
    expect(found, `import circles between files:\n${found.join("\n")}`).toEqual([]);
  });

  it("form no circle between the top-level folders of src/", () => {
    const folders = [...new Set(graph.files.map(folderOf))];
    const between = graph.edges.map((e) => ({ ...e, from: folderOf(e.from), to: folderOf(e.to), file: e })).filter((e) => e.from !== e.to);
    const found = circles(folders, between).map(({ members, circle: c }) => {
      const steps = c.slice(1).map((to, i) => {
        const via = between.find((e) => e.from === c[i] && e.to === to)!.file;
        return `  ${c[i]} → ${to}   (${via.from} imports ${via.to}${via.typeOnly ? ", type only" : ""})`;
      });
      return `${members.join(", ")} import each other; one circle: ${c.join(" → ")}\n${steps.join("\n")}`;
    });
    expect(found, `import circles between folders:\n${found.join("\n")}`).toEqual([]);
  });

  it("of the platform layers point down: lib and env.ts ← db ← http ← capabilities ← jobs ← app.ts, edge ← index.ts", () => {
    // Run-time imports: what a lower layer loads must not drag in a higher one. A type-only import
    // (a schema enum's union in a token's claims) loads nothing; the circle checks above still see it.
    const upward = graph.edges
      .filter((e) => !e.typeOnly && rank(folderOf(e.from)) < rank(folderOf(e.to)))
      .map((e) => `${e.from} → ${e.to}`);
    expect(upward, `imports that point up a layer:\n${upward.join("\n")}`).toEqual([]);
  });

  it("of the edge worker load no database code", () => {
    const { reached, chain } = edgeReach();
    // Where the edge's code first steps into database code: an import of src/db/ or of a driver.
    const outsideDb = reached.filter((file) => !file.startsWith("src/db/"));
    const loaded = [
      ...graph.edges
        .filter((e) => !e.typeOnly && outsideDb.includes(e.from) && e.to.startsWith("src/db/"))
        .map((e) => `${chain(e.from)} → ${e.to}`),
      ...outsideDb.flatMap((file) =>
        [...(graph.packages.get(file) ?? [])].filter((p) => DATABASE_PACKAGES.includes(p)).map((p) => `${chain(file)} → ${p}`),
      ),
    ];
    expect(reached.length, "the edge's own files are reached").toBeGreaterThan(3);
    expect(loaded, `the edge worker loads database code:\n${loaded.join("\n")}`).toEqual([]);
  });

  it("of the edge worker load neither the OpenAPI generator nor the API reference page (the core serves both)", () => {
    // The edge shares route modules with the core; their contract markers are plain data (src/http/meta.ts).
    const { reached, chain } = edgeReach();
    const loaded = reached.flatMap((file) =>
      [...(graph.packages.get(file) ?? [])].filter((p) => DOCUMENT_PACKAGES.includes(p)).map((p) => `${chain(file)} → ${p}`),
    );
    expect(loaded, `the edge worker loads the document's generator:\n${loaded.join("\n")}`).toEqual([]);
  });
});
