// Placeholder: replaced by the preview command's owner.
import type { Command } from 'commander';

export function registerPreview(_program: Command): void {}
