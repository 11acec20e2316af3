/** Reported in `hello`; bump with apps/agent/package.json. */
export const AGENT_VERSION = '0.1.0';
