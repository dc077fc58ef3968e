/** Vite's `?raw` imports: a file's text (the deployment-shape test reads the wrangler configs). */
declare module "*?raw" {
  const text: string;
  export default text;
}
