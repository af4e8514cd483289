// eau2/level: the engine as an abstract-level database (`new EngineLevel(location, options)`), so it
// works with everything built on `level`: sublevels, encodings, hooks, level-read-stream, ...

export { EngineLevel, EngineLevelSnapshot } from './engine-level.js';
export type { EngineLevelOptions } from './engine-level.js';
export { EngineLevelIterator, EngineLevelKeyIterator, EngineLevelValueIterator } from './level-iterators.js';
export { LevelError } from './level-codec.js';
