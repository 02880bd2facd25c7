// The status page: one call for the snapshot and 15 minutes of history, then the same snapshot once a
// second over Server-Sent Events. The stream is read with fetch() so METRICS_TOKEN can travel in the
// Authorization header (EventSource cannot send headers; a token in the URL would land in logs).

const TOKEN_KEY = 'ws-manager-status-token';
const HISTORY_POINTS = 900;
const RETRY_MS = 2000;

const $ = (selector) => document.querySelector(selector);
const state = { paused: false, latest: undefined, charts: [], history: undefined, abort: undefined };

// ---- formatting for people ------------------------------------------------------------------------

function formatCount(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const units = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) {
    if (abs >= size) {
      const scaled = value / size;
      return `${scaled.toFixed(Math.abs(scaled) < 10 ? 1 : 0).replace(/\.0$/, '')}${unit}`;
    }
  }
  return String(Math.round(value));
}

function formatDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '–';
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function formatAgo(ms) {
  if (ms === null || ms === undefined) return 'never';
  if (ms < 1000) return 'just now';
  return `${formatDuration(ms / 1000)} ago`;
}

function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '–' : date.toLocaleTimeString();
}

const STATES = {
  open: ['✔', 'ok'],
  connecting: ['…', 'warn'],
  rotating: ['↻', 'warn'],
  waiting: ['◷', 'warn'],
  stalled: ['⚠', 'bad'],
  failed: ['✖', 'bad'],
  closed: ['–', 'muted'],
};

// ---- rendering ------------------------------------------------------------------------------------

function figureValue(doc, path) {
  if (path === 'timestamp') return doc.timestamp;
  let value = doc.metrics;
  for (const key of path.split('.')) value = value == null ? undefined : value[key];
  return value;
}

function setFigure(el, value) {
  const format = el.dataset.format;
  el.dataset.value = value === null || value === undefined ? '' : String(value);
  el.classList.remove('ok', 'bad');
  if (format === 'count') el.textContent = formatCount(value);
  else if (format === 'duration') el.textContent = formatDuration(value);
  else if (format === 'time') el.textContent = formatTime(value);
  else if (format === 'reason') el.textContent = value ? `— ${value}` : '';
  else if (format === 'health') {
    el.textContent = value ? '✔ Healthy' : '✖ Unhealthy';
    el.classList.add(value ? 'ok' : 'bad');
  } else el.textContent = value === null || value === undefined ? '–' : String(value);
}

function cell(row, metric, value, text, className) {
  const td = document.createElement('td');
  td.dataset.metric = metric;
  td.dataset.value = value === null || value === undefined ? '' : String(value);
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
}

function renderConnections(rows, notShown) {
  const body = $('#connections');
  body.replaceChildren();
  for (const c of rows) {
    const tr = document.createElement('tr');
    tr.dataset.metric = 'connections';
    tr.dataset.id = c.id;
    const [icon, className] = STATES[c.state] ?? ['?', 'warn'];
    cell(tr, 'connections.id', c.id, c.id);
    cell(tr, 'connections.state', c.state, `${icon} ${c.state}`, className);
    cell(tr, 'connections.streams', c.streams, formatCount(c.streams));
    cell(tr, 'connections.ageMs', c.ageMs, c.ageMs === null ? '–' : formatDuration(c.ageMs / 1000));
    cell(tr, 'connections.lastMessageAgeMs', c.lastMessageAgeMs, formatAgo(c.lastMessageAgeMs));
    cell(tr, 'connections.retries', c.retries, formatCount(c.retries));
    body.append(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 6;
    td.className = 'muted';
    td.textContent = 'No upstream connection (no stream is subscribed).';
    tr.append(td);
    body.append(tr);
  }
  $('#connections-more').hidden = !(notShown > 0);
}

function renderTopStreams(streams) {
  const body = $('#top-streams');
  body.replaceChildren();
  for (const s of streams) {
    const tr = document.createElement('tr');
    tr.dataset.metric = 'topStreams';
    cell(tr, 'topStreams.stream', s.stream, s.stream);
    cell(tr, 'topStreams.subscribers', s.subscribers, formatCount(s.subscribers));
    cell(tr, 'topStreams.lastMessageAgeMs', s.lastMessageAgeMs, formatAgo(s.lastMessageAgeMs));
    body.append(tr);
  }
}

function render(doc) {
  for (const el of document.querySelectorAll('[data-metric][data-format]')) {
    setFigure(el, figureValue(doc, el.dataset.metric));
  }
  const m = doc.metrics;
  renderConnections(m.connections ?? [], m.connectionsNotShown ?? 0);
  renderTopStreams(m.topStreams ?? []);
  document.title = `${m.isHealthy ? '✔' : '✖'} ws-manager ${m.implementation}`;
}

// ---- charts (uPlot) -------------------------------------------------------------------------------

const CHARTS = {
  clients: [['clients', 'clients']],
  activeConnections: [['activeConnections', 'connections']],
  messages: [
    ['messagesInPerSecond', 'in'],
    ['messagesOutPerSecond', 'out'],
  ],
  retryCount: [['retryCount', 'retries']],
  messageGaps: [['messageGaps', 'gaps']],
};

function colours() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return { fg: v('--muted'), grid: v('--grid'), series: [v('--accent'), v('--accent2')] };
}

