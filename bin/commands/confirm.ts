/**
 * The question `send` asks on a terminal before it emails the whole list. Only asked when both stdin and stderr
 * are terminals: a script, a pipe or CI never waits for an answer (see `isInteractive`).
 */
import { createInterface } from 'node:readline';

/** The streams a prompt uses; `isTTY` decides whether there is anyone to ask. */
export interface PromptIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Someone can see the question and answer it: stdin and stderr are both terminals. */
export function isInteractive(io: PromptIo): boolean {
  return io.input.isTTY === true && io.output.isTTY === true;
}

/**
 * Ask a yes/no question on `output`, read one line from `input`. Only `y` or `yes` (any case) is a yes; an empty
 * line, anything else, or the input ending (Ctrl+D) is a no.
 */
export function confirm(question: string, io: PromptIo): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.input, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(/^\s*y(es)?\s*$/i.test(line));
    });
    rl.once('close', () => {
      if (!answered) {
        io.output.write('\n');
        resolve(false);
      }
    });
    io.output.write(`${question} [y/N] `);
  });
}
