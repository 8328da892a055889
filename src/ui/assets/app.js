/* Switchyard admin dashboard: polls /ui/api/snapshot with the admin key and draws it. No framework, no network but this gateway. */
/* global document, window, sessionStorage, fetch, URLSearchParams, location */
'use strict';

(function main() {
  const KEY_STORAGE = 'switchyard.adminKey';
  const params = new URLSearchParams(location.search);
  const POLL_MS = Math.max(500, Number(params.get('refresh')) || 2000);

  const $ = (id) => document.getElementById(id);
  let adminKey = sessionStorage.getItem(KEY_STORAGE) || '';
  let timer = 0;
  let generation = 0;
  let lastSnapshot = null;
  let shownConfigVersion = -1;
  let failuresInARow = 0;

  // ---------- formatting ----------
  const esc = (value) =>
    String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const int = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
  const compact = (n) => {
    if (n == null) return '–';
    if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(1) + 'B';
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + 'M';
    if (Math.abs(n) >= 1e5) return Math.round(n / 1e3) + 'k';
    if (Math.abs(n) >= 1e3) return (n / 1e3).toFixed(1) + 'k';
    return int(n);
  };
  const ms = (v) => {
    if (v == null) return '–';
    if (v >= 10_000) return (v / 1000).toFixed(1) + ' s';
    if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
    if (v >= 10) return Math.round(v) + ' ms';
    return v.toFixed(1) + ' ms';
  };
  const pct = (share) => (share == null ? '–' : (share * 100).toFixed(share > 0 && share < 0.001 ? 2 : 1) + ' %');
  const usd = (v) => {
    if (!v) return '$0';
    if (v < 0.01) return '$' + v.toFixed(5);
    if (v < 1) return '$' + v.toFixed(4);
    return '$' + v.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });
  };
  const clock = (t) => new Date(t).toLocaleTimeString('en-GB', { hour12: false });
  const duration = (msSpan) => {
    const s = Math.floor(msSpan / 1000);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  };
  const unitValue = (text, unit) => `${esc(text)}<span class="unit">${esc(unit)}</span>`;
  const msValue = (v) => {
    if (v == null) return '–';
    const [n, u] = ms(v).split(' ');
    return unitValue(n, u);
  };

  // ---------- API ----------
  class AuthError extends Error {}

  async function api(path) {
    const res = await fetch(path, { headers: { 'x-api-key': adminKey, accept: 'application/json' }, cache: 'no-store' });
    if (res.status === 401 || res.status === 403) {
      let message = 'The admin key was refused.';
      try {
        const body = await res.json();
        if (body && body.error && body.error.message) message = body.error.message;
      } catch {
        // keep the generic message
      }
      throw new AuthError(message);
    }
    if (!res.ok) throw new Error(`${path} answered ${res.status}`);
    return res.json();
  }

  // ---------- login / session ----------
  function showLogin(message) {
    window.clearTimeout(timer);
    generation++;
    $('dash').hidden = true;
    $('logout').hidden = true;
    $('status').hidden = true;
    $('meta').textContent = '';
    $('login').hidden = false;
    const error = $('login-error');
    error.hidden = !message;
    error.textContent = message || '';
    $('login-key').focus();
  }

  function signOut() {
    adminKey = '';
    sessionStorage.removeItem(KEY_STORAGE);
    lastSnapshot = null;
    shownConfigVersion = -1;
    showLogin('');
  }

  async function tryKey(key) {
    adminKey = key;
    try {
      const snapshot = await api('/ui/api/snapshot');
      sessionStorage.setItem(KEY_STORAGE, key);
      $('login').hidden = true;
      $('dash').hidden = false;
      $('logout').hidden = false;
      $('status').hidden = false;
      start(snapshot);
    } catch (err) {
      adminKey = '';
      sessionStorage.removeItem(KEY_STORAGE);
      showLogin(err instanceof AuthError ? `Refused: ${err.message}` : `Could not reach the gateway (${err.message}).`);
    }
  }

  function start(first) {
    const mine = ++generation;
    failuresInARow = 0;
    render(first);
    const tick = async () => {
      if (mine !== generation) return;
      try {
        const snapshot = await api('/ui/api/snapshot');
        if (mine !== generation) return;
        failuresInARow = 0;
        render(snapshot);
      } catch (err) {
        if (mine !== generation) return;
        if (err instanceof AuthError) {
          signOut();
          showLogin(`The admin key is no longer accepted: ${err.message}`);
          return;
        }
        failuresInARow++;
        setStatus('down', `Cannot reach the gateway, retrying (${failuresInARow})`);
      }
      schedule();
    };
    // A hidden tab stops polling and catches up at once when shown again.
    const schedule = () => {
      if (mine !== generation) return;
      if (document.hidden) {
        document.addEventListener('visibilitychange', () => (document.hidden ? schedule() : void tick()), { once: true });
        return;
      }
      timer = window.setTimeout(tick, POLL_MS);
    };
    schedule();
  }

  function setStatus(kind, text) {
    $('status').className = 'status ' + kind;
    $('status-text').textContent = text;
  }

  // ---------- render ----------
  function render(s) {
    lastSnapshot = s;
    setStatus('live', `Live · updated ${clock(s.now)}`);
    $('meta').innerHTML =
      `<span>config v${esc(s.configVersion)}</span><span>up ${esc(duration(s.now - s.startedAt))}</span>` +
      `<span>${int(s.totals.requests)} requests since start</span>`;
    renderTiles(s);
    renderCharts(s);
    renderRoutes(s);
    renderDeployments(s);
    renderFlows(s);
    renderRecent(s);
    renderUsage(s);
    if (s.configVersion !== shownConfigVersion) loadConfig(s.configVersion);
  }

  function renderTiles(s) {
    const w = s.window;
    const minutes = Math.round(w.spanMs / 60000);
    $('v-rate').innerHTML = unitValue(w.lastMinute.ratePerSec >= 10 ? w.lastMinute.ratePerSec.toFixed(0) : w.lastMinute.ratePerSec.toFixed(2), '/s');
    $('s-rate').textContent = `last minute: ${int(w.lastMinute.requests)}`;
    $('v-requests').textContent = int(w.total.requests);
    $('s-requests').textContent = `last ${minutes} min`;
    $('s-requests').title = `${int(s.totals.requests)} since start`;
    const errorShare = w.total.requests === 0 ? 0 : w.total.errors / w.total.requests;
    $('v-errors').textContent = int(w.total.errors);
    $('v-errors').classList.toggle('bad', w.total.errors > 0);
    $('s-errors').textContent = `${pct(errorShare)} of requests`;
    $('s-errors').title = `status ≥ 400 over the last ${minutes} min · ${int(s.totals.errors)} since start`;
    const t = w.total;
    $('v-latency').innerHTML = t.p50 == null ? '–' : `${msValue(t.p50)}<span class="sep">·</span>${msValue(t.p90)}<span class="sep">·</span>${msValue(t.p99)}`;
    const m = w.lastMinute;
    $('s-latency').textContent = `last ${minutes} min` + (m.p50 == null ? '' : ` · 1 min: ${Math.round(m.p50)} · ${Math.round(m.p90)} · ${Math.round(m.p99)} ms`);
    const upstream = s.deployments.reduce((sum, d) => sum + d.inFlight, 0);
    $('v-inflight').textContent = int(upstream);
    $('s-inflight').textContent = s.limiter
      ? `upstream · gateway ${int(s.limiter.inFlight)}/${int(s.limiter.maxConcurrent)} · queued ${int(s.limiter.queued)}`
      : 'upstream';
    const tokensIn = compact(s.totals.tokensIn);
    const tokensOut = compact(s.totals.tokensOut);
    $('v-tokens').innerHTML = `${esc(tokensIn)}<span class="sep">/</span>${esc(tokensOut)}`;
    $('v-tokens').classList.toggle('long', tokensIn.length + tokensOut.length > 6);
    $('s-tokens').textContent = 'since start';
    $('v-cost').textContent = usd(s.totals.costUsd);
    $('v-cost').classList.toggle('long', usd(s.totals.costUsd).length > 6);
    $('s-cost').textContent = 'since start';
    $('s-cost').title = s.totals.costUsd > 0 ? `${usd(s.totals.costUsd / Math.max(1, s.totals.requests))} per request` : 'from configured prices';
  }

  // ---------- charts (hand-written SVG) ----------
  const PAD = { left: 40, right: 8, top: 8, bottom: 20 };

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function frame(el, yMax, yFormat, buckets, bucketMs) {
    const width = Math.max(200, el.clientWidth);
    const height = Math.max(100, el.clientHeight);
    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    const n = buckets.length;
    const x = (i) => PAD.left + (i / n) * plotW;
    const y = (v) => PAD.top + plotH - (v / yMax) * plotH;
    let svg = `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"><g class="grid">`;
    for (const f of [0, 0.5, 1]) svg += `<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${y(yMax * f)}" y2="${y(yMax * f)}"/>`;
    svg += '</g><g class="axis">';
    for (const f of [0, 0.5, 1]) svg += `<text x="${PAD.left - 6}" y="${y(yMax * f) + 3.5}" text-anchor="end">${esc(yFormat(yMax * f))}</text>`;
    const spanMin = (n * bucketMs) / 60000;
    const step = spanMin > 20 ? 10 : spanMin > 8 ? 5 : spanMin > 3 ? 1 : 0.5;
    for (let ago = 0; ago <= spanMin + 1e-9; ago += step) {
      const xi = PAD.left + plotW * (1 - ago / spanMin);
      const anchor = ago === 0 ? 'end' : xi - PAD.left < 20 ? 'start' : 'middle';
      svg += `<text x="${xi}" y="${height - 5}" text-anchor="${anchor}">${ago === 0 ? 'now' : '−' + ago + ' min'}</text>`;
    }
    svg += '</g>';
    return { svg, x, y, width, height, plotW, plotH, n };
  }

  function linePath(values, x, y, half) {
    let d = '';
    let pen = false;
    values.forEach((v, i) => {
      if (v == null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${(x(i) + half).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  }

  /** Points with no neighbour draw no line: a dot shows them. */
  function isolatedDots(values, x, y, half, cls) {
    let out = '';
    values.forEach((v, i) => {
      if (v == null || values[i - 1] != null || values[i + 1] != null) return;
      out += `<circle class="dot ${cls}" cx="${(x(i) + half).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5"/>`;
    });
    return out;
  }

  function emptyNote(f) {
    return `<text class="empty" x="${PAD.left + f.plotW / 2}" y="${PAD.top + f.plotH / 2}" text-anchor="middle">no requests in this window</text>`;
  }

  function renderCharts(s) {
    const { buckets, bucketMs } = s.window;
    const any = buckets.some((b) => b.requests > 0);
    $('c-rate-unit').textContent = `per ${bucketMs / 1000} s`;

    // Requests: stacked bars, errors on top in red.
    {
      const el = $('chart-rate');
      const f = frame(el, niceMax(Math.max(...buckets.map((b) => b.requests))), (v) => compact(v), buckets, bucketMs);
      const w = Math.max(1, f.plotW / f.n - (f.plotW / f.n > 3 ? 1 : 0));
      let bars = '';
      buckets.forEach((b, i) => {
        if (b.requests === 0) return;
        const ok = b.requests - b.errors;
        if (ok > 0) bars += `<rect class="bar-ok" x="${f.x(i).toFixed(1)}" y="${f.y(ok).toFixed(1)}" width="${w.toFixed(1)}" height="${(f.y(0) - f.y(ok)).toFixed(1)}"/>`;
        if (b.errors > 0) bars += `<rect class="bar-err" x="${f.x(i).toFixed(1)}" y="${f.y(b.requests).toFixed(1)}" width="${w.toFixed(1)}" height="${(f.y(ok) - f.y(b.requests)).toFixed(1)}"/>`;
      });
      el.innerHTML = f.svg + bars + (any ? '' : emptyNote(f)) + '</svg>';
      attachTip(el, f, buckets, (b) => `${int(b.requests)} requests\n${int(b.errors)} errors`);
    }

    // Latency: p50, p90, p99 lines.
    {
      const el = $('chart-latency');
      const max = Math.max(0, ...buckets.map((b) => b.p99 ?? 0));
      const yMax = niceMax(max);
      const f = frame(el, yMax, (v) => (v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + 's' : String(v < 10 ? Math.round(v * 10) / 10 : Math.round(v))), buckets, bucketMs);
      const half = f.plotW / f.n / 2;
      let lines = '';
      for (const p of ['p99', 'p90', 'p50']) {
        const values = buckets.map((b) => b[p]);
        lines += `<path class="line ${p}" d="${linePath(values, f.x, f.y, half)}"/>` + isolatedDots(values, f.x, f.y, half, p);
      }
      el.innerHTML = f.svg + lines + (any ? '' : emptyNote(f)) + '</svg>';
      attachTip(el, f, buckets, (b) => (b.requests === 0 ? 'no requests' : `p50 ${ms(b.p50)}\np90 ${ms(b.p90)}\np99 ${ms(b.p99)}`));
    }

    // Error rate per bucket.
    {
      const el = $('chart-errors');
      const rates = buckets.map((b) => (b.requests === 0 ? null : (100 * b.errors) / b.requests));
      const yMax = niceMax(Math.max(1, ...rates.map((r) => r ?? 0)));
      const f = frame(el, Math.min(100, yMax), (v) => String(Math.round(v * 100) / 100), buckets, bucketMs);
      const half = f.plotW / f.n / 2;
      const d = linePath(rates, f.x, f.y, half);
      let area = '';
      // One closed area per run of buckets with requests.
      let run = [];
      const flush = () => {
        if (run.length > 0) {
          const first = run[0];
          const last = run[run.length - 1];
          area += `<path class="area err" d="M${(f.x(first) + half).toFixed(1)},${f.y(0)}${run.map((i) => `L${(f.x(i) + half).toFixed(1)},${f.y(rates[i]).toFixed(1)}`).join('')}L${(f.x(last) + half).toFixed(1)},${f.y(0)}Z"/>`;
        }
        run = [];
      };
      rates.forEach((r, i) => (r == null ? flush() : run.push(i)));
      flush();
      el.innerHTML = f.svg + area + `<path class="line err" d="${d}"/>` + isolatedDots(rates, f.x, f.y, half, 'err') + (any ? '' : emptyNote(f)) + '</svg>';
      const lm = s.window.lastMinute;
      $('c-errors-now').textContent = `last minute ${pct(lm.requests === 0 ? 0 : lm.errors / lm.requests)}`;
      attachTip(el, f, buckets, (b) => (b.requests === 0 ? 'no requests' : `${pct(b.errors / b.requests)} errors\n${int(b.errors)} of ${int(b.requests)}`));
    }
  }

  function attachTip(el, f, buckets, describe) {
    const tip = $('tip');
    el.onmousemove = (event) => {
      const rect = el.getBoundingClientRect();
      const i = Math.floor(((event.clientX - rect.left - PAD.left) / f.plotW) * f.n);
      const b = buckets[i];
      if (!b) {
        tip.hidden = true;
        return;
      }
      tip.textContent = `${clock(b.t)}\n${describe(b)}`;
      tip.hidden = false;
      const left = Math.min(window.innerWidth - tip.offsetWidth - 8, event.clientX + 12);
      tip.style.left = `${left}px`;
      tip.style.top = `${event.clientY + 12}px`;
    };
    el.onmouseleave = () => {
      tip.hidden = true;
    };
  }

  // ---------- tables ----------
  function rows(tbody, html, columns, emptyText) {
    $(tbody).querySelector('tbody').innerHTML = html || `<tr class="empty-row"><td colspan="${columns}">${esc(emptyText)}</td></tr>`;
  }

  function renderRoutes(s) {
    const byRule = new Map();
    for (const f of s.flows) byRule.set(f.rule, (byRule.get(f.rule) || 0) + f.requests);
    const html = s.routes
      .map(
        (r) =>
          `<tr data-rule="${esc(r.rule)}"><td class="nowrap"><b>${esc(r.rule)}</b></td><td class="muted">${esc(r.condition)}</td>` +
          `<td class="nowrap">${esc(r.model)}${r.target !== r.model ? `<span class="tag">${esc(r.target)}</span>` : ''}</td>` +
          `<td>${r.deployments.map((d) => `<span class="chip">${esc(d)}</span>`).join('')}</td>` +
          `<td class="num">${int(byRule.get(r.rule) || 0)}</td></tr>`,
      )
      .join('');
    // Named models and explicit `provider,model` requests are decided without a scenario rule.
    const others = [...byRule.entries()].filter(([rule]) => !s.routes.some((r) => r.rule === rule));
    const extra = others
      .map(([rule, n]) => `<tr data-rule="${esc(rule)}"><td class="nowrap"><b>${esc(rule)}</b></td><td class="muted">${esc(ruleNote(rule))}</td><td></td><td></td><td class="num">${int(n)}</td></tr>`)
      .join('');
    rows('routes', html + extra, 5, 'no route rules');
  }

  function ruleNote(rule) {
    switch (rule) {
      case 'model':
        return 'a configured model name or alias';
      case 'explicit':
        return '"provider,model" in the request';
      case 'subagent':
        return 'a subagent model tag in the prompt';
      case 'custom':
        return 'the custom router';
      case '—':
        return 'refused or failed before routing';
      default:
        return '';
    }
  }

  function renderDeployments(s) {
    const html = s.deployments
      .slice()
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((d) => {
        const last = d.lastError ? `${d.lastError.status ?? ''} ${readable(d.lastError.error || '')}`.trim() : '';
        const capped = d.maxConcurrent > 0 ? ` / ${int(d.maxConcurrent)}` : '';
        return (
          `<tr data-id="${esc(d.id)}"><td class="nowrap"><b>${esc(d.id)}</b>${d.protocol ? `<span class="tag">${esc(d.protocol)}</span>` : ''}</td>` +
          `<td>${d.models.map((m) => `<span class="chip">${esc(m)}</span>`).join('') || '<span class="muted">provider,model</span>'}</td>` +
          `<td><span class="pill ${esc(d.state)}" data-state="${esc(d.state)}">${esc(d.state)}</span></td>` +
          `<td class="num">${int(d.inFlight)}${capped}</td>` +
          `<td class="num">${d.latencyMs > 0 ? esc(ms(d.latencyMs)) : '–'}</td>` +
          `<td class="num">${d.windowRequests === 0 ? '–' : `${pct(d.errorRate)} <span class="muted">(${int(d.windowFailures)}/${int(d.windowRequests)})</span>`}</td>` +
          `<td class="num">${int(d.consecutiveFailures)}</td>` +
          `<td class="num" data-col="attempts">${int(d.attempts)}</td>` +
          `<td class="num" data-col="failed">${int(d.failures)}</td>` +
          `<td class="nowrap">${last ? `<span class="chip fail" title="${esc(d.lastError.error || '')}">${esc(last)}</span><span class="muted small">${esc(clock(d.lastError.at))}</span>` : '<span class="muted">–</span>'}</td></tr>`
        );
      })
      .join('');
    rows('deployments', html, 10, 'no deployments tracked yet');
  }

  function renderFlows(s) {
    const flows = s.flows.slice().sort((a, b) => b.requests - a.requests);
    const max = Math.max(1, ...flows.map((f) => f.requests));
    const html = flows
      .map(
        (f) =>
          `<tr><td class="nowrap">${esc(f.rule)}</td><td class="nowrap">${esc(f.model)}</td><td class="nowrap">${esc(f.deployment)}</td>` +
          `<td class="num">${int(f.requests)}</td><td class="num">${int(f.errors)}</td>` +
          // SVG, not style attributes: the page's CSP allows no inline styles.
          `<td><svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"><rect class="track" width="100" height="8"/>` +
          `<rect class="ok" width="${((100 * f.requests) / max).toFixed(1)}" height="8"/><rect class="err" width="${((100 * f.errors) / max).toFixed(1)}" height="8"/></svg></td></tr>`,
      )
      .join('');
    rows('flows', html, 6, 'no traffic yet');
  }

  /** SWY_ERR_UPSTREAM_STATUS → "upstream status" (the full code is the chip's title). */
  const readable = (code) => String(code).replace(/^SWY_ERR_/, '').toLowerCase().replaceAll('_', ' ');

  const NEUTRAL = new Set(['hedge_lost', 'client_closed']);

  function attemptChips(r) {
    // One attempt that succeeded says nothing the deployment column does not.
    if (r.attempts.length === 1 && !r.attempts[0].error) return '';
    return r.attempts
      .map((a) => {
        const why = a.error ? `${a.status ?? ''} ${readable(a.error)}`.trim() : String(a.status ?? 'ok');
        // A lost hedge or a client that left is no failure of the deployment.
        const kind = !a.error ? 'ok' : NEUTRAL.has(a.error) ? '' : 'fail';
        const when = a.startMs == null ? '' : `started at +${ms(a.startMs)}${a.durationMs == null ? '' : `, took ${ms(a.durationMs)}`}`;
        const title = [a.error, when, a.hedge ? 'hedged attempt' : ''].filter(Boolean).join(' · ');
        return `<span class="chip ${kind}" title="${esc(title)}">${a.hedge ? 'hedge ' : ''}${esc(a.deployment)} · ${esc(why)}</span>`;
      })
      .join('');
  }

  function renderRecent(s) {
    const onlyErrors = $('only-errors').checked;
    const list = onlyErrors ? s.recent.filter((r) => r.status >= 400 || r.attempts.some((a) => a.error && !NEUTRAL.has(a.error))) : s.recent;
    $('recent-count').textContent = `last ${s.recent.length}${onlyErrors ? ` · ${list.length} with failures` : ''}`;
    const html = list
      .map((r) => {
        const failed = r.status >= 400;
        const caller = r.tenant ? `${r.tenant}${r.keyId ? ' · ' + r.keyId : ''}` : '';
        const tokens = r.tokensIn == null ? '–' : `${int(r.tokensIn)} / ${int(r.tokensOut)}`;
        return (
          `<tr data-id="${esc(r.id)}" class="${failed ? 'failed' : ''}"><td class="time">${esc(clock(r.at))}</td><td class="id">${esc(r.id)}</td>` +
          `<td class="nowrap">${esc(r.surface)}${r.stream ? '<span class="tag">stream</span>' : ''}</td>` +
          `<td class="nowrap">${esc(caller) || '<span class="muted">–</span>'}</td>` +
          `<td class="nowrap">${r.rule ? `${esc(r.rule)} → ${esc(r.model)}` : `<span class="muted">${esc(r.requestedModel || '–')}</span>`}</td>` +
          `<td class="nowrap">${esc(r.deployment || '–')}</td>` +
          `<td class="num code">${esc(r.status)}${r.clientAborted ? '<span class="tag">client left</span>' : ''}</td>` +
          `<td class="num">${esc(ms(r.latencyMs))}</td><td class="num">${r.ttftMs == null ? '–' : esc(ms(r.ttftMs))}</td>` +
          `<td class="num">${tokens}</td>` +
          `<td>${r.error && !r.attempts.length ? `<span class="chip fail" title="${esc(r.error)}">${esc(readable(r.error))}</span>` : ''}${attemptChips(r)}</td></tr>`
        );
      })
      .join('');
    rows('recent', html, 11, onlyErrors ? 'no failed requests' : 'no requests yet');
  }

  function renderUsage(s) {
    const table = (id, list) => {
      const html = list
        .slice()
        .sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests)
        .map(
          (u) =>
            `<tr data-name="${esc(u.name)}"><td class="nowrap">${esc(u.name)}</td><td class="num">${int(u.requests)}</td><td class="num">${int(u.errors)}</td>` +
            `<td class="num">${int(u.tokensIn)}</td><td class="num">${int(u.tokensOut)}</td><td class="num">${esc(usd(u.costUsd))}</td></tr>`,
        )
        .join('');
      rows(id, html, 6, 'no usage yet');
    };
    table('usage-tenant', s.usage.byTenant);
    table('usage-key', s.usage.byKey);
    table('usage-model', s.usage.byModel);
  }

  async function loadConfig(version) {
    shownConfigVersion = version;
    try {
      const view = await api('/ui/api/config');
      $('config-version').textContent = `version ${view.version}`;
      $('config').innerHTML = highlight(JSON.stringify(view.config, null, 2));
    } catch (err) {
      shownConfigVersion = -1;
      $('config').textContent = `Could not load the config: ${err.message}`;
    }
  }

  /** Colours keys, strings and masks in pretty-printed JSON (escaped first). */
  function highlight(json) {
    return esc(json).replace(/(&quot;(?:[^&]|&(?!quot;))*?&quot;)(\s*:)?/g, (match, str, colon) => {
      if (colon) return `<span class="k">${str}</span>${colon}`;
      return str.includes('••••') ? `<span class="m">${str}</span>` : `<span class="s">${str}</span>`;
    });
  }

  // ---------- wiring ----------
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('login-key').value.trim();
    if (!key) {
      showLogin('Enter an admin key.');
      return;
    }
    $('login-key').value = '';
    void tryKey(key);
  });
  $('logout').addEventListener('click', signOut);
  $('only-errors').addEventListener('change', () => lastSnapshot && renderRecent(lastSnapshot));
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => lastSnapshot && renderCharts(lastSnapshot), 100);
  });

  if (adminKey) void tryKey(adminKey);
  else showLogin('');
})();
