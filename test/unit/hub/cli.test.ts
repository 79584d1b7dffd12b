// The admin CLI's pure parts: help text on every command, YAML output, the SSE parser, error
// descriptions, unknown-command suggestions and join token ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerAdminCommands } from '../../../hub/cli/commands.js';
import { toYaml } from '../../../hub/cli/output.js';
import { sseParser } from '../../../hub/cli/event-stream.js';
import { describeHttpError } from '../../../hub/cli/api-client.js';
import { unknownCommand } from '../../../hub/cli/unknown-command.js';
import { joinTokenId } from '../../../hub/cli/tokens.js';

test('every admin command, argument and option has help text', () => {
  const program = new Command('atoll-hub');
  registerAdminCommands(program);
  const missing: string[] = [];
  let count = 0;
  const walk = (c: Command, path: string): void => {
    for (const sub of c.commands) {
      const p = `${path} ${sub.name()}`;
      count++;
      if (!sub.description()) missing.push(p);
      for (const a of sub.registeredArguments) if (!a.description) missing.push(`${p} <${a.name()}>`);
      for (const o of sub.options) if (!o.description) missing.push(`${p} ${o.flags}`);
      walk(sub, p);
    }
  };
  walk(program, 'atoll-hub');
  assert.ok(count >= 40, `${count} commands`);
  assert.deepEqual(missing, []);
});

test('YAML output: block style, strings quoted when a reader could take them for something else', () => {
  const doc = {
    items: [
      {
        id: '0123',
        name: 'web-1',
        ok: true,
        n: 3,
        at: '2026-01-01T00:00:00Z',
        none: null,
        tags: [],
        labels: {},
        msg: 'a: b',
        yes: 'yes',
        nested: [[1, 2], { k: 'v' }],
      },
    ],
  };
  assert.equal(
    toYaml(doc),
    [
      'items:',
      '  - id: "0123"',
      '    name: web-1',
      '    ok: true',
      '    "n": 3',
      '    at: "2026-01-01T00:00:00Z"',
      '    none: null',
      '    tags: []',
      '    labels: {}',
      '    msg: "a: b"',
      '    "yes": "yes"',
      '    nested:',
      '      - - 1',
      '        - 2',
      '      - k: v',
      '',
    ].join('\n'),
  );
  assert.equal(toYaml('multi\nline'), '"multi\\nline"\n');
});

test('the SSE parser yields id and data per event across chunk boundaries and skips comments', () => {
  const got: Array<[string | undefined, string]> = [];
  const feed = sseParser((id, data) => got.push([id, data]));
  feed(': atoll event stream\nretry: 2000\n\nid: 7\nevent: pool.created\nda');
  feed('ta: {"id":7}\n\n: ping\n\nid: 8\r\ndata: {"id":8}\r\n\r\n');
  assert.deepEqual(got, [
    ['7', '{"id":7}'],
    ['8', '{"id":8}'],
  ]);
  // An id alone moves the cursor (rows the hub read past for a filter), and is no event.
  const cursors: string[] = [];
  const moved = sseParser(
    (id, data) => got.push([id, data]),
    (id) => cursors.push(id),
  );
  moved('id: 9\ndata: {"id":9}\n\nid: 5400\n\n');
  assert.deepEqual(got.at(-1), ['9', '{"id":9}']);
  assert.deepEqual(cursors, ['5400']);
});

test('error responses are described whatever their shape', () => {
  assert.equal(
    describeHttpError(404, 'Not Found', 'application/json', '{"error":{"code":"NOT_FOUND","message":"no pool"}}'),
    'no pool (NOT_FOUND, HTTP 404)',
  );
  assert.equal(
    describeHttpError(414, 'URI Too Long', 'application/json', '{"error":"URI Too Long","message":"too long"}'),
    'HTTP 414 URI Too Long: too long',
  );
  assert.equal(
    describeHttpError(502, 'Bad Gateway', 'text/html', '<h1>Bad</h1>\n<p>gateway</p>'),
    'HTTP 502 Bad Gateway: Bad gateway',
  );
  assert.equal(describeHttpError(500, '', 'text/plain', ''), 'HTTP 500 (empty response)');
  assert.equal(describeHttpError(500, 'x', 'text/plain', 'y'.repeat(1000)).length, 'HTTP 500 x: '.length + 300);
});

test('unknown commands suggest a close one; join tokens give their id', () => {
  assert.equal(
    unknownCommand('nods', ['nodes', 'node', 'token']).message,
    'unknown command "nods" (did you mean nodes?); see atoll-hub --help',
  );
  assert.equal(unknownCommand('zzz', ['nodes']).message, 'unknown command "zzz"; see atoll-hub --help');
  assert.equal(unknownCommand('x', []).exitCode, 2);
  assert.equal(joinTokenId(`AT1${'a'.repeat(64)}::abcd1234.${'s'.repeat(32)}`), 'abcd1234');
  assert.equal(joinTokenId(' abcd1234 '), 'abcd1234');
  assert.throws(() => joinTokenId('AT1abc::x.y'), /invalid token CA hash length/);
  assert.throws(() => joinTokenId('nope'), /give a token id/);
});
