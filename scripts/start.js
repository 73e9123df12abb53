// `npm start` (after `prestart` built both packages): run munro-signal, which
// serves the demo page built into it, on localhost.
import { spawn } from 'node:child_process'

const port = process.env.PORT ?? '8080'
const host = process.env.HOST ?? '127.0.0.1'

const server = spawn(process.execPath, ['signaling-server/bin/munro-signal.js', '--port', port, '--host', host, '--log-level', 'warn'], {
  stdio: 'inherit'
})
console.log(`\n  munro demo: http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/\n  (open it in two windows: one broadcasts, the other watches)\n`)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal))
server.on('exit', (code) => process.exit(code ?? 0))
