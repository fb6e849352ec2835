/**
 * The operator CLI's commands, options and help. Only commander and bin/commands/common.ts are loaded here: each
 * command's module (AWS SDK, MJML, Chromium, the emulators' clients) is imported when that command runs, so
 * `--help` and a command's own startup pay only for what they use.
 */
import { Command } from 'commander';
import { EXIT, EXIT_CODE_HELP, lazyAction } from './commands/common.ts';

const render = () => import('./commands/render.ts');
const preview = () => import('./commands/preview.ts');
const subscribers = () => import('./commands/subscribers.ts');
const send = () => import('./commands/send.ts');

/** Help text after a command's options: examples, one per line, indented like commander's own sections. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

const LOCAL_OR_AWS = `
Target:
  Without --aws the command works on the local stack started by \`npm start\`, found through DATA_DIR/stack.json
  (DATA_DIR defaults to .data; PORT, DYNAMODB_PORT and SES_PORT override what it holds). When none answers, it
  exits 3 and says to run \`npm start\`.`;

export const EXIT_CODES_TEXT = `\nExit codes:\n${Object.entries(EXIT)
  .map(([name, code]) => `  ${code}  ${EXIT_CODE_HELP[name as keyof typeof EXIT]}`)
  .join('\n')}\n`;

function addRenderOptions(cmd: Command): Command {
  return cmd
    .option('--asset-base-url <url>', 'base URL for relative image paths (else they are left out)')
    .option('--link-base-url <url>', 'base URL for relative links')
    .option('--postal-address <text>', 'postal address for the footer (default: $POSTAL_ADDRESS)')
    .option('--sender-name <text>', 'sender name for the footer (default: $SENDER_NAME)')
    .option('--force', 'write the email even above the 102 KB Gmail clipping limit');
}

function targetOptions(cmd: Command): Command {
  return cmd
    .option('--aws', 'work on AWS (default SDK credentials) instead of the local stack')
    .option('--table <name>', "DynamoDB table (default: TABLE_NAME, or the local stack's table)");
}

function registerRender(program: Command): void {
  addRenderOptions(
    program
      .command('render')
      .description('render an issue to index.html, index.txt and meta.json (with preview values)')
      .argument('<issue>', 'the issue, a Markdown file')
      .requiredOption('--out <dir>', 'output directory (written all or nothing)'),
  )
    .addHelpText('after', examples(
      'newsletter render content/issues/031-akira-ml-news.md --out out/031',
      'newsletter render issue.md --out out/issue --asset-base-url https://cdn.example.com/issue/',
    ))
    .action(lazyAction(render, 'renderCommand'));
}

function registerPreview(program: Command): void {
  addRenderOptions(
    program
      .command('preview')
      .description('render an issue and screenshot it at 375 px and 800 px (needs Chromium)')
      .argument('<issue>', 'the issue, a Markdown file')
      .option('--out <dir>', 'output directory (default: out/preview/<slug>)'),
  )
    .addHelpText('after', `${examples(
      'newsletter preview content/issues/031-akira-ml-news.md',
      'CHROMIUM_PATH=/usr/bin/chromium newsletter preview issue.md --out shots',
    )}
Without Chromium (CHROMIUM_PATH, default /usr/bin/chromium) it writes the HTML only and says how to install it.
`)
    .action(lazyAction(preview, 'previewCommand'));
}

function registerSubscribers(program: Command): void {
  const cmd = program
    .command('subscribers')
    .description('look up, import, export and erase subscribers')
    .addHelpText('after', `${examples(
      'newsletter subscribers get ann@example.com',
      'newsletter subscribers import people.csv --confirmed --consent-source "signup sheet, conference 2026"',
      'newsletter subscribers export --csv > subscribers.csv',
      'newsletter subscribers delete ann@example.com',
    )}${LOCAL_OR_AWS}
  With --aws: default SDK credentials and region; the table from --table or TABLE_NAME.
`);

  targetOptions(cmd.command('get').description('show one subscriber (exit 4 if unknown)').argument('<email>', 'the address'))
    .option('--json', 'print the subscriber as JSON')
    .addHelpText('after', examples('newsletter subscribers get ann@example.com --json'))
    .action(lazyAction(subscribers, 'getCommand'));

  targetOptions(
    cmd
      .command('import')
      .description('import subscribers from a CSV file (idempotent: existing addresses are left as they are)')
      .argument('<file.csv>', 'CSV with a header row: "email", optional "name", other columns become attributes'),
  )
    .option('--confirmed', 'mark imported addresses as confirmed (requires --consent-source)')
    .option('--consent-source <text>', 'where consent was given, recorded with each imported subscriber')
    .option('--strict', 'import nothing if any row is invalid or a duplicate')
    .option('--no-confirmation-email', 'without --confirmed: do not send the new pending addresses a confirmation email')
    .option('--json', 'print a JSON summary, no progress bar')
    .addHelpText('after', `${examples(
      'newsletter subscribers import people.csv',
      'newsletter subscribers import people.csv --no-confirmation-email',
      'newsletter subscribers import people.csv --confirmed --consent-source "paper form, 2026-05" --json',
    )}
The whole file is checked before anything is written: a file that is not CSV, is empty or has no "email" column
imports nothing (exit 2). Invalid addresses, rows with the wrong number of fields and duplicates (compared
case-insensitively) are skipped and reported as FILE:LINE (exit 1 when any row was invalid; with --strict nothing
is imported, exit 2). Other columns (letters, digits, _ and -) are stored as attributes.
Without --confirmed, each imported pending address that has never been sent a confirmation email gets one, paced
under the SES rate (exit 1 if some could not be sent; run the import again to retry them). With --aws that needs
SENDER and TOKEN_SECRET_ARN in the environment.
`)
    .action(lazyAction(subscribers, 'importCommand'));

  targetOptions(cmd.command('export').description('write every subscriber to stdout'))
    .option('--csv', 'CSV with a header row (default); cells starting with = + - @ get a leading \' (formula injection)')
    .option('--json', 'a JSON array of subscribers')
    .addHelpText('after', examples('newsletter subscribers export > subscribers.csv', 'newsletter subscribers export --json | jq length'))
    .action(lazyAction(subscribers, 'exportCommand'));

  targetOptions(
    cmd
      .command('delete')
      .description('erase a subscriber and their delivery records (right to erasure); campaign counts are kept')
      .argument('<email>', 'the address'),
  )
    .option('--json', 'print JSON: {"email","deleted","deliveryRecords","sending"}')
    .addHelpText('after', `${examples('newsletter subscribers delete ann@example.com')}
Removes the subscriber record, and in every campaign replaces their delivery and event records with anonymous
ones, so the totals still add up and no record holds the address. Exit 4 when there was nothing to erase.
`)
    .action(lazyAction(subscribers, 'deleteCommand'));

  targetOptions(
    cmd
      .command('migrate-identities')
      .description('once after upgrading: store every subscriber under its case-insensitive address, merging case variants'),
  )
    .option('--json', 'print JSON: {"scanned","migrated","merged","expiredRemoved","deliveryPairs"}')
    .addHelpText('after', `${examples('newsletter subscribers migrate-identities')}
Versions before case-insensitive addresses stored Bob@example.com and bob@example.com as two subscribers. This
rewrites such records under one key; when several spellings exist, the most restrictive status wins
(complained, bounced, unsubscribed, confirmed, pending). Delivery records move to the same key, so a resumed
campaign never mails anyone twice. Refused while a campaign is sending (exit 1); safe to run again.
`)
    .action(lazyAction(subscribers, 'migrateIdentitiesCommand'));
}

const SEND_AWS = `
  With --aws: default SDK credentials; the send function, table, bucket and schedule group from the stack outputs
  (cdk-outputs.json or CDK_OUTPUTS_FILE; else SEND_FUNCTION_NAME, TABLE_NAME, ... in the environment).`;

function registerSend(program: Command): void {
  program
    .command('send')
    .description('send an issue to every confirmed subscriber, now or --at a time (or --dry-run, or --test to given addresses)')
    .argument('<issue.md>', 'the issue in Markdown')
    .option('--dry-run', 'print the send plan (audience, suppressed, ETA, SES cost); send and record nothing')
    .option('--test <addresses>', 'send only to these comma-separated addresses, subject prefixed [TEST]')
    .option('--yes', 'do not ask for confirmation on a terminal')
    .option('--force', 'send despite authoring errors (unknown front-matter keys, unfilled placeholders, relative images, non-https links)')
    .option('--at <time>', 'schedule the send for an ISO 8601 time with an offset, e.g. 2026-12-24T09:00+01:00')
    .option('--s3', 'with --aws: upload the Markdown to the issue bucket and send it by key')
    .option('--asset-base-url <url>', "base URL for the issue's relative image paths (overrides its front matter)")
    .option('--link-base-url <url>', "base URL for the issue's relative links (overrides its front matter)")
    .option('--json', 'print one JSON object, no progress bar')
    .option('--aws', 'invoke the deployed send function instead of the local stack')
    .addHelpText('after', `${examples(
      'newsletter send content/issues/031-akira-ml-news.md --dry-run',
      'newsletter send issue.md --test me@example.com,editor@example.com',
      'newsletter send issue.md --yes --json',
      'newsletter send issue.md --at 2026-12-24T09:00+01:00',
      'newsletter send issue.md --aws --s3',
    )}
On a terminal, send first shows the plan (audience, suppressed, ETA, cost) and asks; --yes skips the question.
When stdin or stderr is not a terminal (scripts, CI) nothing is asked and the send starts at once.
Authoring errors (see \`newsletter render\`) stop a send with one line each (exit 2) unless --force is given.
--at schedules the send instead (one-time EventBridge Scheduler schedule; on the local stack, \`npm start\` fires
it, also after a restart); the time needs an offset and must be in the future. \`newsletter status\` lists
scheduled sends and \`newsletter cancel <campaign>\` removes one.
Sending the same issue again sends nothing new: it reports the existing campaign. On a terminal a progress bar
shows the recipients handled; with --json or when output is not a terminal there is none. If the stack stops
answering while the CLI follows the send, it exits 3 (the campaign is intact: \`newsletter resume\` continues it).
${LOCAL_OR_AWS}${SEND_AWS}
  --s3 is needed only for an issue whose send input exceeds what an invoke takes (6 MB) or, with --at, what a
  schedule's input holds (256 KB); it also keeps the exact Markdown sent in the bucket.
`)
    .action(lazyAction(send, 'sendCommand'));

  program
    .command('status')
    .description("show a campaign's accounting (audience, sent, skipped, failed, unknown, queued, bounced, complained), or list campaigns and scheduled sends")
    .argument('[campaign]', 'campaign id (the issue slug); without it, every campaign and scheduled send one per line')
    .option('--json', 'print JSON')
    .option('--aws', 'read the deployed table and schedule group instead of the local stack')
    .addHelpText('after', `${examples('newsletter status', 'newsletter status issue-31 --json')}
Exit 4 for an unknown campaign; exit 1 when the accounting does not add up. A scheduled send that has not fired
yet is listed with status SCHEDULED and its time (UTC).
${LOCAL_OR_AWS}${SEND_AWS}
`)
    .action(lazyAction(send, 'statusCommand'));

  program
    .command('resume')
    .description('continue a paused campaign (or an unfinished fan-out); nobody is sent twice')
    .argument('<campaign>', 'campaign id (the issue slug)')
    .option('--json', 'print one JSON object, no progress bar')
    .option('--aws', 'invoke the deployed send function instead of the local stack')
    .addHelpText('after', `${examples('newsletter resume issue-31')}
Exit 4 for an unknown campaign; exit 5 when it is paused again (e.g. SES sending still paused).
${LOCAL_OR_AWS}${SEND_AWS}
`)
    .action(lazyAction(send, 'resumeCommand'));

  program
    .command('cancel')
    .description('cancel a scheduled send that has not fired yet')
    .argument('<campaign>', 'campaign id (the issue slug), as `newsletter status` lists it')
    .option('--json', 'print JSON')
    .option('--aws', 'cancel it in the deployed schedule group instead of the local stack')
    .addHelpText('after', `${examples('newsletter cancel akira-ml-news-34', 'newsletter cancel akira-ml-news-34 --aws')}
Exit 4 when the campaign has no scheduled send (never scheduled, cancelled, or already fired).
${LOCAL_OR_AWS}${SEND_AWS}
`)
    .action(lazyAction(send, 'cancelCommand'));
}

/** The whole CLI, ready for `parseAsync`. Usage errors exit 2; `--help` exits 0. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('newsletter')
    .description('Serverless newsletter pipeline: render, send and manage subscribers, locally or on AWS.')
    // A usage error is one line on stderr (commander's own text, which may suggest a near-miss), then exit 2.
    .configureOutput({
      outputError: (text, write) => write(`newsletter: ${text.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see --help)\n`),
    })
    .exitOverride((err) => {
      // commander's usage errors become exit code 2; --help and --version exit 0.
      process.exit(err.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT);
    })
    .addHelpText('after', `${examples(
      'npm start                                   # the local stack, in another terminal',
      'newsletter subscribers import people.csv --confirmed --consent-source "signup sheet"',
      'newsletter send content/issues/031-akira-ml-news.md --dry-run',
      'newsletter status',
      'newsletter <command> --help',
    )}${EXIT_CODES_TEXT}`);
  // Subcommands inherit the usage-error handling (exit 2) from their parent.
  registerRender(program);
  registerPreview(program);
  registerSubscribers(program);
  registerSend(program);
  return program;
}
