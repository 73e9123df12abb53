import { io as connect, type Socket } from 'socket.io-client'
import { createSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../signaling-server/index.js'
import type { Ack } from '../../src/protocol/signaling.js'

export interface TestServer {
  server: SignalingServer
  url: string
  close(): Promise<void>
}

/** A real signaling server on an ephemeral loopback port. */
export async function startServer(options: SignalingServerOptions = {}): Promise<TestServer> {
  const server = createSignalingServer(options)
  const address = await server.listen(0, '127.0.0.1')
  const url = `http://127.0.0.1:${address.port}`
  return { server, url, close: () => server.close() }
}

/** A raw socket.io client, so tests can send exactly what a hostile client would. */
export async function rawSocket(url: string): Promise<Socket> {
  const socket = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('connect_error', reject)
  })
  return socket
}

export function request<T = object>(socket: Socket, event: string, payload?: unknown): Promise<Ack<T>> {
  return socket.timeout(5_000).emitWithAck(event, payload) as Promise<Ack<T>>
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function nextEvent<T>(socket: { once(event: any, fn: any): unknown }, event: string, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs)
    socket.once(event, (arg: T) => {
      clearTimeout(timer)
      resolve(arg)
    })
  })
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
