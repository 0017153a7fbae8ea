/**
 * The wire side of the emulated Azure SQL data plane: a TDS 8.0 ("strict": TLS first, ALPN
 * `tds/8.0`) listener that speaks just enough TDS 7.4 for a real driver (tedious) to log in with an
 * Entra access token (Login7 FEDAUTH feature, SECURITYTOKEN) and run SQL batches, with result sets
 * (COLMETADATA/ROW/DONE) and SQL errors (ERROR + DONE). What the statements mean is the backend's
 * business (sql-data-plane.ts). A stand-in: no MARS, no RPC requests, no TDS 7.x TLS-in-PRELOGIN.
 */
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { TlsMaterial } from './tls.ts';

/** A SQL Server error as the ERROR token carries it. */
export interface SqlErrorInfo {
  number: number;
  state: number;
  /** Severity: 11-16 are the user's errors, 14 a login failure. */
  class: number;
  message: string;
}

export type ColumnType = 'nvarchar' | 'int' | 'datetime2' | 'datetimeoffset' | 'char';

export interface ResultColumn {
  name: string;
  type: ColumnType;
}

/** One statement's outcome. */
export type StatementResult =
  | { kind: 'rows'; columns: ResultColumn[]; rows: (string | number | Date | null)[][] }
  | { kind: 'done'; rowCount?: number | undefined }
  | { kind: 'error'; error: SqlErrorInfo };

export interface LoginRequest {
  /** The server name the client asked for (Login7 ServerName: the FQDN). */
  serverName: string;
  /** The TLS SNI name, when sent. */
  sni: string | undefined;
  database: string;
  /** The FEDAUTH SECURITYTOKEN, if the client sent one. */
  accessToken: string | undefined;
}

export interface TdsSession {
  /** Run one batch: one result per statement, stopping at the first error. */
  execute(sql: string): StatementResult[];
}

export interface TdsBackend {
  login(request: LoginRequest): { ok: true; session: TdsSession; database: string } | { ok: false; error: SqlErrorInfo };
}

export interface TdsListener {
  /** `127.0.0.1:PORT`. */
  address: string;
  port: number;
  stop(): Promise<void>;
}

const PACKET = { SQL_BATCH: 0x01, RPC: 0x03, TABULAR: 0x04, ATTENTION: 0x06, LOGIN7: 0x10, PRELOGIN: 0x12 } as const;
const TOKEN = {
  COLMETADATA: 0x81,
  ERROR: 0xaa,
  LOGINACK: 0xad,
  FEATUREEXTACK: 0xae,
  ROW: 0xd1,
  ENVCHANGE: 0xe3,
  DONE: 0xfd,
} as const;
const DONE_MORE = 0x01;
const DONE_ERROR = 0x02;
const DONE_COUNT = 0x10;
const PACKET_SIZE = 4096;
/** Latin1_General_CI_AS (LCID 1033), the collation Azure SQL databases default to. */
const COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

// --- encoding ------------------------------------------------------------------------------------

function bVarChar(text: string): Buffer {
  const body = Buffer.from(text, 'ucs2');
  return Buffer.concat([Buffer.from([text.length]), body]);
}

function usVarChar(text: string): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16LE(text.length);
  return Buffer.concat([len, Buffer.from(text, 'ucs2')]);
}

function withLength16(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt8(type, 0);
  head.writeUInt16LE(body.length, 1);
  return Buffer.concat([head, body]);
}

function done(status: number, rowCount = 0): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt8(TOKEN.DONE, 0);
  b.writeUInt16LE(status, 1);
  b.writeUInt16LE(0xc1, 3); // SELECT; tedious does not look at it
  b.writeBigUInt64LE(BigInt(rowCount), 5);
  return b;
}

function errorToken(error: SqlErrorInfo, serverName: string): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeInt32LE(error.number, 0);
  fixed.writeUInt8(error.state, 4);
  fixed.writeUInt8(error.class, 5);
  const line = Buffer.alloc(4);
  line.writeInt32LE(1);
  return withLength16(TOKEN.ERROR, Buffer.concat([fixed, usVarChar(error.message), bVarChar(serverName), bVarChar(''), line]));
}

