// electron-vite: main (ESM), preload (CommonJS, as a sandboxed preload must be) and the renderer.
// out/renderer is also what `prs serve` serves. PRS_BUILD=web builds the renderer alone (no
// Electron needed at all).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import { resolve } from 'node:path';

const renderer = {
  root: resolve('src/renderer'),
  plugins: [react()],
  build: {
    outDir: resolve('out/renderer'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: { input: resolve('src/renderer/index.html') },
  },
};

export default defineConfig(
  process.env.PRS_BUILD === 'web'
    ? { renderer }
    : {
        main: {
          build: {
            outDir: resolve('out/main'),
            rollupOptions: {
              // The shim is what each utility process starts (see src/main/utilityLauncher.ts).
              input: { index: resolve('src/main/index.ts'), workerShim: resolve('src/main/workerShim.ts') },
              output: { format: 'es', entryFileNames: '[name].js' },
            },
          },
        },
        preload: {
          build: {
            outDir: resolve('out/preload'),
            rollupOptions: {
              input: { index: resolve('src/preload/index.ts') },
              output: { format: 'cjs', entryFileNames: '[name].cjs' },
            },
          },
        },
        renderer,
      },
);
