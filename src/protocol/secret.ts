/**
 * A credential that never prints: String(), JSON, util.inspect and template
 * literals all show a placeholder. Only reveal() gives the value, and only
 * the SASL encoder calls it. This is how sync_password stays out of logs and
 * error messages.
 */
import { inspect } from 'node:util';

const REDACTED = '<redacted>';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}
