/** The CDC contract against the built-in cdc-relay, spawned as the dev stack spawns it. */
import { describeCdcContract } from './cdcContract.js';

describeCdcContract('built-in cdc-relay', async (stack) => {
  await stack.start('cdc-relay');
  return {
    stop: () => stack.kill('cdc-relay', 'SIGTERM'),
    kill: () => stack.kill('cdc-relay', 'SIGKILL'),
  };
});
