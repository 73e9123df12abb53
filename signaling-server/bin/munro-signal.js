#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { main } from '../dist/signaling-server/cli.js'

// The package's own version and the demo page built into it (`npm run build -w munro-signal`).
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const demoDir = fileURLToPath(new URL('../dist/demo', import.meta.url))

main(process.argv, { version, demoDir }).catch((err) => {
  console.error(`munro-signal: ${err && err.message ? err.message : err}`)
  process.exit(1)
})
