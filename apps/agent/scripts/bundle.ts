import { bundleAgent } from '../src/bundle';

const out = await bundleAgent();
console.log(`agent bundle: ${out}`);
