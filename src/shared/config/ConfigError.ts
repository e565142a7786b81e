/** A configuration value is missing or invalid; the message says which knob and how to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
