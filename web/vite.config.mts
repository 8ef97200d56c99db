/**
 * Builds the web console into web/dist (or `--outDir DIR`). One build serves every stage: the
 * stage's URLs and issuer come from `/config.json` at run time, never from the build.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  // Preact's automatic JSX runtime, compiled by Vite's own transformer (no framework plugin).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: { fs: { allow: ['..'] } },
});
