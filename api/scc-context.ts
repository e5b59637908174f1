/** What every SCC route plugin is given, and the look-ups its routes share. */
import type { Client } from '@temporalio/client';
import type { FastifyRequest } from 'fastify';
import type { Logger } from '../domain/logging';
import type { OperationKind } from '../domain/operation';
import type { FleetStore } from '../store/fleet-store';
import type { Permission } from './auth';
import { ApiError, notFound } from './errors';

export interface SccOptions {
  client: Client;
  store: FleetStore;
  logger: Logger;
  taskQueue: string;
  /** Checks the caller may do this; throws 403 otherwise. */
  require: (request: FastifyRequest, permission: Permission) => string;
}

/** The plugins registered once per kind of operation (upgrade, downgrade, reboot). */
export interface KindOptions extends SccOptions {
  kind: OperationKind;
}

/** Path parameters of an operation's routes, checked against the document before a handler runs (server.ts). */
export type OperationParams = { Params: { id: string } };
/** Path parameters of a task's routes. */
export type TaskParams = { Params: { id: string; serial: string } };

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export async function existingOperation(store: FleetStore, kind: OperationKind, id: string) {
  const operation = await store.getOperation(kind, id);
  if (!operation) throw notFound(`${kind} operation ${id}`);
  return operation;
}

export async function existingTask(store: FleetStore, kind: OperationKind, id: string, serial: string) {
  await existingOperation(store, kind, id);
  const task = await store.getTask(id, serial);
  if (!task) throw notFound(`appliance ${serial} in ${kind} operation ${id}`);
  return task;
}

/** A cancel (pause, resume) of what has already finished: 409, and nothing changes. */
export const alreadyFinished = (what: string, status: string, action = 'cancel'): ApiError =>
  new ApiError(409, 'ALREADY_FINISHED', `${what} has already finished (${status}); there is nothing to ${action}`);
