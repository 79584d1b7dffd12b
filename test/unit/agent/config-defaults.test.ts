// `atoll-agent join|run|status --help` show the defaults config parsing applies (AGENT_DEFAULTS):
// the data dir for root and for others, and the log level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { AGENT_DEFAULTS, parseAgentConfig, type AgentFlags } from '../../../agent/config.js';
import { flagKey, helpOf, helpOptions, shownDefault } from '../../helpers/help-text.js';

/** Flags without a default: required for a join, read from the stored identity, or optional. */
const NO_DEFAULT = ['hub', 'token', 'token-file', 'pool', 'node-name', 'label', 'k3s', 'output'];

for (const command of ['join', 'run', 'status']) {
  test(`atoll-agent ${command} --help shows the defaults that parsing the flags applies`, () => {
    const options = helpOptions(helpOf('agent/main.ts', [command]));
    assert.ok(options.has('data-dir'), '--data-dir is in the help');
    for (const [name, o] of options) {
      if (!o.arg || NO_DEFAULT.includes(name) || name === 'data-dir') continue;
      const shown = shownDefault(o.text);
      assert.ok(shown !== undefined, `--${name}: the help names no default ("${o.text}")`);
      assert.deepEqual(
        parseAgentConfig({ [flagKey(name)]: shown } as AgentFlags, {}, false),
        parseAgentConfig({}, {}, false),
        `--${name} ${shown} (the default the help names) is not what the agent applies without the flag`,
      );
    }
    if (command !== 'status') assert.equal(shownDefault(options.get('log-level')?.text ?? ''), AGENT_DEFAULTS.logLevel);
    const dataDir = /default (\S+) as root, else (\S+?)\)/.exec(options.get('data-dir')?.text ?? '');
    assert.ok(dataDir, options.get('data-dir')?.text);
    assert.equal(parseAgentConfig({}, {}, true).dataDir, resolve(dataDir[1]));
    assert.equal(parseAgentConfig({}, {}, false).dataDir, resolve(dataDir[2]));
  });
}
