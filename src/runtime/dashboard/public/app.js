/* global uPlot, CSS */
// The CODE dashboard: KPI tiles, uPlot charts fed by the server's SSE stream (/v1/dashboard/stream),
// active alerts, and feature flags toggled through PUT /v1/flags/NAME. No framework, no CDN.
(() => {
  'use strict';

  const MAX_POINTS = 300;
  const HEIGHT = 180;
  const CHARTS = [
    { id: 'chart-latency', series: [['http.latency.p50', 'P50', '#3b82f6'], ['http.latency.p95', 'P95', '#b7791f'], ['http.latency.p99', 'P99', '#c53030']] },
    { id: 'chart-throughput', series: [['http.throughput', 'req/s', '#1f8a4c']] },
    { id: 'chart-errors', series: [['http.error_rate', 'errors %', '#c53030']] },
    { id: 'chart-memory', series: [['process.memory.rss', 'RSS MB', '#6b46c1'], ['process.memory.heap_used', 'heap MB', '#3b82f6']] },
    { id: 'chart-hitrate', series: [['cache.hit_rate', 'hit rate %', '#1f8a4c']] },
    { id: 'chart-eventloop', series: [['process.eventloop.delay_p99', 'delay P99 ms', '#b7791f'], ['process.eventloop.utilization', 'busy %', '#3b82f6']] },
  ];

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  };

  /** x (seconds) and one array per KPI name, aligned. */
  let xs = [];
  const columns = new Map();
  const plots = new Map();
  let samples = 0;
  const pendingFlags = new Set();

  function fmt(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '—';
    const a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  function column(name) {
    let c = columns.get(name);
    if (!c) {
      c = new Array(xs.length).fill(null);
      columns.set(name, c);
    }
    return c;
  }

  function pushValues(at, values) {
    xs.push(at / 1000);
    for (const chart of CHARTS) for (const [name] of chart.series) column(name).push(values[name] ?? null);
    if (xs.length > MAX_POINTS) {
      const drop = xs.length - MAX_POINTS;
      xs = xs.slice(drop);
      for (const [name, c] of columns) columns.set(name, c.slice(drop));
    }
  }

  function makePlots() {
    for (const chart of CHARTS) {
      const fig = $(chart.id);
      const box = fig.querySelector('.plot');
      box.textContent = '';
      plots.get(chart.id)?.destroy();
      const opts = {
        width: Math.max(200, box.clientWidth),
        height: HEIGHT,
        cursor: { drag: { x: false, y: false } },
        legend: { live: false },
        scales: { x: { time: true } },
        axes: [{ stroke: '#5d6677', grid: { stroke: '#eef0f4' } }, { stroke: '#5d6677', size: 48, grid: { stroke: '#eef0f4' } }],
        series: [{}, ...chart.series.map(([, label, stroke]) => ({ label, stroke, width: 2, points: { show: false } }))],
      };
      plots.set(chart.id, new uPlot(opts, [xs, ...chart.series.map(([name]) => column(name))], box));
    }
  }

  function redrawPlots() {
    for (const chart of CHARTS) {
      const plot = plots.get(chart.id);
      if (!plot) continue;
      const data = chart.series.map(([name]) => column(name));
      plot.setData([xs, ...data]);
      const fig = $(chart.id);
      // For people and tests alike: how many samples the chart holds and its latest values.
      const points = data[0].filter((v) => v !== null).length;
      fig.dataset.points = String(points);
      fig.classList.toggle('nodata', points === 0);
      fig.dataset.last = JSON.stringify(data.map((d) => d[d.length - 1] ?? null));
    }
  }

  function renderTiles(kpis) {
    const box = $('tiles');
    box.textContent = '';
    for (const k of kpis) {
      const t = k.thresholds;
      const limits = t ? [t.warning !== undefined ? `warn ${t.comparison} ${t.warning}` : '', t.critical !== undefined ? `crit ${t.comparison} ${t.critical}` : ''].filter(Boolean).join(' · ') : '';
      box.append(
        el('div', { class: 'tile', dataset: { state: k.state, kpi: k.name }, title: `${k.name} (${k.state})` },
          el('div', { class: 'title', text: k.title }),
          el('div', { class: 'value' }, fmt(k.value), el('small', { text: k.value === null ? 'no data' : k.unit })),
          el('div', { class: 'limits', text: limits })),
      );
    }
  }

  function renderAlerts(alerts) {
    const box = $('alerts');
    box.textContent = '';
    const firing = alerts.filter((a) => a.state === 'firing').length;
    const count = $('alert-count');
    count.textContent = String(alerts.length);
    count.dataset.firing = String(firing > 0);
    if (alerts.length === 0) {
      box.append(el('li', { class: 'empty', text: 'No alert pending or firing.' }));
      return;
    }
    for (const a of alerts) {
      const since = new Date(a.firingSince ?? a.activeSince).toLocaleTimeString();
      box.append(
        el('li', { dataset: { severity: a.severity, state: a.state, rule: a.rule } },
          el('div', { class: 'head', text: `${a.state === 'firing' ? '●' : '○'} ${a.severity} · ${a.rule}` }),
          el('div', { class: 'msg', text: `${a.message} — ${a.state} since ${since}` })),
      );
    }
  }

  function renderFlags(flags) {
    const box = $('flags');
    // Keep the list (and keyboard focus) when nothing but states changed.
    const names = flags.map((f) => f.name).join('|');
    if (box.dataset.names !== names) {
      box.textContent = '';
      box.dataset.names = names;
      if (flags.length === 0) box.append(el('li', { class: 'empty', text: 'No flags registered.' }));
      for (const f of flags) {
        const input = el('input', { type: 'checkbox', role: 'switch', 'aria-label': `flag ${f.name}`, 'data-flag': f.name });
        input.addEventListener('change', () => toggle(f.name, input));
        box.append(
          el('li', { dataset: { flag: f.name } },
            el('div', {}, el('div', { class: 'name', text: f.name }), el('div', { class: 'desc', text: f.description })),
            el('label', { class: 'switch' }, input, el('span', { class: 'track' }))),
        );
      }
    }
    for (const f of flags) {
      if (pendingFlags.has(f.name)) continue;
      const input = box.querySelector(`input[data-flag="${CSS.escape(f.name)}"]`);
      if (input && input.checked !== f.enabled) input.checked = f.enabled;
      input?.closest('li')?.setAttribute('data-enabled', String(f.enabled));
    }
  }

  async function toggle(name, input) {
    const wanted = input.checked;
    const err = $('flag-error');
    pendingFlags.add(name);
    input.disabled = true;
    try {
      const res = await fetch(`/v1/flags/${encodeURIComponent(name)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled: wanted }) });
      const body = await res.json();
      if (!res.ok) throw new Error(body.detail || body.title || `HTTP ${res.status}`);
      input.checked = body.new;
      input.closest('li')?.setAttribute('data-enabled', String(body.new));
      err.hidden = true;
    } catch (e) {
      input.checked = !wanted;
      err.textContent = `Could not switch ${name}: ${e.message}`;
      err.hidden = false;
    } finally {
      pendingFlags.delete(name);
      input.disabled = false;
    }
  }

  function setStatus(state, text) {
    const s = $('status');
    s.dataset.state = state;
    $('status-text').textContent = text;
  }

  function onSample(s) {
    samples++;
    document.body.dataset.samples = String(samples);
    pushValues(s.at, Object.fromEntries(s.kpis.map((k) => [k.name, k.value])));
    redrawPlots();
    renderTiles(s.kpis);
    renderAlerts(s.alerts);
    renderFlags(s.flags);
    setStatus('live', `live · updated ${new Date(s.at).toLocaleTimeString()}`);
  }

  function connect() {
    const source = new EventSource('/v1/dashboard/stream');
    source.addEventListener('hello', (ev) => {
      const hello = JSON.parse(ev.data);
      xs = [];
      columns.clear();
      // Backfill the charts with what the server kept, then draw the current sample.
      for (const h of hello.history) if (h.at < hello.at) pushValues(h.at, h.values);
      makePlots();
      onSample(hello);
    });
    source.addEventListener('sample', (ev) => onSample(JSON.parse(ev.data)));
    source.addEventListener('error', () => setStatus('lost', 'connection lost · retrying…'));
  }

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const chart of CHARTS) plots.get(chart.id)?.setSize({ width: Math.max(200, $(chart.id).querySelector('.plot').clientWidth), height: HEIGHT });
    }, 100);
  });

  connect();
})();
