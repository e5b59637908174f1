/**
 * Request values through their zod schema: the one place where a zod issue becomes an API error.
 * By default the first issue is a 400 in the SCC terms naming the field; the Sumo API passes its
 * own error (the seed's codes).
 *
 * Handlers parse (rather than Fastify's schema validation or a zod type provider) because the
 * permission check (403) comes before the body's (400), some bodies are checked by client/ (an
 * operation request) or kept as sent (PUT /logging), and each Sumo route has its own error codes.
 */
import type { z } from 'zod';
import { firstFieldIssue } from '../domain/validation';
import { badRequest, type ApiError } from './errors';

/** Turns the first issue of a failed parse, and the field it names, into the answer. */
export type IssueError = (issue: z.core.$ZodIssue, field: string) => ApiError;

export interface ParseOptions {
  /** Where the value sits in the request: a path parameter's name (`product_code`). */
  prefix?: string;
  error?: IssueError;
}

const invalidRequest: IssueError = (issue, field) => badRequest(field, issue.message);

export function parseRequest<T extends z.ZodType>(schema: T, value: unknown, options: ParseOptions = {}): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { field } = firstFieldIssue(result.error, { prefix: options.prefix ? [options.prefix] : [] });
  throw (options.error ?? invalidRequest)(result.error.issues[0]!, field);
}
