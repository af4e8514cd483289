// `eau2 local` decides from each node's /healthz answer whether that node has started.
import { describe, expect, it } from 'vitest';
import { startState } from '../../app/cli/local-command.js';

describe('eau2 local: when a node counts as started', () => {
  it('only the node it started, healthy or up-but-degraded', () => {
    expect(startState('n1', 200, { node: 'n1', status: 'ok' })).toBe('up');
    // Another process on the port (another cluster's node, anything else) is not ours.
    expect(startState('n1', 200, { node: 'n2', status: 'ok' })).toBe('waiting');
    expect(startState('n1', 200, {})).toBe('waiting');
    // A full disk or a damaged engine: started, and the reason is printed instead of a timeout.
    expect(startState('n1', 503, { node: 'n1', status: 'degraded', reason: 'disk full' })).toBe('degraded');
    expect(startState('n1', 503, { node: 'n1', status: 'failed' })).toBe('degraded');
    // Still opening its partitions.
    expect(startState('n1', 503, { node: 'n1', status: 'starting' })).toBe('waiting');
    expect(startState('n1', 503, { node: 'n2', status: 'degraded' })).toBe('waiting');
  });
});
