/**
 * `npx newsletter …`: the operator CLI. Commands and help are declared in bin/program.ts; each command's module
 * is loaded only when it runs.
 */
import { buildProgram } from './program.ts';

await buildProgram().parseAsync(process.argv);
