/**
 * Who may use the API: access keys with a role (api/auth.ts says what each role may do), and the
 * audit trail of every change and refused attempt. Schemas of the service's own extension API
 * (`/api/fleet/1.0`, admin only), in the seeds' conventions: seconds since the epoch, snake_case.
 */
import { z } from 'zod';
import { MAX, queryNumber, text, timestamp } from './scc';

export const ROLES = ['read_only', 'operator', 'internal_service', 'admin'] as const;
export const role = z.enum(ROLES);
export type Role = z.infer<typeof role>;

/** An access id: the user name of HTTP Basic, so no colon (and no white space). */
export const accessId = text()
  .min(1)
  .regex(/^[^:\s]+$/, 'must not contain a colon or white space');

export const ACCESS_KEY_STATUSES = ['active', 'expired', 'revoked'] as const;

/** An access key as listed: never the key itself. */
export const accessKey = z.object({
  access_id: accessId,
  role,
  status: z.enum(ACCESS_KEY_STATUSES),
  create_time: timestamp,
  last_used_time: timestamp.optional(),
  expires_time: timestamp.optional(),
  revoke_time: timestamp.optional(),
});
export type AccessKey = z.infer<typeof accessKey>;
export const accessKeys = z.array(accessKey);

export const accessKeyCreateRequest = z.strictObject({ access_id: accessId, role, expires_time: timestamp.optional() });
export type AccessKeyCreateRequest = z.infer<typeof accessKeyCreateRequest>;

/** The answer of a create or rotate: the only time the key is ever shown. */
export const accessKeyCreated = accessKey.extend({ access_key: z.string().min(12) });
export type AccessKeyCreated = z.infer<typeof accessKeyCreated>;

/** One entry of the audit trail: who did (or tried) what, when, from where, and how it ended. */
export const auditEntry = z.object({
  id: z.number().int(),
  time: timestamp,
  actor: text(),
  action: text(),
  target: text(MAX.text),
  outcome: text(),
  client: text(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof auditEntry>;
export const auditEntries = z.array(auditEntry);

/** The query of the audit trail: entries since a time (seconds), of one actor, newest last, at most `limit`. */
export const auditQuery = z.strictObject({
  since: queryNumber('since').optional(),
  actor: text().min(1).optional(),
  limit: z
    .preprocess(
      (v) => (typeof v === 'string' && /^\d{1,6}$/.test(v) ? Number(v) : v),
      z.number().int().min(1).max(10_000),
    )
    .default(1_000),
});
export type AuditQuery = z.infer<typeof auditQuery>;
