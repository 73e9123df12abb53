import { defineConfig } from 'vitest/config'

// One config for the library build (ESM + a <script> build exposing `Munro`)
// and for vitest.
export default defineConfig({
  build: {
    outDir: 'dist/lib',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    lib: {
      entry: 'src/index.ts',
      name: 'Munro',
      formats: ['es', 'iife'],
      fileName: (format) => (format === 'es' ? 'munro.js' : 'munro.iife.js')
    }
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.vitest-report.json' }
  }
})