function envChange(type: number, next: string, previous: string): Buffer {
  return withLength16(TOKEN.ENVCHANGE, Buffer.concat([Buffer.from([type]), bVarChar(next), bVarChar(previous)]));
}

function loginAck(): Buffer {
  const version = Buffer.alloc(5);
  version.writeUInt8(1, 0); // SQL_TSQL
  const tds = Buffer.alloc(4);
  tds.writeUInt32BE(0x74000004); // TDS 7.4
  return withLength16(
    TOKEN.LOGINACK,
    Buffer.concat([Buffer.from([1]), tds, bVarChar('Microsoft SQL Server'), Buffer.from([12, 0, 0x08, 0x6c])]),
  );
}

function featureExtAckFedAuth(): Buffer {
  const b = Buffer.alloc(7);
  b.writeUInt8(TOKEN.FEATUREEXTACK, 0);
  b.writeUInt8(0x02, 1); // FEDAUTH, no data for SECURITYTOKEN
  b.writeUInt32LE(0, 2);
  b.writeUInt8(0xff, 6);
  return b;
}

function typeInfo(type: ColumnType): Buffer {
  switch (type) {
    case 'nvarchar':
      return Buffer.concat([Buffer.from([0xe7, 0x00, 0x02]), COLLATION]); // nvarchar(256): 512 bytes
    case 'char':
      return Buffer.concat([Buffer.from([0xaf, 0x01, 0x00]), COLLATION]); // char(1)
    case 'int':
      return Buffer.from([0x26, 0x04]);
    case 'datetime2':
      return Buffer.from([0x2a, 0x07]);
    case 'datetimeoffset':
      return Buffer.from([0x2b, 0x07]);
  }
}

function colMetadata(columns: readonly ResultColumn[]): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt8(TOKEN.COLMETADATA, 0);
  head.writeUInt16LE(columns.length, 1);
  const parts = columns.map((c) => {
    const fixed = Buffer.alloc(6);
    fixed.writeUInt16LE(0x0001, 4); // nullable
    return Buffer.concat([fixed, typeInfo(c.type), bVarChar(c.name)]);
  });
  return Buffer.concat([head, ...parts]);
}

const DAY_MS = 86_400_000;
/** Days from 0001-01-01 to 1970-01-01 (proleptic Gregorian). */
const EPOCH_DAYS = 719_162;

function value(type: ColumnType, v: string | number | Date | null): Buffer {
  switch (type) {
    case 'nvarchar': {
      if (v === null) return Buffer.from([0xff, 0xff]);
      const body = Buffer.from(String(v), 'ucs2');
      const len = Buffer.alloc(2);
      len.writeUInt16LE(body.length);
      return Buffer.concat([len, body]);
    }
    case 'char': {
      if (v === null) return Buffer.from([0xff, 0xff]);
      return Buffer.concat([Buffer.from([1, 0]), Buffer.from(String(v).slice(0, 1), 'latin1')]);
    }
    case 'int': {
      if (v === null) return Buffer.from([0]);
      const b = Buffer.alloc(5);
      b.writeUInt8(4, 0);
      b.writeInt32LE(Number(v), 1);
      return b;
    }
    case 'datetime2': {
      if (v === null) return Buffer.from([0]);
      const ms = (v instanceof Date ? v : new Date(String(v))).getTime();
      const days = Math.floor(ms / DAY_MS);
      const ticks = BigInt(ms - days * DAY_MS) * 10_000n; // 100 ns units since midnight
      const b = Buffer.alloc(9);
      b.writeUInt8(8, 0);
      b.writeUIntLE(Number(ticks & 0xffffffffffn), 1, 5);
      b.writeUIntLE(days + EPOCH_DAYS, 6, 3);
      return b;
    }
    case 'datetimeoffset': {
      // As datetime2 (UTC time and date), then the offset in minutes: always +00:00 here.
      if (v === null) return Buffer.from([0]);
      const utc = value('datetime2', v);
      const b = Buffer.alloc(11);
      utc.copy(b, 0, 0, 9);
      b.writeUInt8(10, 0);
      b.writeInt16LE(0, 9);
      return b;
    }
  }
}

