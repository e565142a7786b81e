/**
 * The development stack: project-owned PostgreSQL, RabbitMQ, Prometheus and Debezium Server, and the
 * SumStream processes started the way `npm start` starts them. Tests, benchmarks and scripts import
 * it from here only (eslint holds that); `main.ts` beside this file is `npm start` itself.
 */
export { debeziumEnv, type DebeziumEnvOptions } from './debeziumEnv.js';
export { DEBEZIUM_VERSION, startDebezium } from './debeziumInstance.js';
export { debeziumLogLine } from './debeziumLogLine.js';
export { DEV_STACK_KNOBS } from './devStackConfig.js';
export { isProcessAlive, run, runOk, sleep } from './exec.js';
export { describeJava, findJava } from './findJava.js';
export { freePort, freePorts } from './freePort.js';
export { type ClusterHost, clusterPlan, clusterUrls, hostsOf, metricsUrl, probeUrl } from './cluster/clusterPlan.js';
export { HAPROXY_CONFIG, haproxyConfigFiles, haproxyEnv } from './cluster/haproxyProcess.js';
export { ClusterStack } from './cluster/clusterStack.js';
export { activeRelay, queueStatus } from './cluster/clusterStatus.js';
export { ManagedService } from './managedService.js';
export { cutFrom, healPartition } from './netns.js';
export { findPostgresBin, POSTGRES_DEFAULTS, type PostgresInstance, startPostgres } from './postgresInstance.js';
export { COMPOSE_PROMETHEUS_CONFIG, COMPOSE_TARGETS, renderComposePrometheusConfig } from './prometheusConfig.js';
export { type ChildInstance, startPostgresExporter, startPrometheus } from './prometheusInstance.js';
export { type RabbitInstance, startRabbit } from './rabbitInstance.js';
export { reapStaleRuns } from './reapStaleRuns.js';
export { REPO_ROOT, SERVICES, type ServiceName, serviceCommand, spawnService, stopChild } from './serviceProcess.js';
export { debeziumHome, requireTool, type ToolName, toolPath } from './toolPath.js';
