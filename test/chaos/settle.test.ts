// The "settled" predicates the chaos scheduler waits on between faults (settle.ts): every in-sync set
// full, every follower in-sync, every node up and every node's view the same (eau2); cluster_state
// ok, an online replica per master serving slots, replicas' links up (Redis Cluster).

import { describe, expect, it } from 'vitest';
import { type ClusterView, type RedisNodeState, redisUnsettledReason, unsettledReason } from './settle.js';

const IDS = ['n1', 'n2', 'n3'];

function view(over: (v: ClusterView) => void = () => {}): ClusterView {
  const v: ClusterView = {
    replicationFactor: 2,
    nodes: IDS.map((id) => ({ id, status: 'up' })),
    partitions: [
      { partition: 0, epoch: 3, leader: 'n1', isr: ['n1', 'n2'], followers: [{ id: 'n2', state: 'in-sync' }] },
      { partition: 1, epoch: 2, leader: 'n3', isr: ['n3', 'n1'], followers: [{ id: 'n1', state: 'in-sync' }] },
    ],
  };
  over(v);
  return v;
}

const views = (...vs: ClusterView[]): Map<string, ClusterView> => new Map(vs.map((v, i) => [IDS[i]!, v]));

describe('unsettledReason (eau2 /cluster of every node)', () => {
  it('is null when every view has full in-sync sets, in-sync followers, and they agree', () => {
    expect(unsettledReason(views(view(), view(), view()), IDS)).toBeNull();
  });

  it('names a missing node, a node seen down, a short in-sync set, a follower catching up', () => {
    expect(unsettledReason(views(view(), view()), IDS)).toMatch(/n3 did not answer/);
    expect(
      unsettledReason(
        views(
          view(),
          view((v) => (v.nodes[2]!.status = 'down')),
          view(),
        ),
        IDS,
      ),
    ).toMatch(/n2 sees n3 down/);
    expect(
      unsettledReason(
        views(
          view(),
          view(),
          view((v) => (v.partitions[0]!.isr = ['n1'])),
        ),
        IDS,
      ),
    ).toMatch(/partition 0 in-sync set \[n1\]/);
    const resyncing = view((v) => (v.partitions[1]!.followers = [{ id: 'n1', state: 'catching-up' }]));
    expect(unsettledReason(views(resyncing, view(), view()), IDS)).toMatch(/follower n1 catching-up/);
    const noAnswer = view((v) => (v.partitions[1]!.followers = null));
    expect(unsettledReason(views(view(), noAnswer, view()), IDS)).toMatch(/no follower state/);
  });

  it('names a partition on which two nodes disagree (epoch or leader)', () => {
    const stale = view((v) => {
      v.partitions[0] = { ...v.partitions[0]!, epoch: 2, leader: 'n2', isr: ['n2', 'n1'] };
    });
    expect(unsettledReason(views(view(), view(), stale), IDS)).toMatch(/views differ on partition 0/);
  });
});

describe('redisUnsettledReason (INFO replication, CLUSTER INFO)', () => {
  const master = (port: number, replicas: string): RedisNodeState => ({
    port,
    clusterInfo: 'cluster_state:ok\r\n',
    replication: `# Replication\r\nrole:master\r\nconnected_slaves:1\r\n${replicas}`,
    servesSlots: true,
  });
  const replica = (port: number, link: string, syncing = '0'): RedisNodeState => ({
    port,
    clusterInfo: 'cluster_state:ok\r\n',
    replication: `role:slave\r\nmaster_link_status:${link}\r\nmaster_sync_in_progress:${syncing}\r\n`,
    servesSlots: false,
  });
  const online = 'slave0:ip=127.0.0.1,port=7002,state=online,offset=10,lag=0\r\n';

  it('is null when every master has an online replica and every replica is linked', () => {
    expect(redisUnsettledReason([master(7001, online), replica(7002, 'up')])).toBeNull();
  });

  it('names a master without an online replica, a replica down or syncing, a failed cluster state', () => {
    expect(redisUnsettledReason([master(7001, online.replace('online', 'wait_bgsave'))])).toMatch(
      /master :7001 has no online replica/,
    );
    expect(redisUnsettledReason([master(7001, online), replica(7002, 'down')])).toMatch(/:7002 link .* down/);
    expect(redisUnsettledReason([master(7001, online), replica(7002, 'up', '1')])).toMatch(/:7002 is syncing/);
    expect(redisUnsettledReason([{ ...master(7001, online), clusterInfo: 'cluster_state:fail\r\n' }])).toMatch(
      /cluster_state not ok/,
    );
    expect(redisUnsettledReason([{ ...replica(7002, 'up'), replication: '' }])).toMatch(/did not answer/);
  });

  it('does not ask a master that serves no slots (a restarted, emptied one) for a replica', () => {
    expect(redisUnsettledReason([{ ...master(7003, ''), servesSlots: false }])).toBeNull();
  });
});
