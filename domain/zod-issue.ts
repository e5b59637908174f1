/** How a zod failure is said in one line: its first issue and where it is (`appliances.1.serial: …`). */
import type { z } from 'zod';

export function firstIssueText(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || '(root)'}: ${issue.message}`;
}
