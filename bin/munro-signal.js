#!/usr/bin/env node
import { main } from '../dist/server/signaling-server/cli.js'

main().catch((err) => {
  console.error(`munro-signal: ${err && err.message ? err.message : err}`)
  process.exit(1)
})