function rowsTokens(columns: readonly ResultColumn[], rows: readonly (string | number | Date | null)[][]): Buffer {
  return Buffer.concat([
    colMetadata(columns),
    ...rows.map((row) => Buffer.concat([Buffer.from([TOKEN.ROW]), ...columns.map((c, i) => value(c.type, row[i] ?? null))])),
  ]);
}

/** The response to one batch: every statement's tokens, DONE_MORE on all but the last. */
export function batchResponse(results: readonly StatementResult[], serverName: string): Buffer {
  const parts: Buffer[] = [];
  if (results.length === 0) return done(0);
  results.forEach((r, i) => {
    const more = i < results.length - 1 ? DONE_MORE : 0;
    if (r.kind === 'error') parts.push(errorToken(r.error, serverName), done(more | DONE_ERROR));
    else if (r.kind === 'rows') parts.push(rowsTokens(r.columns, r.rows), done(more | DONE_COUNT, r.rows.length));
    else parts.push(done(more | (r.rowCount === undefined ? 0 : DONE_COUNT), r.rowCount ?? 0));
  });
  return Buffer.concat(parts);
}

function preloginResponse(): Buffer {
  // VERSION, ENCRYPTION, INSTOPT, THREADID, MARS, FEDAUTHREQUIRED; then the terminator.
  const options: [number, Buffer][] = [
    [0x00, Buffer.from([12, 0, 0x08, 0x6c, 0, 0])],
    [0x01, Buffer.from([0x03])], // ENCRYPT_REQ: Azure SQL never serves plain text
    [0x02, Buffer.from([0x00])],
    [0x03, Buffer.alloc(0)],
    [0x04, Buffer.from([0x00])],
    [0x06, Buffer.from([0x01])],
  ];
  const headerLength = options.length * 5 + 1;
  let offset = headerLength;
  const header: Buffer[] = [];
  for (const [token, data] of options) {
    const h = Buffer.alloc(5);
    h.writeUInt8(token, 0);
    h.writeUInt16BE(offset, 1);
    h.writeUInt16BE(data.length, 3);
    header.push(h);
    offset += data.length;
  }
  return Buffer.concat([...header, Buffer.from([0xff]), ...options.map(([, d]) => d)]);
}

function packets(type: number, payload: Buffer): Buffer {
  const out: Buffer[] = [];
  const max = PACKET_SIZE - 8;
  let id = 1;
  for (let at = 0; at < payload.length || at === 0; at += max) {
    const chunk = payload.subarray(at, at + max);
    const last = at + max >= payload.length;
    const h = Buffer.alloc(8);
    h.writeUInt8(type, 0);
    h.writeUInt8(last ? 0x01 : 0x00, 1);
    h.writeUInt16BE(chunk.length + 8, 2);
    h.writeUInt16BE(0, 4);
    h.writeUInt8(id++ & 0xff, 6);
    out.push(h, chunk);
    if (payload.length === 0) break;
  }
  return Buffer.concat(out);
}

// --- decoding ------------------------------------------------------------------------------------

interface Login7 {
  serverName: string;
  database: string;
  accessToken: string | undefined;
}

function ucs2At(data: Buffer, offsetPos: number): string {
  const offset = data.readUInt16LE(offsetPos);
  const chars = data.readUInt16LE(offsetPos + 2);
  return data.toString('ucs2', offset, offset + chars * 2);
}

/** Login7 (MS-TDS 2.2.6.4): the names the operator sends and the FEDAUTH feature's token. */
export function parseLogin7(data: Buffer): Login7 {
  const serverName = ucs2At(data, 52);
  const database = ucs2At(data, 68);
  let accessToken: string | undefined;
  const optionFlags3 = data.readUInt8(27);
  if ((optionFlags3 & 0x10) !== 0) {
    // fExtension: ibExtension points at a 4-byte offset of the FeatureExt block.
    const ibExtension = data.readUInt16LE(56);
    let at = data.readUInt32LE(ibExtension);
    while (at < data.length) {
      const id = data.readUInt8(at);
      if (id === 0xff) break;
      const len = data.readUInt32LE(at + 1);
      const body = data.subarray(at + 5, at + 5 + len);
      if (id === 0x02 && body.length >= 5 && body.readUInt8(0) >> 1 === 0x01) {
        const tokenLength = body.readUInt32LE(1);
        accessToken = body.toString('ucs2', 5, 5 + tokenLength);
      }
      at += 5 + len;
    }
  }
  return { serverName, database, accessToken };
}

