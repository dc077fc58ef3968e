import scalarBundle from "../../node_modules/@scalar/api-reference/dist/browser/standalone.js?raw";
import { version as scalarVersion } from "../../node_modules/@scalar/api-reference/package.json";

/**
 * /api/docs: Scalar's API reference over /api/openapi.json. Its script is served by this worker
 * (SCALAR_PATH) and nothing else leaves the page: no web fonts, no telemetry, no AI agent, and no
 * request proxy (Scalar's default would relay "try it" requests, bearer token included, through its
 * own server; ours are same-origin and need none), so it also reads offline.
 */
export { scalarBundle };

/** Versioned with the package, so a cached copy never outlives an upgrade. */
export const SCALAR_PATH = `/api/docs/scalar-${scalarVersion}.js`;

export function docsPage(specUrl: string): string {
  const config = {
    url: specUrl,
    withDefaultFonts: false,
    telemetry: false,
    proxyUrl: "",
    agent: { disabled: true },
    hideClientButton: true,
  };
  return `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>BuildXpert API reference</title>
  </head>
  <body>
    <div id="app"></div>
    <script src="${SCALAR_PATH}"></script>
    <script>Scalar.createApiReference("#app", ${JSON.stringify(config)});</script>
  </body>
</html>`;
}
