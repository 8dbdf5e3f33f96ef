/**
 * Wire format and error reporting of the kernel, without ZeroMQ: the signature covers the four
 * JSON frames only (so messages with binary buffers authenticate like jupyter_client's), and cell
 * errors lose the kernel's own stack frames.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import vm from 'node:vm';
import { ModelError } from '../../src/errors';
import { describeDiagnostics, describeError } from '../../kernel-ext/traceback';
import { KernelMessage, decodeMessage, encodeMessage } from '../../kernel-ext/wire';

const KEY = 'a0436f6c-1916-498b-8eb9-e81ab9368e84';

function message(buffers: Uint8Array[]): KernelMessage {
  return {
    identities: [Buffer.from('client-1')],
    header: { msg_id: 'm1', msg_type: 'comm_msg', session: 's', username: 'u', date: '2024-01-01T00:00:00.000Z', version: '5.3' },
    parentHeader: {},
    metadata: {},
    content: { comm_id: 'c', data: { x: 1 } },
    buffers,
  };
}

test('messages are signed over header, parent header, metadata and content only', () => {
  const frames = encodeMessage(message([new Uint8Array([1, 2, 3]), new Uint8Array(0)]), KEY);
  assert.deepEqual(frames.slice(0, 2).map(String), ['client-1', '<IDS|MSG>']);
  const expected = createHmac('sha256', KEY)
    .update('{"msg_id":"m1","msg_type":"comm_msg","session":"s","username":"u","date":"2024-01-01T00:00:00.000Z","version":"5.3"}')
    .update('{}')
    .update('{}')
    .update('{"comm_id":"c","data":{"x":1}}')
    .digest('hex');
  assert.equal(frames[2].toString(), expected);
  assert.equal(encodeMessage(message([]), KEY)[2].toString(), expected, 'buffers do not change the signature');

  const decoded = decodeMessage(frames, KEY);
  assert.deepEqual(decoded.identities.map(String), ['client-1']);
  assert.deepEqual(decoded.content, { comm_id: 'c', data: { x: 1 } });
  assert.deepEqual(
    decoded.buffers.map((b) => [...b]),
    [[1, 2, 3], []],
  );
  assert.equal(decoded.buffers[0].byteOffset, 0, 'each buffer owns its ArrayBuffer');
});

test('messages with a wrong signature or no delimiter are rejected', () => {
  const frames = encodeMessage(message([]), KEY);
  const tampered = [...frames];
  tampered[6] = Buffer.from('{"comm_id":"c","data":{"x":2}}');
  assert.throws(() => decodeMessage(tampered, KEY), /signature does not match/);
  assert.throws(() => decodeMessage(frames, 'another-key'), /signature does not match/);
  assert.throws(() => decodeMessage(frames.slice(2), KEY), /no <IDS\|MSG> delimiter/);
  // An empty key means no authentication (Jupyter's convention).
  assert.deepEqual(decodeMessage(encodeMessage(message([]), ''), '').content, { comm_id: 'c', data: { x: 1 } });
});

test('cell errors keep cell and library frames, drop node:vm and kernel frames', () => {
  let thrown: unknown;
  try {
    vm.runInThisContext('(function explode() { throw new TypeError("bad input") })()');
  } catch (error) {
    thrown = error;
  }
  const { ename, evalue, traceback } = describeError(thrown);
  assert.deepEqual([ename, evalue], ['TypeError', 'bad input']);
  assert.equal(traceback[0], 'TypeError: bad input');
  assert.equal(traceback[1], '    at explode (<cell>)');
  assert.ok(!traceback.some((line) => line.includes('node:vm') || line.includes('evalmachine')), traceback.join('\n'));

  assert.deepEqual(describeError(new ModelError('grouping factor g has 1 level')), {
    ename: 'ModelError',
    evalue: 'grouping factor g has 1 level',
    traceback: ['ModelError: grouping factor g has 1 level'],
  });
  assert.deepEqual(describeError('plain string'), { ename: 'Uncaught', evalue: "'plain string'", traceback: ["Uncaught 'plain string'"] });
  const sigint = Object.assign(new Error('Script execution was interrupted by `SIGINT`'), { code: 'ERR_SCRIPT_EXECUTION_INTERRUPTED' });
  assert.equal(describeError(sigint).ename, 'Interrupted');
  assert.equal(describeError(new Error('Interrupted asynchronously')).ename, 'Interrupted');
  assert.deepEqual(describeDiagnostics(['1:7 - first', '2:1 - second']), {
    ename: 'TSError',
    evalue: '1:7 - first',
    traceback: ['TSError: 2 TypeScript errors', '  1:7 - first', '  2:1 - second'],
  });
});
