/** How a failed zod parse is told: the first issue, naming the field it is about. */
import type { z } from 'zod';

export interface FieldIssue {
  /** The dotted path of the field, or the name of the whole value when that is what is wrong. */
  field: string;
  message: string;
}

/** The first issue of a failed parse; an unknown property is named itself, not the object around it. */
export function firstFieldIssue(
  error: z.ZodError,
  { prefix = [], whole = 'body' }: { prefix?: readonly PropertyKey[]; whole?: string } = {},
): FieldIssue {
  const issue = error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = [...prefix, ...path]
    .map(String)
    .filter((part) => part !== '')
    .join('.');
  return { field: field || whole, message: issue.message };
}

/**
 * A JSON file's text through its schema (the simulator's fleet file, the inventory file): an error names the
 * file and its first bad field; nothing is returned half-read.
 */
export function parseJsonFile<T extends z.ZodType>(what: string, schema: T, text: string): z.output<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const { field, message } = firstFieldIssue(result.error, { whole: '(root)' });
    throw new Error(`${what}: ${field}: ${message}`);
  }
  return result.data;
}

/** The first serial listed twice, with its index, if any. */
export function repeatedSerial(
  appliances: readonly { serial: string }[],
): { index: number; serial: string } | undefined {
  const seen = new Set<string>();
  for (const [index, { serial }] of appliances.entries()) {
    if (seen.has(serial)) return { index, serial };
    seen.add(serial);
  }
  return undefined;
}
