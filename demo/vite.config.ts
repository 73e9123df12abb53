import { defineConfig } from 'vite'
import { simplePeerForBrowsers } from '../vite.config.js'

// The demo page, built into demo/dist and served by munro-signal (`npm start`).
export default defineConfig({
  root: 'demo',
  plugins: [simplePeerForBrowsers()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' }
})
