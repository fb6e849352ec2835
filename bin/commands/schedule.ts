/**
 * Scheduled sends through EventBridge Scheduler: `send --at`, the scheduled lines of `status`, and `cancel`.
 *
 * One one-time schedule per campaign, named after its id, in the stack's schedule group. Its target is the send
 * function, with the send input (`mode: 'send'`) as the target's input; EventBridge Scheduler deletes it once it
 * has fired (`ActionAfterCompletion: DELETE`). The local stack serves the same API (lambdas/local/schedules.ts), so
 * this module is the same code on both.
 */
import { createHash } from 'node:crypto';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { CliError, EXIT, isConnectionError } from './common.ts';

/** The largest target input EventBridge Scheduler accepts (the SDK's documented maximum for `Target.Input`). */
export const SCHEDULE_INPUT_MAX_BYTES = 256 * 1024;

/** ISO 8601 date and time with a mandatory offset: `2026-12-24T09:00+01:00`, `…T08:00:30Z`, `…T09:00+0100`. */
const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Parse `--at`: refuses a time without an offset (which zone would it be in?), an impossible date, and a time that
 * is not in the future. Seconds are kept, fractions dropped (a schedule fires at whole seconds).
 */
export function parseAt(text: string, now: Date = new Date()): Date {
  const m = ISO_WITH_OFFSET.exec(text.trim());
  if (!m) {
    const hint = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text.trim()) ? 'it has no time zone offset; ' : '';
    throw new CliError(`--at ${text}: ${hint}give an ISO 8601 time with an offset, e.g. 2026-12-24T09:00+01:00 or 2026-12-24T08:00Z`);
  }
  const [, y, mo, d, h, mi, s = '0', zone] = m as unknown as [string, string, string, string, string, string, string | undefined, string];
  const offsetMinutes = zone.toUpperCase() === 'Z' ? 0 : offsetOf(zone);
  const local = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const check = new Date(local);
  if (check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59 || Math.abs(offsetMinutes) > 18 * 60) {
    throw new CliError(`--at ${text}: not a valid date and time`);
  }
  const at = new Date(local - offsetMinutes * 60_000);
  if (at.getTime() <= now.getTime()) {
    throw new CliError(`--at ${text} is in the past (it is ${now.toISOString().replace(/\.\d{3}Z$/, 'Z')} now)`);
  }
  return at;
}

function offsetOf(zone: string): number {
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return zone.startsWith('-') ? -minutes : minutes;
}

/** `at(yyyy-mm-ddThh:mm:ss)`, to be read in UTC (`ScheduleExpressionTimezone: 'UTC'`). */
export function atExpression(at: Date): string {
  return `at(${at.toISOString().slice(0, 19)})`;
}

function fromAtExpression(expression: string | undefined): Date | undefined {
  const m = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression ?? '');
  return m ? new Date(`${m[1]}Z`) : undefined;
}

/**
 * The schedule's name for a campaign: its id when it fits the 64 characters a name may have (slugs are ASCII
 * letters, digits and hyphens), else its first 55 characters and a hash of the whole id.
 */
export function scheduleNameFor(campaignId: string): string {
  if (campaignId.length <= 64) return campaignId;
  return `${campaignId.slice(0, 55)}-${createHash('sha256').update(campaignId).digest('hex').slice(0, 8)}`;
}

export interface ScheduledSend {
  campaignId: string;
  at: Date;
  subject: string;
}

/** Where schedules go: the client (local stack or AWS), the group, and what a new schedule targets. */
export interface ScheduleTarget {
  client: SchedulerClient;
  groupName: string;
  /** Needed only to create one: the send function's ARN and the role EventBridge Scheduler assumes to invoke it. */
  create?: { functionArn: string; roleArn: string };
  /** Where this is, for messages: "the local stack" or "AWS". */
  where: string;
}

/** The description holds the campaign id and subject, so listing needs no other store. Ids never contain ": ". */
function describe(campaignId: string, subject: string): string {
  return `${campaignId}: ${subject}`.slice(0, 512);
}

export class ScheduledSends {
  constructor(private readonly target: ScheduleTarget) {}

  /** Whether new schedules can be created (the target's function ARN and role are known). */
  get canCreate(): boolean {
    return !!this.target.create;
  }

