/**
 * The DLIST codec (Cyrus 3.6.1 replication wire format): public surface.
 * Pure and I/O free except stream-out.ts. Modelled on pg-protocol: a
 * printer producing chunks, and incremental parsers fed arbitrary chunks.
 */
export { DlistError } from './errors.js';
export type { DlistErrorCode } from './errors.js';
export { DAtom, DFile, DFlag, DKvList, DList, DNil, NIL } from './node.js';
export type { FileSource, Keyed, Node, NodeKind, Slot } from './node.js';
export { atom, bytes, file, flag, flags, guid, hex64, keyed, kvlist, list, nil, num, value } from './build.js';
export type { Fields, Value } from './build.js';
export { ATOM, LITERAL, QUOTED, astringForm, isAtom, printAstring } from './astring.js';
export type { AstringForm } from './astring.js';
export { ChunkWriter, chunksSize, chunksToBuffer, isBodyRef, printCommand, printItem, printNode } from './print.js';
export type { BodyRef, OutChunk, PrintOptions } from './print.js';
export { writeChunks } from './stream-out.js';
export type { WriteOptions } from './stream-out.js';
export { DEFAULT_LIMITS, Framer, literalAtEnd } from './frame.js';
export type { Frame, FrameLimits } from './frame.js';
export { ResponseParser, classifyResponse, parseResponses, printResponse, syncCode } from './response.js';
export type { ParserOptions, Response, ResponseEvent, StatusWord, StreamError, SyncCode } from './response.js';
export { CommandParser, commandItem, parseCommandFrame, parseCommands, printCommandLine } from './command.js';
export type { Command, CommandEvent, CommandOptions } from './command.js';
export { parseItem, parseNode } from './one-shot.js';
export type { OneShotOptions } from './one-shot.js';
export { binaryToBytes, binaryToText, bytesToBinary, textToBinary } from './binary.js';
