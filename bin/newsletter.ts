/**
 * `npx newsletter …`: the operator CLI. Commands and help are declared in bin/program.ts; each command's module
 * is loaded only when it runs.
 */
import { buildProgram } from './program.ts';

// `newsletter subscribers export | head`: the reader closing the pipe early is its choice, not our failure.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.stderr.write(`newsletter: cannot write output: ${err.message}\n`);
    process.exit(1);
  });
}

await buildProgram().parseAsync(process.argv);
