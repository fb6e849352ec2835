/**
 * How `--aws` finds the deployed resources (bin/commands/aws-outputs.ts): the file `cdk deploy --outputs-file` writes,
 * environment fallbacks, one clear error naming what is missing, and the table command using them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  OUTPUT_SOURCES, awsStackOutputs, readStackOutputs, regionOf, requireOutputs,
} from '../../bin/commands/aws-outputs.ts';
import { CliError } from '../../bin/commands/common.ts';
import { openTable } from '../../bin/commands/table.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'aws-outputs-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Write a cdk-outputs.json-shaped file and return its path. */
function outputsFile(content: unknown): string {
  const file = path.join(dir, `outputs-${++n}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** What `cdk deploy --all --outputs-file` writes for one deployment (values as CloudFormation resolves them). */
const DEPLOYED = {
  'Newsletter-Stateful': {
    TableName: 'Newsletter-Stateful-Table1234',
    IssueBucketName: 'newsletter-issues-123456789012-eu-west-1',
    ScheduleRoleArn: 'arn:aws:iam::123456789012:role/Newsletter-Stateful-ScheduleRole',
    ScheduleGroupName: 'newsletter',
    TokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:TokenKeys-AbCdEf',
    ConfigurationSetName: 'ConfigurationSet3DD38186-abc',
    ExportsOutputRefTable12345: 'Newsletter-Stateful-Table1234',
  },
  'Newsletter-Stateless': {
    SendFunctionName: 'Newsletter-Stateless-Send5678',
    SendFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Newsletter-Stateless-Send5678',
    PublicBaseUrl: 'https://news.example.com',
    Sender: "Akira's ML News <news@example.com>",
    ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
  },
  SomethingElse: { TableName: 'not ours' },
};

/** Expect `promise` to reject with a CliError of exit code 2 and return its message. */
async function usageError(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  expect((err as CliError).exitCode).toBe(2);
  expect((err as Error).message).not.toContain('\n');
  return (err as Error).message;
}

describe('awsStackOutputs', () => {
  it('reads every output of both stacks from the file CDK_OUTPUTS_FILE names, with the region from an ARN', async () => {
    const outputs = await awsStackOutputs({ CDK_OUTPUTS_FILE: outputsFile(DEPLOYED) });
    expect(outputs).toEqual({
      tableName: 'Newsletter-Stateful-Table1234',
      sendFunctionName: 'Newsletter-Stateless-Send5678',
      sendFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Newsletter-Stateless-Send5678',
      bucketName: 'newsletter-issues-123456789012-eu-west-1',
      scheduleRoleArn: 'arn:aws:iam::123456789012:role/Newsletter-Stateful-ScheduleRole',
      scheduleGroupName: 'newsletter',
      publicBaseUrl: 'https://news.example.com',
      tokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:TokenKeys-AbCdEf',
      sender: "Akira's ML News <news@example.com>",
      configurationSetName: 'ConfigurationSet3DD38186-abc',
      region: 'eu-west-1',
    });
  });

  it('reads ./cdk-outputs.json by default, relative to the working directory', async () => {
    const cwd = process.cwd();
    const work = mkdtempSync(path.join(dir, 'cwd-'));
    writeFileSync(path.join(work, 'cdk-outputs.json'), JSON.stringify(DEPLOYED));
    process.chdir(work);
    try {
      expect((await awsStackOutputs({})).tableName).toBe('Newsletter-Stateful-Table1234');
    } finally {
      process.chdir(cwd);
    }
  });

  it('falls back to environment variables for what the file lacks, and without any file', async () => {
    const partial = outputsFile({ 'Newsletter-Stateful': { TableName: 'from-file' } });
    const env = { TABLE_NAME: 'from-env', SEND_FUNCTION_NAME: 'send-from-env', SCHEDULE_GROUP_NAME: 'group-from-env' };
    expect(await awsStackOutputs({ ...env, CDK_OUTPUTS_FILE: partial })).toEqual({
      tableName: 'from-file',
      sendFunctionName: 'send-from-env',
      scheduleGroupName: 'group-from-env',
    });
    const cwd = process.cwd();
    process.chdir(mkdtempSync(path.join(dir, 'empty-'))); // no cdk-outputs.json here
    try {
      expect(await awsStackOutputs(env)).toMatchObject({ tableName: 'from-env', sendFunctionName: 'send-from-env' });
      expect((await awsStackOutputs(env)).region).toBeUndefined();
    } finally {
      process.chdir(cwd);
    }
  });

  it('names every missing output and its variable in one line (exit 2)', async () => {
    const message = await usageError(awsStackOutputs({ CDK_OUTPUTS_FILE: outputsFile({ 'Newsletter-Stateless': { ApiUrl: 'x' } }) }));
    expect(message).toContain('TableName (or TABLE_NAME)');
    expect(message).toContain('SendFunctionName (or SEND_FUNCTION_NAME)');
    expect(message).toContain('--outputs-file cdk-outputs.json');
    const onlyFunction = await usageError(awsStackOutputs({ CDK_OUTPUTS_FILE: outputsFile({}), TABLE_NAME: 't' }));
    expect(onlyFunction).toContain('SendFunctionName');
    expect(onlyFunction).not.toContain('TableName');
  });

  it('a missing, unreadable or malformed file is a one-line usage error, not a fallback', async () => {
    expect(await usageError(awsStackOutputs({ CDK_OUTPUTS_FILE: path.join(dir, 'absent.json'), TABLE_NAME: 't', SEND_FUNCTION_NAME: 'f' }))).toContain(
      'absent.json',
    );
    expect(await usageError(awsStackOutputs({ CDK_OUTPUTS_FILE: outputsFile('{"Newsletter-Stateful": ') }))).toMatch(/not the JSON/);
    expect(await usageError(awsStackOutputs({ CDK_OUTPUTS_FILE: outputsFile('[1, 2]') }))).toMatch(/not the JSON/);
    expect(await usageError(awsStackOutputs({ CDK_OUTPUTS_FILE: dir }))).toContain(dir);
  });

  it('picks one deployment with NEWSLETTER_STACK_PREFIX when the file holds several, and refuses to guess', async () => {
    const file = outputsFile({
      ...DEPLOYED,
      'Staging-Stateful': { TableName: 'staging-table' },
      'Staging-Stateless': { SendFunctionName: 'staging-send', SendFunctionArn: 'arn:aws:lambda:us-east-2:123456789012:function:s' },
    });
    const ambiguous = await usageError(awsStackOutputs({ CDK_OUTPUTS_FILE: file }));
    expect(ambiguous).toContain('Newsletter, Staging');
    expect(ambiguous).toContain('NEWSLETTER_STACK_PREFIX');
    expect(await awsStackOutputs({ CDK_OUTPUTS_FILE: file, NEWSLETTER_STACK_PREFIX: 'Staging' })).toEqual({
      tableName: 'staging-table',
      sendFunctionName: 'staging-send',
      sendFunctionArn: 'arn:aws:lambda:us-east-2:123456789012:function:s',
      region: 'us-east-2',
    });
    expect(await usageError(awsStackOutputs({ CDK_OUTPUTS_FILE: file, NEWSLETTER_STACK_PREFIX: 'Prod' }))).toContain('Prod-Stateful');
  });

  it('reads the output keys the stacks declare (INTERFACES point 3)', () => {
    expect(Object.values(OUTPUT_SOURCES).map((s) => s.output).sort()).toEqual(
      [
        'ConfigurationSetName', 'IssueBucketName', 'PublicBaseUrl', 'ScheduleGroupName', 'ScheduleRoleArn', 'SendFunctionArn',
        'SendFunctionName', 'Sender', 'TableName', 'TokenSecretArn',
      ],
    );
  });
});

describe('readStackOutputs and requireOutputs', () => {
  it('readStackOutputs requires nothing; requireOutputs asks only for the names given', async () => {
    expect(await readStackOutputs({ CDK_OUTPUTS_FILE: outputsFile({}) })).toEqual({});
    const found = await readStackOutputs({ CDK_OUTPUTS_FILE: outputsFile({}), TABLE_NAME: 't' });
    expect(requireOutputs(found, ['tableName']).tableName).toBe('t');
    expect(() => requireOutputs(found, ['tableName', 'scheduleRoleArn'])).toThrow(/ScheduleRoleArn \(or SCHEDULE_ROLE_ARN\)/);
  });

  it('regionOf reads regional ARNs and API URLs, not global IAM ARNs', () => {
    expect(regionOf('arn:aws:lambda:ap-southeast-2:123456789012:function:f')).toBe('ap-southeast-2');
    expect(regionOf('arn:aws-us-gov:dynamodb:us-gov-west-1:123456789012:table/t')).toBe('us-gov-west-1');
    expect(regionOf('https://abc.execute-api.eu-central-1.amazonaws.com/')).toBe('eu-central-1');
    expect(regionOf('arn:aws:iam::123456789012:role/r')).toBeUndefined();
    expect(regionOf('https://news.example.com')).toBeUndefined();
  });
});

describe('openTable --aws', () => {
  // The SDK reads its region from process.env and the AWS config files: blank them for these tests.
  const saved = { ...process.env };
  const noRegion = () => {
    for (const k of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[k];
    process.env.AWS_CONFIG_FILE = path.join(dir, 'no-config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'no-credentials');
  };
  afterEach(() => {
    for (const k of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('takes the table name and region from the stack outputs (no AWS_REGION needed)', async () => {
    noRegion();
    const target = await openTable({ aws: true }, { CDK_OUTPUTS_FILE: outputsFile(DEPLOYED) });
    try {
      expect(target.tableName).toBe('Newsletter-Stateful-Table1234');
      expect(target.local).toBeUndefined();
    } finally {
      target.close();
    }
  });

  it('--table wins over the outputs, and then the region must come from the SDK chain', async () => {
    noRegion();
    const file = outputsFile(DEPLOYED);
    expect(await usageError(openTable({ aws: true, table: 'other' }, { CDK_OUTPUTS_FILE: file }))).toMatch(/needs an AWS region/);
    process.env.AWS_REGION = 'us-west-2';
    const target = await openTable({ aws: true, table: 'other' }, { CDK_OUTPUTS_FILE: file });
    expect(target.tableName).toBe('other');
    target.close();
  });

  it('without --table, outputs or TABLE_NAME: a usage error saying all three ways', async () => {
    const message = await usageError(openTable({ aws: true }, { CDK_OUTPUTS_FILE: outputsFile({}) }));
    expect(message).toMatch(/--table NAME or set TABLE_NAME/);
    expect(message).toContain('--outputs-file cdk-outputs.json');
  });
});
