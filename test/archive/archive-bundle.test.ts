/** The archive function's bundle stays small: it must not pull MJML (the renderer) in through a shared module. */
import { build } from 'esbuild';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.ts';

describe('archive.handler.ts bundle', () => {
  it('leaves out MJML and the issue renderer', async () => {
    // Act: bundle as the CDK app does (AWS SDK from the Lambda runtime).
    const result = await build({
      entryPoints: [join(REPO_ROOT, 'lambdas/handlers/archive.handler.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      external: ['@aws-sdk/*'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    // Assess
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.includes('lambdas/handlers/archive.ts'))).toBe(true);
    expect(inputs.filter((i) => /node_modules\/mjml|lambdas\/core\/issue\/render\.ts|templates\/email\//.test(i))).toEqual([]);
  });
});
