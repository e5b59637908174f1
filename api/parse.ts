/** Request values through their zod schema: the first issue becomes a 400 naming the field. */
import type { z } from 'zod';
import { badRequest } from './errors';

export function parseRequest<T extends z.ZodType>(schema: T, value: unknown, prefix = ''): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    // An unknown property (or query parameter) is named itself, not the object around it.
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    throw badRequest([prefix, ...path].filter((p) => p !== '').join('.') || 'body', issue.message);
  }
  return result.data;
}
