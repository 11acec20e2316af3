#!/usr/bin/env node
// The `atoll` command: runs the TypeScript sources through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

// The sources need no tsconfig settings; ignore whatever tsconfig.json the working directory has.
register({ tsconfig: false });
const { main } = await import('../src/main.ts');
await main();
