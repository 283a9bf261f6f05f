/**
 * Secret: a credential (sync_password, …) that never prints. String(), template
 * literals, JSON.stringify and util.inspect all show a placeholder, so a config
 * object can be logged whole without leaking the password. Only reveal() gives
 * the value, and callers should use it at the one place it is sent.
 */
const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Option names whose values are credentials (matched on the whole key, any prefix). */
export function isSecretKey(key: string): boolean {
  return /password|secret|_pass$/i.test(key);
}
