// k6: gRPC Addition/Add with the original's profile (FACTS.md): ramp to 10,000 VUs over 10 min, to
// 15,000 over 10 min, down in 30 s; each iteration connects, calls Add with random a, b in 0..99,
// checks status OK, closes, and sleeps 7 s (about 2,100 calls/s at 15,000 VUs).
// PROFILE=compressed runs the same shape in seconds; see profile.js for every variable.
//
//   bash scripts/k6.sh grpc-add                       # the original's 20.5 minutes
//   PROFILE=compressed VU_SCALE=0.1 bash scripts/k6.sh grpc-add
import grpc from 'k6/net/grpc';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { hostPort, maxErrorRate, p95, p99, profile, requireLoopback, scaledStages } from './profile.js';

const GRPC_TARGET = requireLoopback('GRPC_TARGET', __ENV.GRPC_TARGET || hostPort(50051));
// CONNECTION=per-iteration (default, as the original: connect, call, close every time) or per-vu
// (each VU keeps one connection: what a real client does).
const CONNECTION = __ENV.CONNECTION || 'per-iteration';
if (CONNECTION !== 'per-iteration' && CONNECTION !== 'per-vu')
  throw new Error(`CONNECTION=${CONNECTION}: use per-iteration or per-vu`);

export const options = {
  scenarios: {
    grpc_add: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: scaledStages([
        { seconds: 600, target: 10_000 },
        { seconds: 600, target: 15_000 },
        { seconds: 30, target: 0 },
      ]),
      gracefulRampDown: '10s',
      gracefulStop: '10s',
    },
  },
  thresholds: {
    // Share of failed checks (connect, status OK, a + b) under 1 %.
    checks: [`rate>${1 - maxErrorRate}`],
    grpc_req_duration: [`p(95)<${p95}`, `p(99)<${p99}`],
  },
  tags: { profile },
};

const client = new grpc.Client();
// The proto of the repository, relative to this script (no package: the method is Addition/Add).
client.load(['../../proto'], 'addition.proto');
let connected = false;
let failureShown = false;
// For the sum check after the run (scripts/k6.sh): the total of the Adds answered OK, and of those
// whose outcome is unknown (sent, but no answer: the server may have recorded them).
const addedTotal = new Counter('sumstream_added_total');
const unknownTotal = new Counter('sumstream_unknown_outcome_total');

export default function () {
  if (CONNECTION === 'per-iteration' || !connected) {
    try {
      client.connect(GRPC_TARGET, { plaintext: true, timeout: '10s' });
      connected = true;
    } catch (error) {
      connected = false;
    }
    check(connected, { connected: (value) => value === true });
  }
  if (connected) {
    const a = Math.floor(Math.random() * 100);
    const b = Math.floor(Math.random() * 100);
    let response;
    let failure;
    try {
      response = client.invoke('Addition/Add', { a, b }, { timeout: '10s' });
      if (response.status !== grpc.StatusOK) failure = `status ${response.status}: ${JSON.stringify(response.error)}`;
    } catch (error) {
      response = undefined;
      failure = String(error);
    }
    // The first failure of each VU, so that a failed threshold says why.
    if (failure !== undefined && !failureShown) {
      failureShown = true;
      console.warn(`Add failed (VU ${__VU}): ${failure}`);
    }
    if (response !== undefined && response.status === grpc.StatusOK) addedTotal.add(a + b);
    else if (
      response === undefined ||
      response.status === grpc.StatusDeadlineExceeded ||
      response.status === grpc.StatusUnavailable
    )
      unknownTotal.add(a + b);
    check(response, {
      'Add status is OK': (r) => r !== undefined && r.status === grpc.StatusOK,
      'Add answers a + b': (r) => r !== undefined && r.message !== null && String(r.message.sum) === String(a + b),
    });
    if (CONNECTION === 'per-iteration' || response === undefined || response.status === grpc.StatusUnavailable) {
      client.close();
      connected = false;
    }
  }
  sleep(7);
}
