/**
 * SCC operations of one kind (upgrade, downgrade or reboot): list, create, read, retry and log.
 * Their controls are in scc-operation-controls.ts, their appliance tasks in scc-tasks.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  createOperation,
  InvalidRequestError,
  OperationConflictError,
  OperationNotFoundError,
  retryOperation,
  type Created,
  type CreateOperationOptions,
} from '../client/operations';
import { createdMessage, taskFields, type OperationKind } from '../domain/operation';
import { operationsQuery, type OperationsQuery } from '../domain/scc';
import type { FleetStore } from '../store/fleet-store';
import { ineligibleAppliances } from '../store/fleet-facts';
import { badRequest, conflict, notFound } from './errors';
import { parseRequest } from './parse';
import { existingOperation, nowSeconds, type KindOptions, type OperationParams } from './scc-context';

type Create = (options: CreateOperationOptions) => Promise<Created & { linked?: Created }>;

export async function operationRoutes(app: FastifyInstance, options: KindOptions): Promise<void> {
  const { client, store, kind, require } = options;
  const path = `/operations/${kind}`;

  app.get(path, async (request) => {
    require(request, 'read');
    return store.listOperations(kind, listFilter(parseRequest(operationsQuery, request.query)));
  });

  app.post(path, async (request, reply) => {
    const username = require(request, 'operate');
    const create: Create = (o) => createOperation(client, kind, request.body, o);
    return answerCreated(options, request, reply, username, create);
  });

  app.get<OperationParams>(`${path}/:id`, async (request) => {
    require(request, 'read');
    return existingOperation(store, kind, request.params.id);
  });

  // Rollout safety: a new operation over what did not succeed.
  app.post<OperationParams>(`${path}/:id/retry`, async (request, reply) => {
    const username = require(request, 'operate');
    const retry: Create = (o) => retryOperation(client, store, kind, request.params.id, o);
    return answerCreated(options, request, reply, username, retry);
  });

  app.get<OperationParams>(`${path}/:id/log`, async (request) => {
    require(request, 'read');
    await existingOperation(store, kind, request.params.id);
    return { operation_id: request.params.id, log: await store.getLog(request.params.id) };
  });
}

/** The store's filter of a list request (its times in seconds, the store's in milliseconds). */
function listFilter(query: OperationsQuery) {
  return {
    ...(query.username !== undefined ? { username: query.username } : {}),
    ...(query.status !== undefined ? { status: query.status } : {}),
    ...(query.time_lower_bound !== undefined ? { timeLowerBoundMs: query.time_lower_bound * 1000 } : {}),
    ...(query.time_upper_bound !== undefined ? { timeUpperBoundMs: query.time_upper_bound * 1000 } : {}),
  };
}

/** Creates (a new operation, or a retry), records it, answers 201 with it at `location`. */
async function answerCreated(
  options: KindOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  username: string,
  create: Create,
): Promise<FastifyReply> {
  const { store, logger, kind, taskQueue } = options;
  let created: Awaited<ReturnType<Create>>;
  try {
    created = await create({
      taskQueue,
      username,
      timeZones: (serials) => store.timeZones(serials),
      eligibility: (k, body) => ineligibleAppliances(store, k, body),
    });
  } catch (err) {
    throw creationError(kind, err);
  }
  const { operation, linked } = created;
  if (linked) await recordCreated(store, 'reboot', linked);
  await recordCreated(store, kind, created);
  const links = {
    ...(linked ? { rebootId: linked.operation.id } : {}),
    ...(operation.retry_of ? { retryOf: operation.retry_of } : {}),
  };
  logger.info(
    { operationId: operation.id, kind, username, appliances: operation.appliances.length, ...links },
    `${kind} operation created`,
  );
  // Under the spelling asked (a retry's new operation is a sibling of the old one).
  const collection = request.url.replace(/\?.*$/, '').replace(/\/[^/]+\/retry$/, '');
  return reply.code(201).header('location', `${collection}/${operation.id}`).send(operation);
}

/** A refused creation in the API's terms. */
function creationError(kind: OperationKind, err: unknown): unknown {
  if (err instanceof InvalidRequestError) return badRequest(err.field, err.message.slice(err.field.length + 2));
  if (err instanceof OperationConflictError) return conflict(err.message, err.code);
  if (err instanceof OperationNotFoundError) return notFound(`${kind} operation ${err.operationId}`);
  return err;
}

/** Stored before answering, so it can be read at once (the workflow records the same, idempotently). */
async function recordCreated(store: FleetStore, kind: OperationKind, created: Created): Promise<void> {
  const { operation, startAtBySerial } = created;
  const fields = (serial: string) => taskFields(kind, operation, startAtBySerial?.[serial]);
  const entry = { timestamp: nowSeconds(), severity: 'info' as const, log_entry: createdMessage(kind, operation) };
  await store.recordNewOperation(kind, operation, fields, entry);
}
