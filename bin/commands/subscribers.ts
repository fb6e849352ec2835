// Placeholder: replaced by the subscribers command's owner.
import type { Command } from 'commander';

export function registerSubscribers(_program: Command): void {}
