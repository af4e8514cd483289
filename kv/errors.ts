// The one error class of eau2. Every failure that is not an argument mistake (those throw TypeError)
// carries a stable `code` that callers switch on, and the underlying error as `cause`.

export const ErrorCode = {
  CORRUPTION: 'CORRUPTION',
  IO: 'IO',
  NOT_OPEN: 'NOT_OPEN',
  LOCKED: 'LOCKED',
  NOT_LEADER: 'NOT_LEADER',
  UNAVAILABLE: 'UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  PROTOCOL: 'PROTOCOL',
  TOO_LARGE: 'TOO_LARGE',
  NOT_FOUND: 'NOT_FOUND',
  INVALID: 'INVALID',
  // Codes that travel between nodes and to HTTP clients (docs/format.md 8.3, docs/api.md). A local
  // Eau2Error keeps the code callers retry on (STALE_EPOCH is a NOT_LEADER, NO_REPLICA a NOT_FOUND)
  // and carries one of these in details.wireCode, which is what the wire and HTTP show.
  /** A partition epoch that is not the receiver's (a failover moved the leadership), or a leader fenced off. */
  STALE_EPOCH: 'STALE_EPOCH',
  /** read=local on a node that holds no replica of the key's partition. */
  NO_REPLICA: 'NO_REPLICA',
  /** The remote handler failed with something that is not an Eau2Error. */
  INTERNAL: 'INTERNAL',
  /** No credentials, or credentials nobody issued (HTTP 401). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Known credentials whose role does not allow the request (HTTP 403). */
  FORBIDDEN: 'FORBIDDEN',
  /** A configured limit (connections, requests in flight) is reached: try again later (HTTP 429/503). */
  BUSY: 'BUSY',
  /** A conditional write whose condition (HTTP If-Match / If-None-Match) does not hold (HTTP 412). */
  PRECONDITION: 'PRECONDITION',
  /**
   * A write that may or may not have been applied: its request was sent and then its connection
   * closed, or it timed out (a w>1 write is applied on its leader before it waits for followers).
   * Every other write error means "not applied". Retry with the same request id (docs/api.md).
   */
  UNKNOWN_OUTCOME: 'UNKNOWN_OUTCOME',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class Eau2Error extends Error {
  readonly code: ErrorCode;
  /** Free-form context: file name, offset, partition, ... */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'Eau2Error';
    this.code = code;
    if (opts.details) this.details = opts.details;
  }
}

/** A checksum or structural failure in `file` at byte `offset`. Never returned as data. */
export function corruption(file: string, offset: number, what: string): Eau2Error {
  return new Eau2Error(ErrorCode.CORRUPTION, `corruption in ${file} at offset ${offset}: ${what}`, {
    details: { file, offset },
  });
}

export function ioError(op: string, path: string, cause: unknown): Eau2Error {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new Eau2Error(ErrorCode.IO, `${op} ${path}: ${msg}`, { cause, details: { op, path } });
}

export function isEau2Error(e: unknown, code?: ErrorCode): e is Eau2Error {
  return e instanceof Eau2Error && (code === undefined || e.code === code);
}
