import { bundleAgent } from '../apps/agent/src/bundle';

const out = await bundleAgent();
console.log(`agent bundle: ${out}`);
