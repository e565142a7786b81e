import { timingSafeEqual } from 'node:crypto';

/**
 * Returns a check of the `authorization: Bearer <token>` metadata value against the accepted
 * tokens, comparing in constant time. With no tokens configured every call passes.
 */
export function bearerTokenCheck(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  if (tokens.length === 0) return () => true;
  const accepted = tokens.map((token) => Buffer.from(token));
  return (authorization) => {
    const match = /^Bearer (.+)$/i.exec(authorization ?? '');
    if (!match) return false;
    const offered = Buffer.from(match[1]!);
    // Compare against every token (no early exit) so timing tells nothing about which matched.
    return accepted.reduce(
      (ok, token) => (token.length === offered.length && timingSafeEqual(token, offered)) || ok,
      false,
    );
  };
}
