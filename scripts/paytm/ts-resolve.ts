// src/ uses extensionless relative imports (bundled by wrangler/esbuild). Node's type stripping
// needs real file names, so Node-side scripts register this resolver before dynamically
// importing anything from src/. Static imports are linked before any code runs, hence "dynamic".

import { registerHooks } from "node:module";

let registered = false;

export function registerTsExtensionResolution(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (error) {
        const relative = specifier.startsWith("./") || specifier.startsWith("../");
        const fromTs = context.parentURL?.endsWith(".ts") ?? false;
        if (!relative || !fromTs || /\.[cm]?[jt]s$/.test(specifier)) throw error;
        try {
          return nextResolve(`${specifier}.ts`, context);
        } catch {
          return nextResolve(`${specifier}/index.ts`, context);
        }
      }
    },
  });
}
