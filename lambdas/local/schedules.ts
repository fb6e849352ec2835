/**
 * Scheduled sends on the local stack: the part of the EventBridge Scheduler API the CLI uses (CreateSchedule,
 * GetSchedule, ListSchedules, DeleteSchedule, on the SDK's own REST paths under `/schedules`), served on the
 * stack's HTTP server, plus the timer that fires each one-time `at(...)` schedule into the send function.
 *
 * So `newsletter send --at`, `status` and `cancel` use @aws-sdk/client-scheduler against the local stack exactly as
 * against AWS. Schedules are kept in DATA_DIR/schedules.json (written whole, through a temporary file and a rename),
 * so one still pending when `npm start` stops fires after the next start, at once if it is overdue. A schedule is
 * removed after it fired (`ActionAfterCompletion: DELETE`, what the CLI always asks for) and kept otherwise, marked
 * fired; an invocation that throws (the table unreachable, say) is tried again after a pause, three times in all.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { Clock } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import type { SendResult } from '../core/sending/send-campaign.ts';
import { SCHEDULES_PATH, SEND_FUNCTION_NAME } from './names.ts';

export const SCHEDULES_FILE = 'schedules.json';

/** One schedule as stored, in the API's own field names. */
export interface LocalSchedule {
  Name: string;
  GroupName: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  Description?: string;
  ActionAfterCompletion?: string;
  State: 'ENABLED' | 'DISABLED';
  Target: { Arn: string; RoleArn: string; Input?: string };
  /** Epoch seconds, as the API returns timestamps. */
  CreationDate: number;
  /** Epoch milliseconds it is due (parsed from the expression once, on create). */
  dueMs: number;
  fired?: boolean;
  attempts?: number;
}

/** What a schedule fired: its name and the send function's last result, or the error that stopped it. */
export type FireReport = { name: string; result: SendResult } | { name: string; error: string; willRetry: boolean };

export interface LocalSchedulerOptions {
  dataDir: string;
  /** The send function (`AttachedSending.invokeSend`). */
  invoke: (event: unknown) => Promise<SendResult>;
  /** Called after each firing (main.ts prints a line). */
  onFire?: (report: FireReport) => void;
  clock?: Clock;
  /** Pause before trying a failed invocation again (default 5 s). */
  retryMs?: number;
}

export interface LocalScheduler {
  /** The API Gateway v2-style handler for `stack.addRoute(SCHEDULES_PATH, …)`. */
  route: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;
  /** Schedules not fired yet, soonest first. */
  pending(): LocalSchedule[];
  /** Stop the timer and wait for a firing in progress. */
  stop(): Promise<void>;
}

const MAX_ATTEMPTS = 3;
/** setTimeout's longest delay; a later schedule re-arms when it expires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const NAME = /^[0-9a-zA-Z_.-]{1,64}$/;
const AT = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;

class ApiError extends Error {
  constructor(
    readonly type: string,
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, the only kind of expression the local scheduler runs. */
export function parseAtExpression(expression: string, timezone: string | undefined): number {
  const m = AT.exec(expression);
  if (!m || (timezone && timezone !== 'UTC')) {
    throw new ApiError('ValidationException', 400, 'the local scheduler runs one-time at(yyyy-mm-ddThh:mm:ss) schedules in UTC only');
  }
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw new ApiError('ValidationException', 400, `invalid date in ${expression}`);
  }
  return ms;
}

/** Invoke, continue a fan-out cut short, and resume a campaign an interrupted firing left unfinished. */
export async function fireSend(invoke: LocalSchedulerOptions['invoke'], input: Record<string, unknown>): Promise<SendResult> {
  const untilFannedOut = async (event: Record<string, unknown>) => {
    let r = await invoke(event);
    while (r.status === 'continuing') r = await invoke({ ...event, resume: true });
    return r;
  };
  const result = await untilFannedOut(input);
  if (result.status === 'exists' && result.campaign.status !== 'SENT' && result.accounting.queued > 0) {
    return untilFannedOut({ ...input, resume: true });
  }
  return result;
}

