// Live video over munro: record and split on the source, play through MediaSource on viewers.
export { broadcast, Broadcast, chooseRecorderType, RECORDER_TYPES, type BroadcastOptions, type BroadcastEvents, type BroadcastStats, type BroadcastTarget } from './broadcast.js'
export { play, Player, type PlayOptions, type PlayerEvents, type PlayerStats, type PlayerState, type PlayableViewer, type MediaSourceConstructor } from './play.js'
export { WebmSplitter } from './webm-splitter.js'
export { Mp4Splitter } from './mp4-splitter.js'
export { mimeTypeOfInit } from './codec.js'
export type { ContainerMessage, ContainerSplitter } from './container.js'
