/**
 * The CLI as a whole, without a stack: `--help` on every command (in process, through commander's own output
 * path, plus a few real runs), the exit-code table, the "no local stack" message of every command that needs
 * one, and the progress bar's TTY rule.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../bin/commands/common.ts';
import { progressBar } from '../../bin/commands/progress.ts';
import { buildProgram } from '../../bin/program.ts';
import { REPO_ROOT } from '../support/fixtures.ts';

let dir: string;

function newsletter(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { PORT: _p, SES_PORT: _s, DYNAMODB_PORT: _d, TABLE_NAME: _t, ...base } = process.env;
  return new Promise((done) => {
    execFile(process.execPath, [join(REPO_ROOT, 'bin/newsletter.mjs'), ...args], { cwd: dir, env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Every command below the root, with its full name ("subscribers import"). */
function allCommands(cmd: Command, prefix = ''): Array<{ name: string; cmd: Command }> {
  return cmd.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    return [{ name, cmd: c }, ...allCommands(c, `${name} `)];
  });
}

/** The help commander prints for `newsletter <name> --help`, after-text included, captured in process. */
function helpOf(name: string): string {
  const program = buildProgram();
  let cmd: Command = program;
  for (const part of name ? name.split(' ') : []) cmd = cmd.commands.find((c) => c.name() === part)!;
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'newsletter-program-'));
  writeFileSync(join(dir, 'issue.md'), '# An issue\n\n## News\n\n* [Link](https://example.com) text.\n');
  writeFileSync(join(dir, 'people.csv'), 'email\nann@example.com\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('newsletter --help', { timeout: 120_000 }, () => {
  const names = allCommands(buildProgram()).map((c) => c.name);

  it('covers every command the issue asks for', () => {
    expect(names).toEqual(
      expect.arrayContaining(['render', 'preview', 'send', 'status', 'resume', 'subscribers', 'subscribers get', 'subscribers import', 'subscribers export', 'subscribers delete']),
    );
  });

  it.each(names)('%s --help has a description and examples that name real commands', (name) => {
    const help = helpOf(name);
    expect(help).toMatch(new RegExp(`^Usage: newsletter ${name}`));
    expect(help).toMatch(/Examples:\n {2}\$ newsletter /);
    const program = buildProgram();
    for (const [, line] of help.matchAll(/^ {2}\$ newsletter (.+)$/gm)) {
      // Each example starts with an existing command path, and every --flag it uses is declared on that command.
      let cmd: Command = program;
      const words = line!.split(/\s+/);
      for (let sub = cmd.commands.find((c) => c.name() === words[0]); sub; sub = cmd.commands.find((c) => c.name() === words[0])) {
        cmd = sub;
        words.shift();
      }
      expect(cmd, `example "${line}"`).not.toBe(program);
      for (const flag of line!.match(/(?<=\s)--[a-z0-9-]+/g) ?? []) {
        expect(cmd.options.map((o) => o.long), `example "${line}"`).toContain(flag);
      }
    }
  });

  it('the root help lists every exit code with its meaning', () => {
    const help = helpOf('');
    for (const code of Object.values(EXIT)) expect(help).toMatch(new RegExp(`^ {2}${code} {2}\\S`, 'm'));
    expect(help).toMatch(/3 {2}.*npm start/);
    expect(help).toMatch(/5 {2}.*newsletter resume/);
  });

  it('real runs: --help and help <command> exit 0 on stdout; an unknown command or option exits 2', async () => {
    const [root, del, viaHelp, unknown, badOption] = await Promise.all([
      newsletter({}, '--help'),
      newsletter({}, 'subscribers', 'delete', '--help'),
      newsletter({}, 'help', 'send'),
      newsletter({}, 'frobnicate'),
      newsletter({}, 'send', 'issue.md', '--no-such-flag'),
    ]);
    expect(root.code).toBe(EXIT.OK);
    expect(root.stdout).toContain('Exit codes:');
    expect(del.code).toBe(EXIT.OK);
    expect(del.stdout).toMatch(/Usage: newsletter subscribers delete \[options\] <email>/);
    expect(del.stdout).toMatch(/right to erasure/);
    expect(viaHelp.code).toBe(EXIT.OK);
    expect(viaHelp.stdout).toMatch(/--dry-run[\s\S]*--test <addresses>[\s\S]*--json/);
    expect(unknown.code).toBe(EXIT.BAD_INPUT);
    expect(unknown.stderr).toMatch(/^newsletter: unknown command 'frobnicate' \(see --help\)\n$/);
    expect(badOption.code).toBe(EXIT.BAD_INPUT);
    expect(badOption.stderr).toMatch(/^newsletter: unknown option '--no-such-flag' \(see --help\)\n$/);
  });
});

describe('no local stack running', { timeout: 120_000 }, () => {
  it('every command that needs the stack exits 3 with one line saying to run `npm start`, and writes nothing', async () => {
    const env = { DATA_DIR: join(dir, 'no-stack'), PORT: '1', DYNAMODB_PORT: '1', SES_PORT: '1' };
    const runs = await Promise.all([
      newsletter(env, 'send', 'issue.md'),
      newsletter(env, 'send', 'issue.md', '--dry-run', '--json'),
      newsletter(env, 'status'),
      newsletter(env, 'resume', 'some-campaign'),
      newsletter(env, 'subscribers', 'get', 'ann@example.com', '--json'),
      newsletter(env, 'subscribers', 'import', 'people.csv'),
      newsletter(env, 'subscribers', 'export'),
      newsletter(env, 'subscribers', 'delete', 'ann@example.com'),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(EXIT.UNREACHABLE);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^newsletter: No local stack is running on http:\/\/127\.0\.0\.1:1 .*start it with `npm start`$/m);
    }
  });
});

describe('progress bars', () => {
  function stream(isTTY: boolean): Writable & { isTTY: boolean; text: string } {
    const s = Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          s.text += String(chunk);
          cb();
        },
      }),
      { isTTY, text: '', columns: 80, cursorTo: () => true, clearLine: () => true, moveCursor: () => true },
    );
    return s;
  }

  it('draw on a terminal only, and never in --json mode', () => {
    const tty = stream(true);
    const bar = progressBar({}, ' {bar} {value}/{total} rows', tty);
    expect(bar).toBeDefined();
    bar!.start(10, 0);
    bar!.update(5);
    bar!.stop();
    expect(tty.text).toContain('5/10 rows');
    expect(progressBar({ json: true }, '{bar}', stream(true))).toBeUndefined();
    expect(progressBar({}, '{bar}', stream(false))).toBeUndefined();
  });
});
