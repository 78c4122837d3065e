// Shared by the Node relying-party scripts: the live server's description, an end-user "browser"
// (cookie jar + manual redirects + Keystead's hosted login and consent forms) and a scenario runner
// that prints one JSON object on the last line of stdout for pytest to read.

export function loadLive() {
  const raw = process.env.KEYSTEAD_LIVE;
  if (!raw) throw new Error('KEYSTEAD_LIVE (the LiveServer JSON) is not set');
  return JSON.parse(raw);
}

const FORM = /<form[^>]*\bid="([\w-]+)"[^>]*\baction="([^"]*)"/s;
const CSRF = /name="csrf_token" value="([^"]+)"/;
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"' };
const unescape = (s) =>
  s.replace(/&(?:#(\d+)|(\w+));/g, (m, num, name) => (num ? String.fromCharCode(Number(num)) : (ENTITIES[name] ?? m)));

export class Browser {
  constructor(live) {
    this.live = live;
    this.origin = new URL(live.base_url).host;
    this.jar = new Map();
  }

  keep(res) {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '' || value === '""';
      if (gone) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async request(url, body) {
    const headers = { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method: body ? 'POST' : 'GET', body, headers, redirect: 'manual' });
    this.keep(res);
    return res;
  }

  // Follows redirects inside Keystead, fills in the login (once) and consent forms, and stops at the
  // first redirect that leaves Keystead's origin: { url, status, pages } or a page { url, status, html }.
  async go(url, { body, login = true, consent = 'allow' } = {}) {
    const pages = [];
    let current = String(url);
    let res = await this.request(current, body);
    for (let step = 0; step < 12; step++) {
      if (res.status >= 300 && res.status < 400) {
        const next = new URL(res.headers.get('location'), current);
        if (next.host !== this.origin) return { url: next, status: res.status, pages };
        current = next.href;
        res = await this.request(current);
        continue;
      }
      const html = await res.text();
      const form = FORM.exec(html);
      if (!form || !['login-form', 'consent-form'].includes(form[1]) || (form[1] === 'login-form' && !login)) {
        if (form?.[1] === 'login-form') pages.push('login');
        return { url: new URL(current), status: res.status, pages, html };
      }
      const csrf = CSRF.exec(html)[1];
      let fields;
      if (form[1] === 'login-form') {
        pages.push('login');
        fields = { username: this.live.username, password: this.live.password };
        login = false; // once: a second login page means the password was refused
      } else {
        pages.push('consent');
        fields = { decision: consent };
      }
      current = new URL(unescape(form[2]), current).href;
      res = await this.request(current, new URLSearchParams({ ...fields, csrf_token: csrf }));
    }
    throw new Error('too many steps');
  }

  // RP-initiated logout: show the confirmation page, press "Sign out", return where it redirects.
  async logout(endSessionUrl) {
    const page = await this.request(endSessionUrl);
    const html = await page.text();
    const form = /<form[^>]*id="logout-form"[^>]*action="([^"]+)"(.*?)<\/form>/s.exec(html);
    if (!form) throw new Error(`no logout form (HTTP ${page.status})`);
    const fields = Object.fromEntries(
      [...form[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], unescape(m[2])]),
    );
    const res = await this.request(new URL(unescape(form[1]), endSessionUrl).href, new URLSearchParams({ ...fields, decision: 'logout' }));
    return { status: res.status, location: res.headers.get('location') };
  }
}

export function describe(e) {
  return {
    name: e?.name,
    code: e?.code,
    error: e?.error,
    status: e?.status,
    message: String(e?.message ?? e),
    cause: e?.cause instanceof Error ? String(e.cause.message) : undefined,
  };
}

// A negative check: resolves to the error's description, throws if nothing was rejected.
export async function rejected(fn) {
  try {
    await fn();
  } catch (e) {
    return describe(e);
  }
  throw new Error('expected a rejection, but the call succeeded');
}

// Runs the named scenarios (all when none are named on the command line), each isolated.
export async function runScenarios(table) {
  const wanted = process.argv.slice(2);
  const results = {};
  for (const [name, scenario] of Object.entries(table)) {
    if (wanted.length && !wanted.includes(name)) continue;
    try {
      results[name] = { ok: true, ...(await scenario()) };
    } catch (e) {
      results[name] = { ok: false, ...describe(e), stack: e?.stack };
    }
  }
  console.log(JSON.stringify(results));
}
