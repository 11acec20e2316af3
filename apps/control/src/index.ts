export { startControl, type Control, type ControlOptions, ATOLL_VERSION } from './control';
export { loadControlConfig, ConfigError, type ControlConfig } from './env';
export { spawnLocalAgent, type LocalAgent } from './local-agent';
export { freePort } from './embedded-postgres';
