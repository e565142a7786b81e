// k6: REST GET /sum with the original's profile (FACTS.md): 500 VUs in 30 s, 10,000 over 10 min,
// 15,000 over 10 min, down in 30 s; each iteration GET /sum, checks 200, sleeps 1 s.
// PROFILE=compressed runs the same shape in seconds; see profile.js for every variable.
//
//   bash scripts/k6.sh rest-sum
//   PROFILE=compressed VU_SCALE=0.1 bash scripts/k6.sh rest-sum
import http from 'k6/http';
import { check, sleep } from 'k6';
import { hostPort, maxErrorRate, p95, p99, profile, requireLoopback, scaledStages } from './profile.js';

const REST_TARGET = requireLoopback(
  'REST_TARGET',
  (__ENV.REST_TARGET || `http://${hostPort(4000)}`).replace(/\/+$/, ''),
);

export const options = {
  scenarios: {
    rest_sum: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: scaledStages([
        { seconds: 30, target: 500 },
        { seconds: 600, target: 10_000 },
        { seconds: 600, target: 15_000 },
        { seconds: 30, target: 0 },
      ]),
      gracefulRampDown: '10s',
      gracefulStop: '10s',
    },
  },
  thresholds: {
    http_req_failed: [`rate<${maxErrorRate}`],
    checks: [`rate>${1 - maxErrorRate}`],
    http_req_duration: [`p(95)<${p95}`, `p(99)<${p99}`],
  },
  tags: { profile },
};

export default function () {
  const response = http.get(`${REST_TARGET}/sum`, { timeout: '10s' });
  check(response, {
    'GET /sum is 200': (r) => r.status === 200,
    'body is {"sum": <integer>}': (r) => /^\{"sum":-?\d+\}$/.test(r.body || ''),
  });
  sleep(1);
}
