#!/usr/bin/env node
// The `settle` executable: TypeScript sources run through tsx's loader, no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
