/**
 * The one error kind the renderer throws for bad input or an impossible render.
 * `message` is a single line meant for the operator (the CLI prints it as is).
 */
export class RenderError extends Error {
  override name = 'RenderError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message.split('\n')[0] ?? message, options);
  }
}
