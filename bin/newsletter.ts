/**
 * `npx newsletter …`: the operator CLI. Commands and help are declared in bin/program.ts; each command's module
 * is loaded only when it runs.
 */
import { buildProgram } from './program.ts';

// `newsletter … | head`: the reader closing the pipe early is its choice, not our failure. The output stops, but the
// command still finishes what it changes (an import or a send is never cut short) and exits with its own code;
// export notices the closed stream and stops scanning.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    process.stderr.write(`newsletter: cannot write output: ${err.message}\n`);
    process.exit(1);
  });
}

await buildProgram().parseAsync(process.argv);
