/**
 * The one error type the codec produces for bad input or broken limits.
 * Parsers never let it escape as an exception from feed()/end(); they
 * report it as an event. Builders and the stream writer throw it (or a
 * TypeError/RangeError for plain programming mistakes).
 */
import { SyncmuxError } from '../errors.js';

export type DlistErrorCode =
  /** The bytes do not follow the DLIST / response grammar. */
  | 'SYNTAX'
  /** Lists nested deeper than the configured maxDepth. */
  | 'DEPTH'
  /** A response/command line (text outside literals) exceeds maxLineLength. */
  | 'LINE_TOO_LONG'
  /** A literal or file literal announces more than maxLiteralSize bytes. */
  | 'LITERAL_TOO_LARGE'
  /** One response/command (text plus literals) exceeds maxFrameSize. */
  | 'FRAME_TOO_LARGE'
  /** The stream ended inside a line or literal. */
  | 'TRUNCATED'
  /** A file literal's body source does not hold exactly `size` bytes. */
  | 'FILE_SIZE';

export class DlistError extends SyncmuxError {
  declare readonly code: DlistErrorCode;

  constructor(
    code: DlistErrorCode,
    message: string,
    /** Byte offset within the line/frame where the problem was seen, if known. */
    readonly offset?: number,
  ) {
    super(code, offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}