function buildCharts() {
  for (const chart of state.charts) chart.plot.destroy();
  state.charts = [];
  if (typeof uPlot !== 'function' || state.history === undefined) return;
  const c = colours();
  const axis = { stroke: c.fg, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 } };
  for (const el of document.querySelectorAll('[data-chart]')) {
    const series = CHARTS[el.dataset.chart];
    const opts = {
      width: Math.max(200, el.clientWidth),
      height: 160,
      scales: { x: { time: true } },
      // Counts only: fractional ticks (0.5 retries) would round to a repeated label, so they stay blank.
      axes: [
        axis,
        { ...axis, values: (_u, ticks) => ticks.map((v) => (Number.isInteger(v) ? formatCount(v) : '')) },
      ],
      series: [
        {},
        ...series.map(([, label], i) => ({
          label,
          stroke: c.series[i],
          width: 2,
          value: (_u, v) => formatCount(v),
        })),
      ],
      legend: { show: series.length > 1, live: false },
    };
    const data = () => [state.history.t, ...series.map(([key]) => state.history[key])];
    state.charts.push({ plot: new uPlot(opts, data(), el), el, data });
  }
}

function drawCharts() {
  for (const chart of state.charts) chart.plot.setData(chart.data());
}

function addPoint(doc) {
  const h = state.history;
  if (h === undefined) return;
  const m = doc.metrics;
  const t = Math.floor(Date.parse(doc.timestamp) / 1000);
  if (h.t.length > 0 && t <= h.t[h.t.length - 1]) return;
  const point = {
    t,
    clients: m.gateway.clients,
    activeConnections: m.activeConnections,
    messagesInPerSecond: m.messagesInPerSecond,
    messagesOutPerSecond: m.messagesOutPerSecond,
    retryCount: m.retryCount,
    messageGaps: m.messageGaps,
  };
  for (const key of Object.keys(point)) {
    h[key].push(point[key]);
    if (h[key].length > HISTORY_POINTS) h[key].shift();
  }
}

// ---- data: one call, then the event stream --------------------------------------------------------

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

function setLive(text, className) {
  const el = $('#live');
  el.textContent = text;
  el.className = `live ${className}`;
}

function askForToken(rejected) {
  $('#token-form').hidden = false;
  const error = $('#token-error');
  error.hidden = !rejected;
  error.textContent = rejected ? 'That token was not accepted.' : '';
  setLive('✖ token required', 'warn');
}

class Unauthorized extends Error {}

/** The gateway turned the page away (429, 503): its reason, and when to ask again. */
class Refused extends Error {
  constructor(message, retryMs) {
    super(message);
    this.retryMs = retryMs;
  }
}

async function check(response) {
  if (response.status === 401) throw new Unauthorized('unauthorized');
  if (response.status === 429 || response.status === 503) {
    const body = await response.json().catch(() => ({}));
    const seconds = Number(response.headers.get('retry-after'));
    throw new Refused(
      typeof body.error === 'string' ? body.error : `HTTP ${response.status}`,
      seconds > 0 ? seconds * 1000 : RETRY_MS,
    );
  }
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response;
}

function showNotice(text) {
  const el = $('#notice');
  el.hidden = text === undefined;
  el.textContent = text ?? '';
}

function receive(doc) {
  state.latest = doc;
  addPoint(doc);
  if (!state.paused) {
    render(doc);
    drawCharts();
  }
}

/** Reads one event stream to its end; true when it carried snapshots and the gateway ended it. */
async function readEvents(signal) {
  const response = await check(await fetch('api/ws/status/events', { headers: authHeaders(), signal }));
  setLive('● live', 'ok');
  showNotice(undefined);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let received = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return received;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = block.split('\n');
      const event =
        lines
          .find((l) => l.startsWith('event:'))
          ?.slice(6)
          .trim() ?? 'message';
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (event === 'snapshot' && data) {
        received = true;
        receive(JSON.parse(data));
      }
      end = buffer.indexOf('\n\n');
    }
  }
}

async function start() {
  state.abort?.abort();
  const abort = new AbortController();
  state.abort = abort;
  let retryMs = RETRY_MS;
  try {
    const response = await check(
      await fetch('api/ws/status', { headers: authHeaders(), signal: abort.signal }),
    );
    const doc = await response.json();
    $('#token-form').hidden = true;
    state.history = doc.history;
    buildCharts();
    receive(doc);
    // The gateway ends each event stream after a minute: the next one is opened at once.
    while (await readEvents(abort.signal));
    setLive('○ disconnected, retrying', 'bad');
  } catch (error) {
    if (abort.signal.aborted) return;
    if (error instanceof Unauthorized) {
      askForToken(sessionStorage.getItem(TOKEN_KEY) !== null);
      return;
    }
    if (error instanceof Refused) {
      retryMs = error.retryMs;
      showNotice(
        `Live updates refused by the gateway: ${error.message}. Trying again in ${Math.round(retryMs / 1000)} s.`,
      );
      setLive('✖ refused, retrying', 'warn');
    } else setLive('○ disconnected, retrying', 'bad');
  }
  if (!abort.signal.aborted) setTimeout(start, retryMs);
}

// ---- controls -------------------------------------------------------------------------------------

$('#pause').addEventListener('click', () => {
  state.paused = !state.paused;
  const button = $('#pause');
  button.textContent = state.paused ? '▶ Resume' : '❚❚ Pause';
  button.setAttribute('aria-pressed', String(state.paused));
  if (state.paused) setLive('❚❚ paused', 'warn');
  else {
    setLive('● live', 'ok');
    if (state.latest) render(state.latest);
    drawCharts();
  }
});

$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim());
  $('#token').value = '';
  start();
});

let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const chart of state.charts)
      chart.plot.setSize({ width: Math.max(200, chart.el.clientWidth), height: 160 });
  }, 100);
});
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  buildCharts();
});

start();
