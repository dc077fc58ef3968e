/** A file's text (wrangler.toml `rules`: a Text module; Vite's `?raw` in tests). */
declare module "*?raw" {
  const text: string;
  export default text;
}
