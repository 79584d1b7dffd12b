// The login form: where the admin token is and how to make an API token, since the page is the
// first thing a new operator sees. The token is checked with GET /v1/whoami before it is kept.
import { el } from './dom.js';

export function loginForm(onToken: (token: string) => void, error = ''): HTMLElement {
  const input = el('input', {
    id: 'login-token',
    type: 'password',
    autocomplete: 'off',
    placeholder: 'paste a token',
    required: '',
    size: '48',
  }) as HTMLInputElement;
  const form = el(
    'form',
    { id: 'login', class: 'card login' },
    el('h1', {}, 'Log in to atoll'),
    el(
      'p',
      {},
      "Paste the hub's admin token, or an API token. It is kept in this browser tab only (session storage) and sent to the hub's API, nowhere else.",
    ),
    el('div', { class: 'row' }, input, el('button', { type: 'submit', class: 'primary' }, 'Log in')),
    el('p', { id: 'login-error', class: 'error', role: 'alert' }, error),
    el(
      'details',
      { id: 'login-help', open: '' },
      el('summary', {}, 'Where is the admin token?'),
      el(
        'p',
        {},
        'The hub writes it when it first starts, to the file ',
        el('code', {}, 'admin-token'),
        " in its data directory (readable by root only). On the hub's server:",
      ),
      el('pre', {}, 'sudo cat /var/lib/atoll/admin-token'),
      el(
        'p',
        { class: 'muted' },
        el('code', {}, '/var/lib/atoll'),
        ' is the data directory of a hub run as root (the installed service). A hub started by another user keeps it in ',
        el('code', {}, '.atoll/'),
        ' under the directory it was started in; ',
        el('code', {}, '--data-dir'),
        ' or ',
        el('code', {}, 'ATOLL_DATA_DIR'),
        ' set another one.',
      ),
      el(
        'p',
        {},
        "To give someone less than everything, make an API token on the hub's server and hand that out instead:",
      ),
      el('pre', {}, 'sudo atoll-hub api-token create --role read-only   # or operator'),
    ),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    onToken(input.value.trim());
  });
  return form;
}
