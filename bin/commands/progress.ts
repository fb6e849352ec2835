/**
 * Progress bars for long operations (send, import). Shown on stderr only when it is a terminal and the command
 * is not in --json mode, so pipes, CI logs and scripts get clean output with no control codes.
 */
import { Presets, SingleBar } from 'cli-progress';

/** The stream the bar would draw on; `isTTY` decides. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

/** A started-later bar, or undefined when output must stay quiet (--json, or stderr is not a terminal). */
export function progressBar(opts: { json?: boolean }, format: string, stream: ProgressStream = process.stderr): SingleBar | undefined {
  if (opts.json || stream.isTTY !== true) return undefined;
  return new SingleBar({ format, hideCursor: true, clearOnComplete: true, stream }, Presets.shades_classic);
}
