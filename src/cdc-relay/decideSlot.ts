import { formatLsn, parseLsn } from './lsn.js';

/** One line of a timeline history file: timeline `timeline` ended at `switchLsn`, where its child began. */
export interface TimelineSwitch {
  timeline: number;
  switchLsn: bigint;
  reason: string;
}

/** The relay's record of its slot (table `cdc_slots`, migration 0003). */
export interface SlotMarker {
  timeline: number;
  lostReason: string | null;
}

export interface SlotObservation {
  slot: string;
  /**
   * The slot's `confirmed_flush_lsn` and whether PostgreSQL invalidated it (`wal_status` lost: the WAL it
   * needed was removed), or undefined when the slot does not exist.
   */
  existing: { confirmedFlushLsn: bigint; invalidated?: boolean } | undefined;
  marker: SlotMarker | undefined;
  /** The server's current timeline. */
  timeline: number;
  /** The history of `timeline` (`TIMELINE_HISTORY`); needed only when the marker's timeline is older. */
  history?: readonly TimelineSwitch[];
}

export type SlotDecision =
  /** First install: create the publication and the slot, then record the marker. */
  | { action: 'create' }
  /** The slot exists (created by Patroni, say) but was never recorded: record it. */
  | { action: 'record' }
  /** Nothing to change. */
  | { action: 'ok' }
  /** A failover happened, and the slot was synced from the old primary: move the marker to `timeline`. */
  | { action: 'advance'; timeline: number }
  /** The history of the current timeline is needed to decide: read it and decide again. */
  | { action: 'read-history' }
  /** Events may never have been published. `record`: write `reason` into the marker (first decided). */
  | { action: 'lost'; reason: string; record: boolean };

/**
 * Whether the relay may stream from its slot. The marker says a relay streamed from the slot before;
 * a slot missing since, or created after a failover (its confirmed position beyond the point where the
 * marker's timeline ended), means the events between the old slot's position and the new one were
 * never streamed. A slot synced from the old primary (Patroni's permanent slots) was advanced on the
 * standby only up to what it replayed, so its position is at or below that switch point.
 */
export function decideSlot(observation: SlotObservation): SlotDecision {
  const { slot, existing, marker, timeline } = observation;
  if (marker?.lostReason) return { action: 'lost', reason: marker.lostReason, record: false };
  if (!marker) return existing ? { action: 'record' } : { action: 'create' };
  const lost = (reason: string): SlotDecision => ({ action: 'lost', reason, record: true });
  if (!existing) return lost(`slot ${slot} does not exist although the relay streamed from it before`);
  if (existing.invalidated)
    return lost(`slot ${slot} was invalidated (wal_status lost): PostgreSQL removed WAL it had not streamed`);
  if (marker.timeline === timeline) return { action: 'ok' };
  if (marker.timeline > timeline)
    return lost(
      `the relay last checked slot ${slot} on timeline ${marker.timeline}, but the server is on timeline ${timeline} (restored or re-created?)`,
    );
  if (!observation.history) return { action: 'read-history' };
  const ended = observation.history.find((entry) => entry.timeline === marker.timeline);
  if (!ended)
    return lost(
      `the history of timeline ${timeline} does not contain timeline ${marker.timeline}, on which the relay last checked slot ${slot}`,
    );
  if (existing.confirmedFlushLsn > ended.switchLsn)
    return lost(
      `slot ${slot} was created after the failover at ${formatLsn(ended.switchLsn)} (timeline ${marker.timeline} -> ${timeline}); events before it may never have been published`,
    );
  return { action: 'advance', timeline };
}

/**
 * Parses a timeline history file (`TIMELINE_HISTORY`'s content): one `parentTLI<TAB>switchLSN<TAB>reason`
 * line per ancestor timeline; blank lines and `#` comments are skipped.
 */
export function parseTimelineHistory(content: string): TimelineSwitch[] {
  const switches: TimelineSwitch[] = [];
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\d+)\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})(?:\s+(.*))?$/.exec(line);
    if (!match)
      throw new Error(`Not a timeline history line: ${JSON.stringify(line)} (expected TLI<TAB>LSN<TAB>reason).`);
    switches.push({
      timeline: Number(match[1]),
      switchLsn: parseLsn(match[2]!),
      reason: match[3]?.trim() ?? '',
    });
  }
  return switches;
}
