import {
  applianceTaskWorkflowId,
  finalOperationStatus,
  formatDuration,
  operationWorkflowId,
} from '../../domain/operation';

describe('finalOperationStatus', () => {
  it('is successful only when every task succeeded', () => {
    expect(finalOperationStatus(['successful', 'successful'])).toBe('successful');
  });
  it('is partially_successful when some but not all succeeded', () => {
    expect(finalOperationStatus(['successful', 'failed'])).toBe('partially_successful');
    expect(finalOperationStatus(['successful', 'cancelled'])).toBe('partially_successful');
  });
  it('is cancelled when every task was cancelled', () => {
    expect(finalOperationStatus(['cancelled', 'cancelled'])).toBe('cancelled');
  });
  it('is failed when nothing succeeded and something failed', () => {
    expect(finalOperationStatus(['failed', 'cancelled'])).toBe('failed');
    expect(finalOperationStatus([])).toBe('failed');
  });
});

describe('workflow ids', () => {
  it('are readable in the Web UI', () => {
    expect(operationWorkflowId('upgrade', '42')).toBe('upgrade-42');
    expect(applianceTaskWorkflowId('upgrade', '42', 'S12340000001')).toBe('upgrade-42-S12340000001');
  });
});

describe('formatDuration', () => {
  it.each([
    [30 * 60_000, '30 minutes'],
    [60_000, '1 minute'],
    [2 * 3_600_000, '2 hours'],
    [45_000, '45 seconds'],
    [90_000, '90 seconds'],
    [1000, '1 second'],
  ])('%d ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
