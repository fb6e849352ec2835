/**
 * `npm start`: the whole pipeline on this machine, on real emulators.
 * Environment: PORT (3000), SES_PORT (8005), DYNAMODB_PORT (8001), DATA_DIR (.data).
 */
import { startLocalStack } from './stack.ts';
import { dataDirFrom } from './stack-info.ts';

function portFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`npm start: ${name}=${raw} is not a port number\n`);
    process.exit(2);
  }
  return n;
}

let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    ...(portFromEnv('PORT') !== undefined ? { port: portFromEnv('PORT') } : {}),
    ...(portFromEnv('SES_PORT') !== undefined ? { sesPort: portFromEnv('SES_PORT') } : {}),
    ...(portFromEnv('DYNAMODB_PORT') !== undefined ? { dynamoPort: portFromEnv('DYNAMODB_PORT') } : {}),
    dataDir: dataDirFrom(),
    ...(process.env.SENDER ? { sender: process.env.SENDER } : {}),
    ...(process.env.PUBLIC_BASE_URL ? { publicBaseUrl: process.env.PUBLIC_BASE_URL } : {}),
  });
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'EADDRINUSE' ? ' (is another stack running? set PORT, SES_PORT or DYNAMODB_PORT)' : '';
  process.stderr.write(`npm start: ${e.message.split('\n')[0]}${hint}\n`);
  process.exit(1);
}

const { urls, info } = stack;
process.stdout.write(
  [
    'Newsletter local stack is running:',
    `  Subscribe form      ${urls.subscribeUrl}`,
    `  HTTP API            ${urls.baseUrl}  (GET /health)`,
    `  SES inbox (web)     ${urls.sesEndpoint}/`,
    `  SES store (JSON)    ${urls.sesEndpoint}/store`,
    `  DynamoDB (dynalite) ${urls.dynamoEndpoint}  table ${info.tableName}`,
    `  Data directory      ${info.dataDir}`,
    'Press Ctrl+C to stop.',
    '',
  ].join('\n'),
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    void stack.stop().then(() => process.exit(0));
  });
}
