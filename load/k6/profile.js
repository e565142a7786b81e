// Shared by the k6 scripts: the load profile (original or time-compressed), the target checks and
// the thresholds. Everything comes from environment variables (k6 -e NAME=value, or the shell's).
//
//   PROFILE      original (default): the original's stages, minutes long;
//                compressed: the same shape with every stage TIME_SCALE times as long (default 1/60:
//                a minute becomes a second)
//   TIME_SCALE   stage-duration factor for PROFILE=compressed (default 0.016667)
//   VU_SCALE     factor on every stage's target VUs (default 1: the original's 10,000 and 15,000)
//   TARGET_HOST  host of the stack (default 127.0.0.1); must be loopback: 127.0.0.0/8, ::1, localhost
//   GRPC_TARGET  host:port of the add-service (default TARGET_HOST:50051); REST_TARGET base URL of the
//                sum-service (default http://TARGET_HOST:4000); both must be loopback too
//   P95_MS, P99_MS  latency thresholds in ms (defaults 500 and 1000)
//   MAX_ERROR_RATE  error-rate threshold (default 0.01)

const env = (name, fallback) => (__ENV[name] === undefined || __ENV[name] === '' ? fallback : __ENV[name]);

function positiveNumber(name, fallback) {
  const value = Number(env(name, fallback));
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${name}=${__ENV[name]} is not a positive number`);
  return value;
}

export const profile = env('PROFILE', 'original');
if (profile !== 'original' && profile !== 'compressed')
  throw new Error(`PROFILE=${profile}: use original or compressed`);
const timeScale = profile === 'compressed' ? positiveNumber('TIME_SCALE', 1 / 60) : 1;
const vuScale = positiveNumber('VU_SCALE', 1);

/** Stages given in seconds and VUs as in the original, scaled by TIME_SCALE (compressed) and VU_SCALE. */
export function scaledStages(stages) {
  return stages.map(({ seconds, target }) => ({
    duration: `${Math.max(1, Math.round(seconds * timeScale))}s`,
    target: Math.max(target === 0 ? 0 : 1, Math.round(target * vuScale)),
  }));
}

export function isLoopback(host) {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

export const targetHost = env('TARGET_HOST', '127.0.0.1');
if (!isLoopback(targetHost)) {
  throw new Error(
    `TARGET_HOST=${targetHost}: refusing to load a host that is not this machine (127.0.0.0/8, ::1 or localhost)`,
  );
}
/** Throws unless `hostPortOrUrl` (host:port, [v6]:port or http://host:port/...) names a loopback host. */
export function requireLoopback(name, hostPortOrUrl) {
  const match = /^(?:[a-z]+:\/\/)?(\[[^\]]+\]|[^:/]+)/i.exec(hostPortOrUrl);
  if (!match || !isLoopback(match[1])) {
    throw new Error(
      `${name}=${hostPortOrUrl}: refusing to load a host that is not this machine (127.0.0.0/8, ::1 or localhost)`,
    );
  }
  return hostPortOrUrl;
}

/** host:port form, brackets around IPv6. */
export function hostPort(port) {
  return `${targetHost.includes(':') && !targetHost.startsWith('[') ? `[${targetHost}]` : targetHost}:${port}`;
}

export const p95 = positiveNumber('P95_MS', 500);
export const p99 = positiveNumber('P99_MS', 1000);
export const maxErrorRate = positiveNumber('MAX_ERROR_RATE', 0.01);
