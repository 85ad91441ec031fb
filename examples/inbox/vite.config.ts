import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * `npm run build:inbox`: the example inbox into `dist/`, which igql serves at `/sandbox/inbox` in
 * sandbox mode. The output is committed (so `npm start` needs no build step) and must be the same
 * on every machine: content-hashed names, no source maps, no timestamps.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/sandbox/inbox/',
  mode: 'production',
  // Vite would take NODE_ENV from the environment (Vitest sets `test`): the bundle's libraries
  // then keep their development code, and the build differs from machine to machine.
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  logLevel: 'warn',
  // No PostCSS: Vite would otherwise look for a postcss config from here up to the filesystem's
  // root, and one found above the clone would change the build.
  css: { postcss: {} },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
    // Every browser that runs graphql-ws supports modules: no preload polyfill.
    modulePreload: { polyfill: false },
  },
});
