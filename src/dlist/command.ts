/**
 * Client command lines: `[tag SP] VERB [SP value ...] CRLF`.
 *
 * The sync commands (GET/APPLY/RESTORE, or SYNCGET/... after an IMAP tag)
 * carry one keyed DLIST, `APPLY MAILBOX %(...)`; AUTHENTICATE, COMPRESS,
 * RESTART, EXIT, NOOP and SASL answers carry plain words. Both fit "a verb
 * followed by DLIST values", which is how a command is held here, so every
 * line sync_client sends parses and prints back unchanged. commandItem()
 * gives the keyed view of a GET/APPLY.
 *
 * The tag cannot be told from the verb by syntax, so the caller says
 * whether lines are tagged (IMAP-embedded mode).
 */
import { binaryToBytes } from './binary.js';
import { Cursor, DEFAULT_MAX_DEPTH, ParseFailure, orThrow } from './cursor.js';
import { Framer, type Frame } from './frame.js';
import type { Keyed, Node } from './node.js';
import { ChunkWriter, type OutChunk, type PrintOptions } from './print.js';
import type { ParserOptions, StreamError } from './response.js';

export interface Command {
  readonly tag: string | null;
  readonly verb: string;
  readonly args: readonly Node[];
}

export interface CommandOptions extends ParserOptions {
  /** Lines start with an IMAP tag (`S0 SYNCGET ...`). Default false (csync). */
  tagged?: boolean;
}

export type CommandEvent = { readonly kind: 'command'; readonly command: Command } | StreamError;

/** Parses one frame as a command; throws DlistError on bad syntax. */
export function parseCommandFrame(frame: Frame, opts: CommandOptions = {}): Command {
  return orThrow(() => commandOf(frame, opts));
}

function commandOf(frame: Frame, opts: CommandOptions): Command {
  const cur = new Cursor(frame, opts.maxDepth ?? DEFAULT_MAX_DEPTH);
  let tag: string | null = null;
  if (opts.tagged) {
    tag = cur.word();
    if (tag === '' || cur.peek() !== 0x20) cur.fail('expected a tag and SP');
    cur.pos++;
  }
  const verb = cur.word();
  if (verb === '') cur.fail('expected a command word');
  const args: Node[] = [];
  if (!cur.atEnd()) {
    if (cur.peek() !== 0x20) cur.fail('expected SP after the command word');
    for (;;) {
      cur.skipSpaces();
      if (cur.atEnd()) break;
      args.push(cur.value(0));
    }
  }
  return { tag, verb, args };
}

/** The keyed DLIST of a GET/APPLY/RESTORE line: `VERB KEY value`. */
export function commandItem(cmd: Command): Keyed | undefined {
  const [k, v] = cmd.args;
  if (cmd.args.length !== 2 || k === undefined || v === undefined || k.kind !== 'atom') return undefined;
  return { name: k.raw, value: v };
}

/** Incremental command parser (for a replica or a test peer). */
export class CommandParser {
  private readonly framer: Framer;

  constructor(private readonly opts: CommandOptions = {}) {
    this.framer = new Framer(opts);
  }

  get buffered(): number {
    return this.framer.buffered;
  }

  feed(chunk: Uint8Array): CommandEvent[] {
    const out: CommandEvent[] = [];
    const err = this.framer.feed(chunk, (f) => {
      try {
        out.push({ kind: 'command', command: commandOf(f, this.opts) });
      } catch (e) {
        if (!(e instanceof ParseFailure)) throw e;
        out.push({ kind: 'error', error: e.toError(), fatal: false });
      }
    });
    if (err) out.push({ kind: 'error', error: err, fatal: true });
    return out;
  }

  end(): CommandEvent[] {
    const err = this.framer.end();
    return err ? [{ kind: 'error', error: err, fatal: true }] : [];
  }
}

/** Parses a complete byte string of commands (feed + end). */
export function parseCommands(data: Uint8Array | string, opts?: CommandOptions): CommandEvent[] {
  const p = new CommandParser(opts);
  const bytes = typeof data === 'string' ? binaryToBytes(data) : data;
  return [...p.feed(bytes), ...p.end()];
}

/** Prints a parsed (or hand-made) command back, CRLF included. */
export function printCommandLine(cmd: Command, opts?: PrintOptions): OutChunk[] {
  const w = new ChunkWriter(opts);
  if (cmd.tag !== null) w.raw(`${cmd.tag} `);
  w.raw(cmd.verb);
  for (const a of cmd.args) w.raw(' ').node(a);
  return w.crlf().finish();
}
