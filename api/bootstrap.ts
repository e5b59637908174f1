/**
 * The first admin access key, so a new installation can be used without touching the database:
 * from FLEET_ADMIN_ACCESS_ID/FLEET_ADMIN_ACCESS_KEY when given (re-applied at every start, so
 * rotating the variable rotates the key), otherwise generated once when no key exists and written
 * to a file only the owner can read. The key never goes to a log line.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FleetStore } from '../store/fleet-store';
import { putAccessKey } from './auth';

export type AdminBootstrap = { source: 'environment'; accessId: string } | { source: 'generated'; accessId: string; file: string } | { source: 'existing' };

export async function bootstrapAdmin(store: FleetStore, options: { accessId?: string; accessKey?: string; keyFile: string }): Promise<AdminBootstrap> {
  if (options.accessId !== undefined && options.accessKey !== undefined) {
    await putAccessKey(store, options.accessId, options.accessKey, 'admin');
    return { source: 'environment', accessId: options.accessId };
  }
  if ((await store.countAccessKeys()) > 0) return { source: 'existing' };
  const accessId = 'admin';
  const accessKey = randomBytes(24).toString('base64url');
  await putAccessKey(store, accessId, accessKey, 'admin');
  mkdirSync(dirname(options.keyFile), { recursive: true });
  writeFileSync(options.keyFile, `${accessId}:${accessKey}\n`, { mode: 0o600 });
  return { source: 'generated', accessId, file: options.keyFile };
}
