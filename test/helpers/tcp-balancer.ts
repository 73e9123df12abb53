// A layer-4 load balancer for tests: each new TCP connection goes to the next
// backend round-robin, skipping backends that refuse. What a deployment puts
// in front of several munro-signal processes (no sticky sessions: the client
// uses the WebSocket transport only).
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface Balancer {
  url: string
  /** Backends by port; change it to add or drop processes. */
  backends: number[]
  close(): Promise<void>
}

export async function startBalancer(backends: number[]): Promise<Balancer> {
  const sockets = new Set<Socket>()
  let next = 0
  const state = { backends: [...backends] }
  const route = (client: Socket, attempt: number): void => {
    if (attempt >= state.backends.length) return void client.destroy()
    const port = state.backends[next++ % state.backends.length]!
    const upstream = connect(port, '127.0.0.1')
    let connected = false
    sockets.add(upstream)
    upstream.once('connect', () => {
      connected = true
      client.pipe(upstream).pipe(client)
      client.resume()
    })
    upstream.on('error', () => undefined)
    upstream.once('close', () => {
      sockets.delete(upstream)
      // Refused (a dead backend): try the next one; a connection that was up ends with its backend.
      if (!connected && !client.destroyed) route(client, attempt + 1)
      else client.destroy()
    })
    client.once('close', () => upstream.destroy())
  }
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client)
    client.once('close', () => sockets.delete(client))
    client.on('error', () => undefined)
    route(client, 0)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    get backends() {
      return state.backends
    },
    set backends(ports: number[]) {
      state.backends = [...ports]
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
