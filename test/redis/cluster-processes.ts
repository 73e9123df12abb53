// munro-signal processes sharing one Redis, for the scale-out suites.
import { startServerProcess, type ServerProcess } from '../server/server-process.js'

export async function killProcess(proc: ServerProcess): Promise<void> {
  if (proc.child.exitCode === null) proc.child.kill('SIGKILL')
  await proc.exited
}

/** A `munro-signal --redis` process, killed by the returned cleanup list's owner. */
export async function serveOnRedis(redisUrl: string, leaseMs: number, cleanups: (() => Promise<void> | void)[]): Promise<ServerProcess> {
  const proc = await startServerProcess(['--port', '0', '--host', '127.0.0.1', '--redis', redisUrl, '--lease', String(leaseMs)])
  cleanups.push(() => killProcess(proc))
  return proc
}
