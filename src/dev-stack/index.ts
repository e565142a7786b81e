/**
 * The development stack: project-owned PostgreSQL, RabbitMQ, Prometheus and Debezium Server, and the
 * SumStream processes started the way `npm start` starts them. Tests and benchmarks import it from
 * here only; `main.ts` beside this file is `npm start` itself.
 */
export { debeziumEnv, type DebeziumEnvOptions } from './debeziumEnv.js';
export { DEBEZIUM_VERSION, type DebeziumInstance, type DebeziumInstanceOptions, startDebezium } from './debeziumInstance.js';
export { debeziumLogLine } from './debeziumLogLine.js';
export { isPortOpen, isProcessAlive, run, runOk, type RunOptions, type RunResult, sleep, tailFile } from './exec.js';
export { describeJava, findJava, type FindJavaOptions, type JavaRuntime } from './findJava.js';
export { type PostgresInstance, type PostgresInstanceOptions, startPostgres } from './postgresInstance.js';
export { COMPOSE_PROMETHEUS_CONFIG, COMPOSE_TARGETS, renderComposePrometheusConfig } from './prometheusConfig.js';
export { type ChildInstance, startPostgresExporter, startPrometheus } from './prometheusInstance.js';
export { type RabbitInstance, type RabbitInstanceOptions, startRabbit } from './rabbitInstance.js';
export { REPO_ROOT, SERVICES, type ServiceName, serviceCommand, spawnService, stopChild } from './serviceProcess.js';
export { debeziumHome, pinnedVersion, requireTool, sumstreamCacheDir, toolPath, toolsDir, type ToolName } from './toolPath.js';
