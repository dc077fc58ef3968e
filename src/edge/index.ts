import { buildEdgeApp } from "./app";

/**
 * The edge worker (wrangler.edge.toml): the public entry, run next to the user. It forwards what needs
 * the database to the core worker (src/index.ts, wrangler.toml), which is placed next to Neon.
 */
const app = buildEdgeApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
