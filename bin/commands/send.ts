// Placeholder: replaced by the send command's owner.
import type { Command } from 'commander';

export function registerSend(_program: Command): void {}
