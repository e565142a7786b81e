import type { SumSnapshot } from '../../sum-view/readSum.js';

/** Placeholders `index.html` must contain, filled on every request so the page shows the sum without JavaScript. */
export const STATUS_PAGE_PLACEHOLDERS = ['{{sum}}', '{{appliedEvents}}', '{{renderedAt}}'] as const;

/**
 * Fills the page template with the sum as of this request (its exact digits) or, when the store
 * cannot be read, says so; the script then keeps it live. Pure.
 */
export function renderStatusPage(template: string, snapshot: SumSnapshot | undefined, at: Date): string {
  const values: Record<(typeof STATUS_PAGE_PLACEHOLDERS)[number], string> = {
    '{{sum}}': snapshot ? snapshot.sum : 'unavailable',
    '{{appliedEvents}}': snapshot ? snapshot.appliedEvents : '—',
    '{{renderedAt}}': `${at.toISOString().slice(11, 19)} UTC`,
  };
  return template.replace(/\{\{(sum|appliedEvents|renderedAt)\}\}/g, (placeholder) =>
    escapeHtml(values[placeholder as keyof typeof values]),
  );
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
