// SumStream status page: the sum live over Server-Sent Events (/sum/stream), the figures from
// /status.json every 2 s. Plain browser JavaScript, no build step, nothing fetched from elsewhere.
// The sum is never turned into a JS number (it may exceed 2^53): it stays the digits of the JSON text.
'use strict';

(() => {
  const STATUS_INTERVAL_MS = 2000;
  const STREAM_RETRY_MS = 15000;
  const $ = (id) => document.getElementById(id);

  /** `{"sum":<integer>,"applied_events":<integer>}` → the two integers as text, or null. */
  function parseSumMessage(text) {
    const sum = /"sum"\s*:\s*(-?\d+)/.exec(text);
    const applied = /"applied_events"\s*:\s*(\d+)/.exec(text);
    return sum ? { sum: sum[1], appliedEvents: applied ? applied[1] : null } : null;
  }

  function showSum(message) {
    $('sum').textContent = message.sum;
    if (message.appliedEvents !== null) $('applied-events').textContent = message.appliedEvents;
  }

  function setConnection(state, text) {
    const el = $('connection');
    if (el.dataset.state === state && el.textContent === text) return;
    el.dataset.state = state;
    el.textContent = text;
  }

  // --- the sum, live -------------------------------------------------------------------------
  let stream = null;
  /** Set once the stream failed, cleared when it opens again: only then is /sum polled. */
  let streamDown = false;

  function openStream() {
    stream = new EventSource('/sum/stream');
    setConnection('connecting', 'connecting…');
    stream.addEventListener('open', () => {
      streamDown = false;
      setConnection('live', 'live');
    });
    stream.addEventListener('sum', (event) => {
      const message = parseSumMessage(event.data);
      if (message) showSum(message);
      setConnection('live', 'live');
    });
    stream.addEventListener('error', () => {
      streamDown = true;
      if (stream.readyState === EventSource.CONNECTING) {
        setConnection('reconnecting', 'reconnecting…'); // EventSource retries by itself
      } else {
        // Refused for good (not an event stream): poll /sum meanwhile, try the stream again later.
        setConnection('polling', 'live updates unavailable; refreshed every 2 s');
        stream.close();
        setTimeout(openStream, STREAM_RETRY_MS);
      }
    });
  }

  async function pollSumIfStreamDown() {
    if (!streamDown) return;
    try {
      const res = await fetch('/sum', { cache: 'no-store' });
      const message = res.ok ? parseSumMessage(await res.text()) : null;
      if (message && streamDown) showSum(message); // a stream that reopened meanwhile is newer
    } catch {
      // the status poll reports the outage
    }
  }

  // --- the figures ---------------------------------------------------------------------------
  const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

  function seconds(value) {
    if (value < 0.001) return `${decimal.format(value * 1e6)} µs`;
    if (value < 1) return `${decimal.format(value * 1000)} ms`;
    return `${decimal.format(value)} s`;
  }

  /** `exact` adds the byte count itself (slot lag is watched byte by byte). */
  function bytes(value, exact) {
    if (value < 1024) return `${integer.format(value)} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let scaled = value / 1024;
    let unit = 0;
    while (scaled >= 1024 && unit < units.length - 1) {
      scaled /= 1024;
      unit += 1;
    }
    return `${decimal.format(scaled)} ${units[unit]}${exact ? ` (${integer.format(value)} B)` : ''}`;
  }

  function duration(totalSeconds) {
    const d = Math.floor(totalSeconds / 86400);
    const h = Math.floor((totalSeconds % 86400) / 3600);
    const m = Math.floor((totalSeconds % 3600) / 60);
    const s = Math.floor(totalSeconds % 60);
    return [d && `${d} d`, h && `${h} h`, m && `${m} min`, `${s} s`].filter(Boolean).slice(0, 2).join(' ');
  }

  const plural = (n, word) => `${integer.format(n)} ${word}${n === 1 ? '' : 's'}`;
  const unknown = (reason) => `unknown (${reason})`;

  function queueText(queue) {
    if ('unknown' in queue) return unknown(queue.unknown);
    return `${plural(queue.messages_ready, 'message')} ready · ${plural(queue.consumers, 'consumer')}`;
  }

  function latencyText(latency, windowSeconds) {
    const pick = latency.recent
      ? [latency.recent, `last ${decimal.format(windowSeconds)} s`]
      : latency.since_start
        ? [latency.since_start, 'since start; none recently']
        : null;
    if (!pick) return 'no events applied yet';
    const [summary, span] = pick;
    return `p50 ${seconds(summary.p50)} · p99 ${seconds(summary.p99)} (${span}, ${plural(summary.events, 'event')})`;
  }

  function slotLines(replication) {
    if ('unknown' in replication) return [unknown(replication.unknown)];
    if (replication.slots.length === 0) return ['no logical replication slot in this database'];
    return replication.slots.map(
      (slot) =>
        `${slot.slot_name}: ${slot.lag_bytes === null ? 'no confirmed position yet' : bytes(slot.lag_bytes, true)}${slot.active ? '' : ' (inactive)'}`,
    );
  }

  function showLines(el, lines) {
    el.replaceChildren(...lines.flatMap((line, i) => (i === 0 ? [line] : [document.createElement('br'), line])));
  }

  function showStatus(status) {
    $('rate').textContent =
      status.events_applied_per_second === null
        ? 'measuring…'
        : `${decimal.format(status.events_applied_per_second)} /s (last ${decimal.format(status.window_seconds)} s)`;
    $('latency').textContent = latencyText(status.end_to_end_latency_seconds, status.window_seconds);
    $('queue-main-name').textContent = status.queues.main.name;
    $('queue-main').textContent = queueText(status.queues.main);
    $('queue-dead-letter-name').textContent = status.queues.dead_letter.name;
    $('queue-dead-letter').textContent = queueText(status.queues.dead_letter);
    $('queue-dead-letter').dataset.alert = String(
      'messages_ready' in status.queues.dead_letter && status.queues.dead_letter.messages_ready > 0,
    );
    showLines($('slot-lag'), slotLines(status.replication_slots));

    const health = status.health;
    $('health').dataset.status = health.status;
    $('health').textContent =
      health.status === 'ok'
        ? 'OK: consuming from RabbitMQ, PostgreSQL answers'
        : `Degraded: ${health.problems.join(' ')}`;
    $('uptime').textContent = health.uptime_seconds === null ? '—' : duration(health.uptime_seconds);
    $('memory').textContent = health.resident_memory_bytes === null ? '—' : bytes(health.resident_memory_bytes);
    $('event-loop').textContent =
      health.event_loop_lag_p99_seconds === null ? '—' : seconds(health.event_loop_lag_p99_seconds);
    const t = status.totals;
    $('totals').textContent =
      `${plural(t.events_applied, 'event')} · ${integer.format(t.duplicates_skipped)} duplicates skipped · ${integer.format(t.dead_lettered)} dead-lettered · ${integer.format(t.apply_retries)} retries`;
    document.body.dataset.stale = 'false';
    $('updated').textContent = `Figures as of ${new Date(status.generated_at).toLocaleTimeString()}.`;
  }

  async function pollStatus() {
    try {
      if (!document.hidden) {
        const res = await fetch('/status.json', { cache: 'no-store' });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        showStatus(await res.json());
        await pollSumIfStreamDown();
      }
    } catch (error) {
      document.body.dataset.stale = 'true';
      $('updated').textContent =
        `Could not load /status.json (${error.message}) at ${new Date().toLocaleTimeString()}; retrying.`;
    } finally {
      setTimeout(pollStatus, STATUS_INTERVAL_MS);
    }
  }

  openStream();
  void pollStatus();
})();
