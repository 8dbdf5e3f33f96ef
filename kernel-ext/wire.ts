/**
 * Jupyter wire messages (messaging spec 5.3): identities, `<IDS|MSG>`, HMAC signature, the four JSON
 * frames (header, parent header, metadata, content), then binary buffers. The signature covers the
 * four JSON frames only (tslab's own parser also hashes the buffers, so the kernel does not use it).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const DELIMITER = Buffer.from('<IDS|MSG>');

export interface Header {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

export interface KernelMessage<Content = Record<string, unknown>> {
  /** ZeroMQ routing prefix of the sender; replies on shell/control carry it back. */
  identities: Buffer[];
  header: Header;
  parentHeader: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: Content;
  buffers: Uint8Array[];
}

function sign(key: string, jsonFrames: (string | Buffer)[]): string {
  if (key === '') return '';
  const hmac = createHmac('sha256', key);
  for (const frame of jsonFrames) hmac.update(frame);
  return hmac.digest('hex');
}

function delimiterIndex(frames: Buffer[]): number {
  const index = frames.findIndex((frame) => frame.equals(DELIMITER));
  if (index < 0 || frames.length < index + 6) throw new Error('malformed message: no <IDS|MSG> delimiter or missing frames');
  return index;
}

/** Parses and authenticates a message; binary buffers are copied so each owns an aligned ArrayBuffer. */
export function decodeMessage(frames: Buffer[], key: string): KernelMessage {
  const d = delimiterIndex(frames);
  const jsonFrames = frames.slice(d + 2, d + 6);
  const signature = frames[d + 1];
  const expected = Buffer.from(sign(key, jsonFrames));
  if (key !== '' && (signature.length !== expected.length || !timingSafeEqual(signature, expected))) {
    throw new Error('message signature does not match the connection key');
  }
  const [header, parentHeader, metadata, content] = jsonFrames.map((frame) => JSON.parse(frame.toString('utf8')));
  return {
    identities: frames.slice(0, d),
    header,
    parentHeader,
    metadata,
    content,
    buffers: frames.slice(d + 6).map((buffer) => new Uint8Array(buffer)),
  };
}

export function encodeMessage(message: KernelMessage<unknown>, key: string): Buffer[] {
  const jsonFrames = [message.header, message.parentHeader, message.metadata, message.content].map((part) => Buffer.from(JSON.stringify(part), 'utf8'));
  return [
    ...message.identities,
    DELIMITER,
    Buffer.from(sign(key, jsonFrames)),
    ...jsonFrames,
    ...message.buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
  ];
}
