import { defineConfig } from 'vite'
import { simplePeerForBrowsers } from '../vite.config.js'

// The demo page, served by munro-signal: `npm run build -w munro-signal` builds it into signaling-server/dist/demo.
export default defineConfig({
  root: 'demo',
  plugins: [simplePeerForBrowsers()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' }
})
