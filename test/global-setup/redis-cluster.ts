import type { TestProject } from 'vitest/node';
import { startRedisCluster } from '../helpers/redis-cluster.ts';

/**
 * One Redis Cluster (three primaries, a replica each) for every test file of the run, its node
 * URLs provided as `redisClusterNodes` (`useSharedRedisCluster`, test/helpers/redis-cluster.ts):
 * the contract suites run their cluster backend on it, each test under a prefix of its own, so
 * that the two seconds a cluster takes to form are spent once, not once per file. Stopped once
 * every file has run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
  project.provide(
    'redisClusterNodes',
    cluster.rootNodes.map((node) => node.url),
  );
  return () => cluster.stop();
}
