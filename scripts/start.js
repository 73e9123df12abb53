// `npm start`: build the demo page and serve it from munro-signal on localhost.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'

const port = process.env.PORT ?? '8080'
const host = process.env.HOST ?? '127.0.0.1'
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' })

if (!existsSync('node_modules')) {
  console.error('npm start: dependencies are missing; run `npm ci` first')
  process.exit(1)
}
console.log('building the signaling server and the demo page…')
run('npx', ['tsc', '-p', 'tsconfig.server.json'])
run('npx', ['vite', 'build', '--config', 'demo/vite.config.ts', '--logLevel', 'warn'])

const server = spawn(process.execPath, ['bin/munro-signal.js', '--port', port, '--host', host, '--static', 'demo/dist', '--log-level', 'warn'], {
  stdio: 'inherit'
})
console.log(`\n  munro demo: http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/\n  (open it in two windows: one broadcasts, the other watches)\n`)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal))
server.on('exit', (code) => process.exit(code ?? 0))