  /** Create the one-time schedule; a campaign already scheduled is bad input (cancel it first). */
  async create(send: ScheduledSend, input: unknown): Promise<void> {
    const { client, groupName, create } = this.target;
    if (!create) throw new CliError('cannot schedule: the stack outputs name no send function ARN or schedule role');
    const payload = JSON.stringify(input);
    if (Buffer.byteLength(payload) > SCHEDULE_INPUT_MAX_BYTES) {
      throw new CliError(
        `the issue is ${Math.ceil(Buffer.byteLength(payload) / 1024)} KB, over the ${SCHEDULE_INPUT_MAX_BYTES / 1024} KB a schedule's input may hold: add --s3 to upload it to the issue bucket`,
      );
    }
    try {
      await client.send(
        new CreateScheduleCommand({
          Name: scheduleNameFor(send.campaignId),
          GroupName: groupName,
          ScheduleExpression: atExpression(send.at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Description: describe(send.campaignId, send.subject),
          Target: { Arn: create.functionArn, RoleArn: create.roleArn, Input: payload },
        }),
      );
    } catch (err) {
      if (err instanceof ConflictException || (err as { name?: string }).name === 'ConflictException') {
        const existing = await this.get(send.campaignId).catch(() => undefined);
        const when = existing ? ` for ${existing.at.toISOString()}` : '';
        throw new CliError(`${send.campaignId} is already scheduled${when}: cancel it first with \`newsletter cancel ${send.campaignId}\``);
      }
      throw this.failure(err, 'cannot create the schedule');
    }
  }

  /** The scheduled send of one campaign, or undefined. */
  async get(campaignId: string): Promise<ScheduledSend | undefined> {
    try {
      const out = await this.target.client.send(new GetScheduleCommand({ Name: scheduleNameFor(campaignId), GroupName: this.target.groupName }));
      return toScheduledSend(out.Description, out.ScheduleExpression, out.Name ?? campaignId);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.failure(err, 'cannot read the schedule');
    }
  }

  /** Every scheduled send in the group, soonest first. */
  async list(): Promise<ScheduledSend[]> {
    const names: string[] = [];
    try {
      let token: string | undefined;
      do {
        const page = await this.target.client.send(new ListSchedulesCommand({ GroupName: this.target.groupName, ...(token ? { NextToken: token } : {}) }));
        for (const s of page.Schedules ?? []) if (s.Name) names.push(s.Name);
        token = page.NextToken;
      } while (token);
    } catch (err) {
      throw this.failure(err, 'cannot list the scheduled sends');
    }
    const found: ScheduledSend[] = [];
    for (const name of names) {
      try {
        const out = await this.target.client.send(new GetScheduleCommand({ Name: name, GroupName: this.target.groupName }));
        const send = toScheduledSend(out.Description, out.ScheduleExpression, name);
        if (send) found.push(send);
      } catch (err) {
        if (!isNotFound(err)) throw this.failure(err, 'cannot read the schedule');
        // Fired and deleted between the list and the read.
      }
    }
    return found.sort((a, b) => a.at.getTime() - b.at.getTime());
  }

  /** Delete a campaign's schedule; exit 4 when there is none. */
  async cancel(campaignId: string): Promise<ScheduledSend> {
    const existing = await this.get(campaignId);
    if (!existing) throw new CliError(`no scheduled send for ${campaignId} (list them with \`newsletter status\`)`, EXIT.NOT_FOUND);
    try {
      await this.target.client.send(new DeleteScheduleCommand({ Name: scheduleNameFor(campaignId), GroupName: this.target.groupName }));
    } catch (err) {
      if (isNotFound(err)) throw new CliError(`${campaignId} is no longer scheduled: it has just fired (see \`newsletter status ${campaignId}\`)`, EXIT.NOT_FOUND);
      throw this.failure(err, 'cannot delete the schedule');
    }
    return existing;
  }

  /** One line for a Scheduler error: unreachable (exit 3), an old local stack (exit 3), or anything else (exit 1). */
  private failure(err: unknown, what: string): CliError {
    const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    if (e.$metadata?.httpStatusCode === 404 && this.target.where === 'the local stack') {
      return new CliError('the local stack does not serve scheduled sends yet (restart it with `npm start`)', EXIT.UNREACHABLE);
    }
    if (isConnectionError(err)) return new CliError(`${what}: ${this.target.where} cannot be reached (${e.code ?? e.message})`, EXIT.UNREACHABLE);
    return new CliError(`${what}: ${e.message ?? e.name}`, EXIT.FAILED);
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof ResourceNotFoundException || (err as { name?: string }).name === 'ResourceNotFoundException';
}

function toScheduledSend(description: string | undefined, expression: string | undefined, name: string): ScheduledSend | undefined {
  const at = fromAtExpression(expression);
  if (!at) return undefined; // not one of ours: a recurring schedule someone added to the group
  const sep = description?.indexOf(': ') ?? -1;
  return sep > 0 ? { campaignId: description!.slice(0, sep), at, subject: description!.slice(sep + 2) } : { campaignId: name, at, subject: '' };
}
