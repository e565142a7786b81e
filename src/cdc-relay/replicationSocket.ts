import type { LogicalReplicationService } from 'pg-logical-replication';

/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n;

/**
 * What the relay needs of pg-logical-replication's connection and the library does not expose:
 * pausing the socket (backpressure: the server keeps the rest in the slot) and a standby status
 * update that confirms nothing.
 */
export function replicationSocket(service: LogicalReplicationService) {
  const connection = () =>
    (
      service as unknown as {
        _connection?: { stream?: { pause(): void; resume(): void }; sendCopyFromChunk(chunk: Buffer): void };
      }
    )._connection;
  return {
    pause: () => connection()?.stream?.pause(),
    resume: () => connection()?.stream?.resume(),
    /**
     * A standby status update with every position 0/0 (InvalidXLogRecPtr): the walsender moves
     * nothing for it, yet counts it as a reply, so it does not time out (`wal_sender_timeout`).
     */
    keepalive: () => {
      if (service.isStop()) return; // not streaming (yet): a status update now would break the protocol
      const status = Buffer.alloc(34); // 'r', write, flush, apply (0/0), clock, reply-requested (0)
      status.write('r', 0, 'latin1');
      status.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
      connection()?.sendCopyFromChunk(status);
    },
  };
}