/** The SQL text of a SQL_BATCH message (after ALL_HEADERS). */
export function parseSqlBatch(data: Buffer): string {
  const headers = data.length >= 4 ? data.readUInt32LE(0) : 0;
  return data.toString('ucs2', headers);
}

/** Reassembles messages from TDS packets. */
class MessageReader {
  #buffer = Buffer.alloc(0);
  #parts: Buffer[] = [];
  #type = 0;

  push(chunk: Buffer, onMessage: (type: number, data: Buffer) => void): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 8) {
      const length = this.#buffer.readUInt16BE(2);
      if (length < 8) throw new Error(`bad TDS packet length ${length}`);
      if (this.#buffer.length < length) return;
      const type = this.#buffer.readUInt8(0);
      const status = this.#buffer.readUInt8(1);
      this.#type = type;
      this.#parts.push(this.#buffer.subarray(8, length));
      this.#buffer = this.#buffer.subarray(length);
      if ((status & 0x01) !== 0) {
        const data = Buffer.concat(this.#parts);
        this.#parts = [];
        onMessage(this.#type, data);
      }
    }
  }
}

// --- the listener --------------------------------------------------------------------------------

/** Start a TDS 8.0 listener; `backend` decides who may log in and what statements do. */
export async function startTdsListener(options: {
  tls: TlsMaterial;
  backend: TdsBackend;
  host?: string | undefined;
  port?: number | undefined;
}): Promise<TdsListener> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: options.tls.cert, key: options.tls.key, ALPNProtocols: ['tds/8.0'] }, (socket) =>
    serve(socket, options.backend),
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    address: `${address.address}:${address.port}`,
    port: address.port,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function serve(socket: TLSSocket, backend: TdsBackend): void {
  const reader = new MessageReader();
  const sni = (socket as TLSSocket & { servername?: string | false }).servername || undefined;
  let session: TdsSession | undefined;
  let serverName = 'emulator';
  const send = (payload: Buffer) => {
    if (!socket.destroyed) socket.write(packets(PACKET.TABULAR, payload));
  };
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk, (type, data) => {
        switch (type) {
          case PACKET.PRELOGIN:
            send(preloginResponse());
            return;
          case PACKET.LOGIN7: {
            const login = parseLogin7(data);
            serverName = login.serverName.split('.')[0] ?? serverName;
            const result = backend.login({ ...login, sni });
            if (!result.ok) {
              send(Buffer.concat([errorToken(result.error, serverName), done(DONE_ERROR)]));
              socket.end();
              return;
            }
            session = result.session;
            send(
              Buffer.concat([
                envChange(1, result.database, 'master'),
                loginAck(),
                featureExtAckFedAuth(),
                envChange(4, String(PACKET_SIZE), String(PACKET_SIZE)),
                done(0),
              ]),
            );
            return;
          }
          case PACKET.SQL_BATCH: {
            if (!session) {
              socket.destroy();
              return;
            }
            send(batchResponse(session.execute(parseSqlBatch(data)), serverName));
            return;
          }
          case PACKET.ATTENTION:
            send(done(0x20));
            return;
          default:
            // RPC and the rest: not modelled; Azure would answer, the emulator hangs up loudly.
            send(
              Buffer.concat([
                errorToken(
                  {
                    number: 40000,
                    state: 1,
                    class: 16,
                    message: `The emulator's TDS endpoint does not serve packet type 0x${type.toString(16)}.`,
                  },
                  serverName,
                ),
                done(DONE_ERROR),
              ]),
            );
        }
      });
    } catch {
      socket.destroy();
    }
  });
}
