import { defineConfig } from 'vitest/config';

// One config for both shells: the Tauri window loads dist/ from the app bundle, `baton serve`
// embeds the same dist/ and serves it at `/`. During `npm run dev`, API calls go to a running
// `baton serve` on its default address.
export default defineConfig({
  base: '/',
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
    // The template gallery bundles ../bpmn-templates: let the dev server read the repository.
    fs: { allow: ['..'] },
    proxy: {
      '/api': 'http://127.0.0.1:7410',
      // Signed test requests from #/callbacks and #/webhooks go through the real webhook door.
      '/webhook': 'http://127.0.0.1:7410',
      '/hooks': 'http://127.0.0.1:7410',
    },
  },
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: false,
    // bpmn-js and form-js are large by nature; each lives in the chunk of the view that uses it.
    chunkSizeWarningLimit: 2048,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
  },
});
