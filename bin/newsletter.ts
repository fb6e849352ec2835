/**
 * `npx newsletter …`: the operator CLI. Each command lives in bin/commands/<name>.ts and registers itself here.
 */
import { Command } from 'commander';
import { EXIT } from './commands/common.ts';
import { registerRender } from './commands/render.ts';
import { registerPreview } from './commands/preview.ts';
import { registerSubscribers } from './commands/subscribers.ts';
import { registerSend } from './commands/send.ts';

const program = new Command();
program
  .name('newsletter')
  .description('Serverless newsletter pipeline: render, send and manage subscribers, locally or on AWS.')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander's usage errors become exit code 2; --help and --version exit 0.
    process.exit(err.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT);
  });

registerRender(program);
registerPreview(program);
registerSubscribers(program);
registerSend(program);

await program.parseAsync(process.argv);
