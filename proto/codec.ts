// The only module that touches protobufjs: typed envelopes in, bounded bytes out, and back.
import './numbers.js';
import { atoll } from './gen/atoll.js';
import { AtollError } from '../certs/atoll-error.js';

export const PROTOCOL_VERSION = 1;
/** Largest frame either side accepts or sends (bytes). ws enforces it too via maxPayload. */
export const MAX_FRAME_BYTES = 1024 * 1024;

export type Envelope = atoll.v1.Envelope.$Properties;
export type Hello = atoll.v1.Hello.$Properties;
export type HostFacts = atoll.v1.HostFacts.$Properties;
export type Welcome = atoll.v1.Welcome.$Properties;
export type HealthReport = atoll.v1.HealthReport.$Properties;
export type K3sStatus = atoll.v1.K3sStatus.$Properties;
export type Command = atoll.v1.Command.$Properties;
export type CommandResult = atoll.v1.CommandResult.$Properties;
export type CertRenewRequest = atoll.v1.CertRenewRequest.$Properties;
export type CertRenewResponse = atoll.v1.CertRenewResponse.$Properties;
export type Close = atoll.v1.Close.$Properties;
export type K3sAssignment = atoll.v1.K3sAssignment.$Properties;

export const PAYLOAD_KINDS = [
  'hello',
  'welcome',
  'health',
  'command',
  'commandResult',
  'certRenewRequest',
  'certRenewResponse',
  'close',
  'ping',
  'pong',
  'k3sAssignment',
] as const;
export type PayloadKind = (typeof PAYLOAD_KINDS)[number];

/** A decoded envelope whose payload kind is known. */
export type Frame = Envelope & { payload: PayloadKind };

export type ProtocolErrorCode = 'FRAME_TOO_LARGE' | 'FRAME_MALFORMED' | 'FRAME_UNKNOWN' | 'PROTOCOL_VERSION';

export class ProtocolError extends AtollError<ProtocolErrorCode> {
  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'ProtocolError';
  }
}

/** Encodes one envelope; refuses to produce a frame the peer would reject. */
export function encodeFrame(env: Envelope): Uint8Array {
  const bytes = atoll.v1.Envelope.encode(env).finish();
  if (bytes.byteLength > MAX_FRAME_BYTES) {
    throw new ProtocolError('FRAME_TOO_LARGE', `frame of ${bytes.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  return bytes;
}

/** Decodes one frame: bounded, and it must carry exactly one known payload of a version we speak. */
export function decodeFrame(data: Uint8Array): Frame {
  if (data.byteLength > MAX_FRAME_BYTES) {
    throw new ProtocolError('FRAME_TOO_LARGE', `frame of ${data.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  let msg: atoll.v1.Envelope;
  try {
    msg = atoll.v1.Envelope.decode(data);
  } catch (err) {
    throw new ProtocolError('FRAME_MALFORMED', `malformed frame: ${(err as Error).message}`);
  }
  const kind = msg.payload as PayloadKind | undefined;
  if (!kind || !(PAYLOAD_KINDS as readonly string[]).includes(kind)) {
    throw new ProtocolError('FRAME_UNKNOWN', 'frame carries no known payload');
  }
  if (msg.protocolVersion !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      'PROTOCOL_VERSION',
      `protocol version ${msg.protocolVersion} is not supported (want ${PROTOCOL_VERSION})`,
    );
  }
  return msg as Frame;
}
