/**
 * The tables as store/migrations.ts creates them, for Kysely's typed queries. Booleans are INTEGER
 * 0/1, times are BIGINT epoch milliseconds (numbers on both backends, see db.ts), `doc` columns
 * hold the seed's object as JSON text.
 */
import type { Generated } from 'kysely';
import type { OperationKind } from '../domain/operation';
import type { ImageRepository, ImageSource, OperationStatus, ProductCode } from '../domain/scc';

export interface Database {
  appliances: {
    serial: string;
    product_code: ProductCode;
    arch: string | null;
    connected: number;
    last_seen_ms: number | null;
    doc: string;
    connection: string | null;
    updated_ms: number;
  };
  collectors: {
    id: number;
    collector_type: string;
    alive: number;
    collector_version: string | null;
    doc: string;
    updated_ms: number;
  };
  version_history: {
    id: Generated<number>;
    serial: string;
    from_version_id: string | null;
    to_version_id: string;
    operation_id: string | null;
    at_ms: number;
  };
  images: {
    id: string;
    repository: ImageRepository;
    source: ImageSource;
    product_code: ProductCode;
    arch: string;
    target_version_id: string;
    delta: number;
    doc: string;
    created_ms: number;
    definition_id: string | null;
  };
  operations: {
    id: string;
    kind: OperationKind;
    status: OperationStatus;
    username: string;
    product_code: ProductCode | null;
    create_time_ms: number;
    doc: string;
    updated_ms: number;
  };
  appliance_tasks: {
    operation_id: string;
    serial: string;
    kind: OperationKind;
    status: string;
    stage: string;
    doc: string;
    updated_ms: number;
  };
  log_entries: {
    id: Generated<number>;
    operation_id: string;
    serial: string;
    timestamp_ms: number;
    severity: string;
    doc: string;
  };
  collector_upgrade_tasks: {
    id: Generated<number>;
    collector_id: number;
    to_version: string;
    request_time_ms: number;
    status: number;
    message: string;
    updated_ms: number;
  };
  settings: { key: string; value: string };
  access_keys: {
    access_id: string;
    key_hash: string;
    role: string;
    created_ms: number;
    expires_ms: number | null;
    revoked_ms: number | null;
    last_used_ms: number | null;
  };
  audit_log: {
    id: Generated<number>;
    at_ms: number;
    actor: string;
    action: string;
    target: string;
    outcome: string;
    client: string;
    details: string;
  };
  schema_migrations: { version: number; name: string; applied_ms: number };
}
