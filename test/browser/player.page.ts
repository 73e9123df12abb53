// Browser side of player.browser.test.ts: play() in Chromium, fed by a stand-in
// viewer with recorded messages, so each situation (late join, gap, bad codec,
// corrupt data, back buffer) is driven exactly.
import { EventEmitter } from 'eventemitter3'
import { play, type Player, type PlayerStats, type PlayOptions } from '../../src/media/play.js'
import type { MunroMessage } from '../../src/viewer.js'

type Message = MunroMessage & { gap?: boolean; timestamp?: number }

class StandInViewer extends EventEmitter<{ message: (m: Message) => void }> {
  stats() {
    return { latencyMs: 0 }
  }
}

let viewer: StandInViewer
let player: Player
let video: HTMLVideoElement
const events: string[] = []

const api = {
  start(options: PlayOptions = {}): void {
    video?.remove()
    video = document.createElement('video')
    video.muted = true
    document.body.append(video)
    viewer = new StandInViewer()
    player = play(viewer as never, video, options)
    for (const name of ['playing', 'waiting', 'autoplay-blocked'] as const) {
      player.on(name, (reason?: string) => events.push(reason ? `${name}:${reason}` : name))
    }
    player.on('error', (err) => events.push(`error:${err.code}`))
  },
  feed(messages: { data: Uint8Array; init?: boolean; startPoint?: boolean; gap?: boolean }[]): void {
    for (const m of messages) viewer.emit('message', { index: 0, init: false, startPoint: false, gap: false, timestamp: Date.now(), ...m, data: new Uint8Array(m.data) })
  },
  stats(): PlayerStats & { currentTime: number; bufferedStart: number | null; events: string[] } {
    const b = video.buffered
    return { ...player.stats(), currentTime: video.currentTime, bufferedStart: b.length > 0 ? b.start(0) : null, events: [...events] }
  },
  /** Destroys the player (twice: idempotent) and returns the events and counts as of that moment. */
  destroy(): { events: string[]; messagesAppended: number } {
    player.destroy()
    player.destroy()
    return { events: [...events], messagesAppended: player.stats().messagesAppended }
  }
}

export type PlayerPageApi = typeof api
;(globalThis as unknown as { munroPlayer: typeof api }).munroPlayer = api
;(globalThis as unknown as { __munroReady: boolean }).__munroReady = true