export function startLocalScheduler(options: LocalSchedulerOptions): LocalScheduler {
  const clock = options.clock ?? systemClock;
  const file = join(options.dataDir, SCHEDULES_FILE);
  const schedules = new Map<string, LocalSchedule>(load(file).map((s) => [key(s.GroupName, s.Name), s]));
  let timer: NodeJS.Timeout | undefined;
  let firing: Promise<void> = Promise.resolve();
  let stopped = false;

  const save = () => {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify({ schedules: [...schedules.values()] }, null, 2)}\n`);
    renameSync(tmp, file);
  };
  const pending = () => [...schedules.values()].filter((s) => !s.fired && s.State === 'ENABLED').sort((a, b) => a.dueMs - b.dueMs);
  /** A failed save (disk full) is reported, never a reason to fire a send again or to stop the timer. */
  const trySave = (name: string) => {
    try {
      save();
    } catch (err) {
      options.onFire?.({ name, error: `cannot save ${SCHEDULES_FILE}: ${String((err as Error)?.message ?? err).split('\n')[0]}`, willRetry: false });
    }
  };

  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const next = pending()[0];
    if (stopped || !next) return;
    timer = setTimeout(() => void (firing = firing.then(fireDue).catch(() => arm())), Math.min(Math.max(0, next.dueMs - clock.now().getTime()), MAX_TIMER_MS));
    timer.unref();
  };

  const fireDue = async () => {
    for (const s of pending()) {
      if (stopped || s.dueMs > clock.now().getTime()) break;
      const k = key(s.GroupName, s.Name);
      let result: SendResult;
      try {
        result = await fireSend(options.invoke, JSON.parse(s.Target.Input ?? '{}') as Record<string, unknown>);
      } catch (err) {
        s.attempts = (s.attempts ?? 0) + 1;
        const willRetry = s.attempts < MAX_ATTEMPTS;
        // Only this schedule: one cancelled and created again under the same name meanwhile is left alone.
        if (schedules.get(k) === s) {
          if (willRetry) s.dueMs = clock.now().getTime() + (options.retryMs ?? 5000);
          else schedules.delete(k);
          trySave(s.Name);
        }
        options.onFire?.({ name: s.Name, error: String((err as Error)?.message ?? err).split('\n')[0]!, willRetry });
        continue;
      }
      if (schedules.get(k) === s) {
        if (s.ActionAfterCompletion === 'DELETE') schedules.delete(k);
        else s.fired = true;
        trySave(s.Name);
      }
      options.onFire?.({ name: s.Name, result });
    }
    arm();
  };

  const create = (name: string, body: Record<string, unknown>): APIGatewayProxyResultV2 => {
    const group = typeof body.GroupName === 'string' ? body.GroupName : 'default';
    if (schedules.has(key(group, name))) throw new ApiError('ConflictException', 409, `Schedule ${name} already exists.`);
    const target = body.Target as LocalSchedule['Target'] | undefined;
    if (!target || typeof target.Arn !== 'string' || typeof target.RoleArn !== 'string') {
      throw new ApiError('ValidationException', 400, 'Target with Arn and RoleArn is required');
    }
    if (!target.Arn.endsWith(`:function:${SEND_FUNCTION_NAME}`)) {
      throw new ApiError('ValidationException', 400, `the local stack can only target its send function (…:function:${SEND_FUNCTION_NAME})`);
    }
    if (target.Input !== undefined) {
      try {
        JSON.parse(target.Input);
      } catch {
        throw new ApiError('ValidationException', 400, 'Target.Input must be well-formed JSON for a Lambda target');
      }
    }
    const expression = String(body.ScheduleExpression ?? '');
    const timezone = typeof body.ScheduleExpressionTimezone === 'string' ? body.ScheduleExpressionTimezone : undefined;
    const schedule: LocalSchedule = {
      Name: name,
      GroupName: group,
      ScheduleExpression: expression,
      ...(timezone ? { ScheduleExpressionTimezone: timezone } : {}),
      ...(typeof body.Description === 'string' ? { Description: body.Description } : {}),
      ...(typeof body.ActionAfterCompletion === 'string' ? { ActionAfterCompletion: body.ActionAfterCompletion } : {}),
      State: body.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
      Target: { Arn: target.Arn, RoleArn: target.RoleArn, ...(target.Input !== undefined ? { Input: target.Input } : {}) },
      CreationDate: Math.floor(clock.now().getTime() / 1000),
      dueMs: parseAtExpression(expression, timezone),
    };
    schedules.set(key(group, name), schedule);
    save();
    arm();
    return json(200, { ScheduleArn: arnOf(schedule) });
  };

  const route = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> => {
    try {
      const method = event.requestContext.http.method;
      const rest = event.rawPath.slice(SCHEDULES_PATH.length).replace(/^\/+/, '');
      const query = event.queryStringParameters ?? {};
      if (!rest) {
        if (method !== 'GET') throw new ApiError('ValidationException', 405, 'method not allowed');
        const group = query.ScheduleGroup;
        const list = [...schedules.values()].filter((s) => (!group || s.GroupName === group) && (!query.NamePrefix || s.Name.startsWith(query.NamePrefix)));
        return json(200, { Schedules: list.map((s) => ({ Name: s.Name, GroupName: s.GroupName, Arn: arnOf(s), State: s.State, CreationDate: s.CreationDate, Target: { Arn: s.Target.Arn } })) });
      }
      const name = decodeURIComponent(rest);
      if (!NAME.test(name)) throw new ApiError('ValidationException', 400, `invalid schedule name ${JSON.stringify(name.slice(0, 80))}`);
      if (method === 'POST') {
        let body: Record<string, unknown>;
        try {
          const raw = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
          body = JSON.parse(raw || '{}') as Record<string, unknown>;
        } catch {
          throw new ApiError('ValidationException', 400, 'the request body is not JSON');
        }
        return create(name, body);
      }
      const k = key(query.groupName ?? 'default', name);
      const found = schedules.get(k);
      if (!found) throw new ApiError('ResourceNotFoundException', 404, `Schedule ${name} does not exist.`);
      if (method === 'GET') {
        const { dueMs: _due, fired: _fired, attempts: _attempts, ...api } = found;
        return json(200, { ...api, Arn: arnOf(found), FlexibleTimeWindow: { Mode: 'OFF' } });
      }
      if (method === 'DELETE') {
        schedules.delete(k);
        save();
        arm();
        return json(200, {});
      }
      throw new ApiError('ValidationException', 405, 'method not allowed');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return {
        statusCode: err.statusCode,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': err.type },
        body: JSON.stringify({ Message: err.message }),
      };
    }
  };

  arm();
  return {
    route,
    pending,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await firing;
    },
  };
}

function key(group: string, name: string): string {
  return `${group}/${name}`;
}

function arnOf(s: LocalSchedule): string {
  return `arn:aws:scheduler:us-east-1:000000000000:schedule/${s.GroupName}/${s.Name}`;
}

function json(statusCode: number, body: unknown): APIGatewayProxyResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The stored schedules; none when the file is missing. An unreadable file is not silently dropped. */
function load(file: string): LocalSchedule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const parsed = JSON.parse(text) as { schedules?: LocalSchedule[] };
  return Array.isArray(parsed.schedules) ? parsed.schedules : [];
}

/**
 * One call for the local stack (`npm start`, tests): schedules kept in the stack's DATA_DIR, fired into its send
 * function, and the Scheduler API served on its HTTP server.
 */
export function attachSchedulerToStack(
  stack: { info: { dataDir: string }; addRoute(prefix: string, handler: LocalScheduler['route']): void },
  sending: { invokeSend(event: unknown): Promise<SendResult> },
  options: Omit<LocalSchedulerOptions, 'dataDir' | 'invoke'> = {},
): LocalScheduler {
  const scheduler = startLocalScheduler({ ...options, dataDir: stack.info.dataDir, invoke: (event) => sending.invokeSend(event) });
  stack.addRoute(SCHEDULES_PATH, scheduler.route);
  return scheduler;
}
