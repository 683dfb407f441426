// app.js — sign-in, the role's navigation and the hash router. The private key is held by the
// Session object in this module's memory only; signing out (or closing the tab) drops it.
import { h, problemBox } from './util.js';
import { Session, importKeyFile, KeyFileError, signInMessage } from './sign.js';
import * as staff from './pages-staff.js';
import * as partnerPages from './pages-partner.js';

const PAGES = {
  staff: [['overview', 'Overview', staff.overview], ['settlements', 'Settlements', staff.settlements],
    ['positions', 'Positions over time', staff.positions], ['expiry', 'Expiry', staff.expiry],
    ['liability', 'Liability and breakage', staff.liability], ['audit', 'Audit', staff.audit]],
  partner: [['overview', 'Overview', partnerPages.overview], ['settlements', 'Settlements', partnerPages.settlements],
    ['liability', 'Liability and breakage', partnerPages.liability], ['transactions', 'Transactions', partnerPages.transactions]],
};

let session = null;
const $ = (id) => document.getElementById(id);

function signInError(text) {
  const box = $('signin-message');
  box.hidden = false;
  box.className = 'message problem';
  box.textContent = text;
}

async function signIn(event) {
  event.preventDefault();
  const file = $('key-file').files[0];
  const keyid = $('key-id').value.trim();
  $('signin-message').hidden = true;
  if (!file) return signInError('Choose your key file first.');
  if (!keyid) return signInError('Type the key id of your key (e.g. "operator-1").');
  $('signin-button').disabled = true;
  try {
    const key = await importKeyFile(await file.text());
    const candidate = new Session(keyid, key);
    const me = await candidate.get('/v1/whoami');
    candidate.role = me.role;
    candidate.partner = me.partner;
    session = candidate;
    $('key-file').value = '';
    start();
  } catch (e) {
    signInError(e instanceof KeyFileError ? e.message : signInMessage(e, keyid));
  } finally {
    $('signin-button').disabled = false;
  }
}

function pages() { return session.role === 'partner' ? PAGES.partner : PAGES.staff; }

function start() {
  $('signin').hidden = true;
  $('page').hidden = false;
  $('signout').hidden = false;
  $('who').textContent = `${session.keyid} · ${session.role}${session.partner ? ' of ' + session.partner : ''}`;
  $('who').dataset.role = session.role;
  const nav = $('nav');
  nav.hidden = false;
  nav.replaceChildren(...pages().map(([id, label]) => h('a', { href: `#${id}`, 'data-page': id }, label)));
  if (!location.hash || location.hash === '#') location.hash = 'overview';
  else render();
}

function signOut() {
  session = null; // the only reference to the key: gone
  location.hash = '';
  location.reload();
}

let rendering = 0;
async function render() {
  if (!session) return;
  const [name, query] = location.hash.slice(1).split('?');
  const entry = pages().find(([id]) => id === name) || pages()[0];
  for (const a of $('nav').children) a.classList.toggle('current', a.dataset.page === entry[0]);
  const page = h('div', { class: 'page', 'data-page': entry[0], 'aria-busy': 'true' });
  $('page').replaceChildren(page);
  const ticket = ++rendering;
  const ctx = { session, role: session.role, partner: session.partner, page, params: new URLSearchParams(query || ''),
    pageSize: 20, maxPages: 10, reload: render };
  const limit = Number(ctx.params.get('limit'));
  if (Number.isInteger(limit) && limit >= 1 && limit <= 200) ctx.pageSize = limit; // #page?limit=N: the API's bound
  try {
    await entry[2](ctx);
  } catch (e) {
    if (ticket === rendering) page.append(problemBox(e, 'The ledger refused this page\'s request'));
  } finally {
    page.setAttribute('aria-busy', 'false');
    page.dataset.ready = 'true';
  }
}

$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', signOut);
window.addEventListener('hashchange', render);
if (!globalThis.crypto || !crypto.subtle) signInError('This browser has no WebCrypto here: open the console over http://127.0.0.1 or https.');
