// Placeholder: replaced by the render command's owner.
import type { Command } from 'commander';

export function registerRender(_program: Command): void {}
