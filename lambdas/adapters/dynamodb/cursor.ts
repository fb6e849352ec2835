/**
 * Opaque paging cursors: base64url of a DynamoDB LastEvaluatedKey (plain JSON: our keys are strings).
 * Anything else given as a cursor is refused with an InvalidCursorError instead of reaching DynamoDB.
 */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('Invalid paging cursor');
  }
  if (
    typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) ||
    !Object.values(parsed).every((v) => typeof v === 'string')
  ) {
    throw new InvalidCursorError('Invalid paging cursor');
  }
  return parsed as Record<string, string>;
}
