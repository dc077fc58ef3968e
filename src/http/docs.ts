import scalarBundle from "../../node_modules/@scalar/api-reference/dist/browser/standalone.js?raw";

/**
 * /api/docs: Scalar's API reference over /api/openapi.json. Its script is served by this worker
 * (SCALAR_PATH) and its default web fonts are off, so the page loads with no CDN and reads offline.
 */
export { scalarBundle };

/** Versioned with the package, so a cached copy never outlives an upgrade. */
export const SCALAR_PATH = "/api/docs/scalar-1.76.0.js";

export function docsPage(specUrl: string): string {
  const config = { url: specUrl, withDefaultFonts: false, hideClientButton: true, telemetry: false };
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
