#!/usr/bin/env node
// The operator CLI. Runs the TypeScript entry through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
await import('./newsletter.ts');
