/**
 * Controls of a running SCC operation of one kind: cancel (the seed), pause and resume (as
 * `fleet pause` / `fleet resume`) and the approval between waves (rollout.approval).
 */
import type { FastifyInstance } from 'fastify';
import {
  cancelOperation,
  decideApproval,
  isTerminal,
  OperationConflictError,
  OperationNotFoundError,
  setOperationPaused,
} from '../client/operations';
import { conflict } from './errors';
import { alreadyFinished, existingOperation, type KindOptions, type OperationParams } from './scc-context';

export async function operationControlRoutes(app: FastifyInstance, options: KindOptions): Promise<void> {
  const { client, store, logger, kind, require } = options;
  const path = `/operations/${kind}`;

  /** Runs a control of an operation that has not finished; a workflow already closed means it finished meanwhile. */
  const control = async (id: string, action: string, send: () => Promise<void>): Promise<void> => {
    const operation = await existingOperation(store, kind, id);
    const finished = () => alreadyFinished(`${kind} operation ${id}`, operation.status, action);
    if (isTerminal(operation.status)) throw finished();
    await send().catch((err: unknown) => {
      // Stored but its workflow is closed: it finished after the store was read.
      if (err instanceof OperationNotFoundError) throw finished();
      throw err;
    });
  };

  app.post<OperationParams>(`${path}/:id/cancel`, async (request, reply) => {
    const username = require(request, 'operate');
    const { id } = request.params;
    await control(id, 'cancel', () => cancelOperation(client, id, kind));
    logger.info({ operationId: id, kind, username }, `${kind} operation cancel requested`);
    return reply.code(204).send();
  });

  // Extensions: pause (no new task starts; running ones go on) and resume.
  for (const action of ['pause', 'resume'] as const) {
    app.post<OperationParams>(`${path}/:id/${action}`, async (request, reply) => {
      const username = require(request, 'operate');
      const { id } = request.params;
      await control(id, action, () => setOperationPaused(client, id, action === 'pause', kind));
      logger.info({ operationId: id, kind, username }, `${kind} operation ${action} requested`);
      return reply.code(204).send();
    });
  }

  for (const verb of ['approve', 'reject'] as const) {
    app.post<OperationParams>(`${path}/:id/${verb}`, async (request) => {
      const username = require(request, 'operate');
      const { id } = request.params;
      const approval = await decide(options, id, verb === 'approve', username);
      const decided = verb === 'approve' ? 'approved' : 'rejected';
      logger.info({ operationId: id, kind, username, afterWave: approval.after_wave }, `${kind} operation ${decided}`);
      return { id, approval };
    });
  }
}

/** The decision on the approval an operation awaits (409 when it awaits none or has finished). */
async function decide({ client, store, kind }: KindOptions, id: string, approve: boolean, username: string) {
  const operation = await existingOperation(store, kind, id);
  if (isTerminal(operation.status)) {
    const message = `${kind} operation ${id} has already finished (${operation.status}); there is no approval to give`;
    throw conflict(message, 'ALREADY_FINISHED');
  }
  const notAwaiting = () => conflict(`${kind} operation ${id} is not awaiting approval`, 'NOT_AWAITING_APPROVAL');
  if ((operation.approval as { state?: string } | undefined)?.state !== 'awaiting') throw notAwaiting();
  try {
    return await decideApproval(client, id, { approve, username }, kind);
  } catch (err) {
    if (err instanceof OperationConflictError || err instanceof OperationNotFoundError) throw notAwaiting();
    throw err;
  }
}
