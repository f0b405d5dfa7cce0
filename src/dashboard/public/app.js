// task-manager dashboard: plain browser JavaScript, no build step. Everything it shows comes
// from the public REST API; live changes arrive over Server-Sent Events.
'use strict';

const API = '/api/v1';
const STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'];
const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const FINISHED = new Set(['completed', 'failed', 'cancelled']);
const BULK_FIELDS = ['kb_id', 'status', 'task_type', 'priority', 'created_after', 'created_before'];
const PAGE_SIZE = 20;

const state = {
  page: 1,
  totalPages: 1,
  filters: {},
  rows: new Map(),
  stream: null,
  detail: null,
  timers: {},
};

const $ = (selector) => document.querySelector(selector);

/** Builds an element; strings become text nodes, so nothing from the API is ever parsed as HTML. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat())
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(API + path, { headers: { 'Content-Type': 'application/json' }, ...options });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const fields =
      body && body.details && body.details.fields
        ? ` (${Object.entries(body.details.fields)
            .map(([f, m]) => `${f}: ${m.join(', ')}`)
            .join('; ')})`
        : '';
    throw new Error(`${(body && body.message) || `HTTP ${response.status}`}${fields}`);
  }
  return { status: response.status, body };
}

/** Runs `fn` once, `ms` after the last call: many events in a burst cost one refresh. */
function debounce(name, ms, fn) {
  clearTimeout(state.timers[name]);
  state.timers[name] = setTimeout(fn, ms);
}

const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const query = (params) =>
  new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString();

function statusBadge(status) {
  return el('span', { class: `status ${status}` }, status);
}

function progressBar(percent, big = false) {
  const bar = el('div');
  bar.style.width = `${percent}%`;
  return el('div', { class: big ? 'progress big' : 'progress' }, bar);
}

// ---- tasks -------------------------------------------------------------------------------

async function loadTasks() {
  try {
    const { body } = await api(`/tasks?${query({ ...state.filters, page: state.page, page_size: PAGE_SIZE })}`);
    state.totalPages = Math.max(1, body.pagination.total_pages);
    $('#tasks-total').textContent = `${body.pagination.total} matching`;
    $('#page').textContent = `page ${state.page} of ${state.totalPages}`;
    const tbody = $('#task-table tbody');
    tbody.replaceChildren();
    state.rows.clear();
    for (const task of body.tasks) tbody.append(taskRow(task));
  } catch (error) {
    $('#tasks-total').textContent = error.message;
  }
}

function taskRow(task) {
  const row = el(
    'tr',
    { 'data-task-id': task.id, onclick: (event) => event.target.tagName !== 'BUTTON' && openDetail(task.id) },
    el('td', {}, el('code', { title: task.id }, task.id.slice(0, 8))),
    el('td', {}, task.task_type),
    el('td', {}, task.kb_id),
    el('td', { class: 'status-cell' }, statusBadge(task.status)),
    el('td', {}, task.priority),
    el('td', { class: 'progress-cell', title: task.progress_message || '' }, progressBar(task.progress)),
    el('td', {}, time(task.created_at)),
    el('td', { class: 'actions' }),
  );
  state.rows.set(task.id, row);
  setActions(row, task.id, task.status);
  return row;
}

function setActions(row, id, status) {
  const cell = row.querySelector('.actions');
  cell.replaceChildren();
  if (status === 'queued' || status === 'processing')
    cell.append(el('button', { type: 'button', class: 'danger cancel', onclick: () => cancelTask(id) }, 'Cancel'));
  if (status === 'failed' || status === 'cancelled')
    cell.append(el('button', { type: 'button', class: 'retry', onclick: () => retryTask(id) }, 'Retry'));
}

function updateRow(event) {
  const row = state.rows.get(event.task_id);
  if (!row) return false;
  row.querySelector('.status-cell').replaceChildren(statusBadge(event.status));
  row.querySelector('.progress-cell').replaceChildren(progressBar(event.progress));
  row.querySelector('.progress-cell').title = event.message || '';
  setActions(row, event.task_id, event.status);
  return true;
}

async function cancelTask(id) {
  try {
    await api(`/tasks/${id}`, { method: 'DELETE' });
  } catch (error) {
    alert(error.message);
  }
}

async function retryTask(id) {
  try {
    await api(`/tasks/${id}/retry`, { method: 'POST' });
  } catch (error) {
    alert(error.message);
  }
}

function readFilters() {
  const filters = {};
  for (const [name, value] of new FormData($('#filters'))) {
    if (!value) continue;
    filters[name] = name.startsWith('created_') ? new Date(value).toISOString() : value.trim();
  }
  return filters;
}

// ---- live events -----------------------------------------------------------------------

/** One stream for the list (the kb / type filtered on, or everything); EventSource resumes by itself with Last-Event-ID. */
function connectStream() {
  if (state.stream) state.stream.close();
  const params = query({ kb_id: state.filters.kb_id, task_type: state.filters.task_type });
  const source = new EventSource(`${API}/tasks/events${params ? `?${params}` : ''}`);
  source.onopen = () => setLive(true);
  source.onerror = () => setLive(false);
  source.onmessage = (message) => onTaskEvent(JSON.parse(message.data));
  state.stream = source;
}

function setLive(on) {
  const badge = $('#live');
  badge.textContent = on ? 'live' : 'reconnecting…';
  badge.className = on ? 'live on' : 'live off';
}

function onTaskEvent(event) {
  const shown = updateRow(event);
  if (!shown && event.type === 'created' && state.page === 1) debounce('reload', 500, loadTasks);
  if (FINISHED.has(event.status)) debounce('stats', 1500, loadStats);
}

// ---- create --------------------------------------------------------------------------------

async function createTask(event) {
  event.preventDefault();
  const form = new FormData($('#create-form'));
  const out = $('#create-result');
  try {
    const request = {
      task_type: form.get('task_type'),
      kb_id: form.get('kb_id').trim(),
      priority: form.get('priority'),
      payload: JSON.parse(form.get('payload') || '{}'),
      ...(form.get('callback_url') ? { callback_url: form.get('callback_url').trim() } : {}),
      ...(form.get('callback_secret') ? { callback_secret: form.get('callback_secret') } : {}),
    };
    const { body } = await api('/tasks', { method: 'POST', body: JSON.stringify(request) });
    out.textContent = `Created ${body.id}`;
    out.dataset.taskId = body.id;
    if (!state.rows.has(body.id) && state.page === 1) $('#task-table tbody').prepend(taskRow(body));
  } catch (error) {
    out.textContent = error instanceof SyntaxError ? `Payload is not valid JSON: ${error.message}` : error.message;
  }
}

// ---- detail ----------------------------------------------------------------------------------

function openDetail(id) {
  closeDetail();
  $('#detail').hidden = false;
  $('#detail-id').textContent = id;
  $('#detail-history tbody').replaceChildren();
  // The task's own stream: its history first, then live changes; the server ends it when the task is done.
  const source = new EventSource(`${API}/tasks/${id}/events`);
  const seen = new Set();
  state.detail = { id, source };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (seen.has(event.event_id)) return;
    seen.add(event.event_id);
    showDetailEvent(event);
    if (event.type !== 'progress') debounce('detail', 300, () => loadDetail(id));
  };
  source.addEventListener('end', () => {
    source.close();
    loadDetail(id);
    // Webhook deliveries follow the end by a moment.
    setTimeout(() => state.detail && state.detail.id === id && loadDetail(id), 2000);
  });
  loadDetail(id);
  $('#detail').scrollIntoView({ behavior: 'smooth' });
}

function closeDetail() {
  if (state.detail) state.detail.source.close();
  state.detail = null;
  $('#detail').hidden = true;
}

function showDetailEvent(event) {
  $('#detail-status').replaceChildren(statusBadge(event.status));
  $('#detail-status').dataset.status = event.status;
  $('#detail-bar').style.width = `${event.progress}%`;
  $('#detail-message').textContent = event.message || '';
  $('#detail-attempt').textContent = event.attempt;
  $('#detail-history tbody').append(
    el(
      'tr',
      {},
      el('td', {}, time(event.at)),
      el('td', {}, event.type),
      el('td', {}, statusBadge(event.status)),
      el('td', {}, event.progress),
      el('td', {}, event.error || event.message || ''),
    ),
  );
}

async function loadDetail(id) {
  try {
    const [{ body: task }, { body: history }] = await Promise.all([api(`/tasks/${id}`), api(`/tasks/${id}/history`)]);
    if (!state.detail || state.detail.id !== id) return;
    $('#detail-type').textContent = task.task_type;
    $('#detail-kb').textContent = task.kb_id;
    $('#detail-status').replaceChildren(statusBadge(task.status));
    $('#detail-status').dataset.status = task.status;
    $('#detail-bar').style.width = `${task.progress}%`;
    $('#detail-error').textContent = task.error_message;
    $('#detail-result').textContent = task.result === null ? '—' : JSON.stringify(task.result, null, 2);
    $('#detail-attempts tbody').replaceChildren(
      ...history.attempts.map((a) =>
        el(
          'tr',
          {},
          el('td', {}, a.attempt),
          el('td', {}, a.outcome),
          el('td', {}, a.duration_seconds === null ? 'running' : `${a.duration_seconds}s`),
          el('td', {}, a.error || ''),
        ),
      ),
    );
    $('#detail-webhooks tbody').replaceChildren(
      ...history.webhook_deliveries.map((d) =>
        el(
          'tr',
          {},
          el('td', {}, time(d.at)),
          el('td', {}, d.attempt),
          el('td', {}, d.status_code ?? '—'),
          el('td', {}, d.duration_ms),
          el('td', {}, d.error || 'ok'),
        ),
      ),
    );
  } catch (error) {
    $('#detail-error').textContent = error.message;
  }
}

// ---- statistics and chart ----------------------------------------------------------------

async function loadStats() {
  const kb = state.filters.kb_id;
  $('#stats-scope').textContent = kb ? `knowledge base ${kb}` : 'all knowledge bases';
  try {
    const [{ body: stats }, { body: series }] = await Promise.all([
      api(`/stats/tasks?${query({ kb_id: kb })}`),
      api(`/stats/timeseries?${query({ kb_id: kb, bucket: 'minute', buckets: 60 })}`),
    ]);
    const numbers = [
      ['total', stats.total_tasks],
      ['queued', stats.queued_tasks],
      ['processing', stats.processing_tasks],
      ['completed', stats.completed_tasks],
      ['failed', stats.failed_tasks],
      ['cancelled', stats.cancelled_tasks],
      ['success rate', `${stats.success_rate}%`],
      ['avg run', `${stats.avg_process_time}s`],
    ];
    $('#stats-numbers').replaceChildren(
      ...numbers.map(([label, value]) => el('div', {}, el('b', {}, value), el('span', {}, label))),
    );
    drawChart(series.points);
  } catch (error) {
    $('#stats-numbers').textContent = error.message;
  }
}

/** Stacked bars per minute (completed, failed, cancelled), drawn as inline SVG. */
function drawChart(points) {
  const svg = $('#chart');
  const ns = 'http://www.w3.org/2000/svg';
  const shape = (tag, attrs) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  };
  const [width, height, left, bottom] = [720, 180, 34, 18];
  const max = Math.max(1, ...points.map((p) => p.completed + p.failed + p.cancelled));
  const step = (width - left) / Math.max(1, points.length);
  const scale = (height - bottom - 8) / max;
  const nodes = [
    shape('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: '#c9ced6' }),
    Object.assign(shape('text', { x: 2, y: 14, 'font-size': 11, fill: '#6b7385' }), { textContent: String(max) }),
    Object.assign(shape('text', { x: 2, y: height - bottom, 'font-size': 11, fill: '#6b7385' }), { textContent: '0' }),
  ];
  points.forEach((point, i) => {
    let y = height - bottom;
    for (const [value, color] of [
      [point.completed, '#1f9d55'],
      [point.failed, '#d64545'],
      [point.cancelled, '#8a8f99'],
    ]) {
      if (!value) continue;
      const h = value * scale;
      y -= h;
      const bar = shape('rect', { x: left + i * step + 1, y, width: Math.max(1, step - 2), height: h, fill: color });
      bar.append(
        Object.assign(shape('title', {}), {
          textContent: `${time(point.at)}: ${point.completed} completed, ${point.failed} failed, ${point.cancelled} cancelled`,
        }),
      );
      nodes.push(bar);
    }
    if (i % 15 === 0)
      nodes.push(
        Object.assign(shape('text', { x: left + i * step, y: height - 4, 'font-size': 10, fill: '#6b7385' }), {
          textContent: new Date(point.at).toTimeString().slice(0, 5),
        }),
      );
  });
  svg.replaceChildren(...nodes);
}

// ---- queues and workers ------------------------------------------------------------------------

async function loadQueues() {
  try {
    const { body } = await api('/queues');
    $('#queue-table tbody').replaceChildren(
      ...body.queues.map((q) => {
        const w = q.waiting_by_priority;
        const action = q.paused ? 'resume' : 'pause';
        return el(
          'tr',
          { 'data-queue': q.task_type },
          el('td', {}, q.task_type),
          el(
            'td',
            { title: 'critical / high / normal / low' },
            `${q.waiting} (${w.critical}/${w.high}/${w.normal}/${w.low})`,
          ),
          el('td', {}, q.delayed),
          el('td', {}, q.active),
          el('td', {}, q.failed),
          el('td', {}, q.paused ? 'paused' : 'running'),
          el(
            'td',
            {},
            el(
              'button',
              { type: 'button', onclick: () => toggleQueue(q.task_type, action) },
              action === 'pause' ? 'Pause' : 'Resume',
            ),
          ),
        );
      }),
    );
    return body.queues;
  } catch (error) {
    $('#queue-table tbody').replaceChildren(el('tr', {}, el('td', { colspan: 7 }, error.message)));
    return [];
  }
}

async function toggleQueue(type, action) {
  try {
    await api(`/queues/${type}/${action}`, { method: 'POST' });
  } catch (error) {
    alert(error.message);
  }
  loadQueues();
}

async function loadWorkers() {
  try {
    const { body } = await api('/stats/system');
    $('#workers-summary').textContent =
      `${body.total_workers} alive, ${body.busy_workers} busy, ${body.processing_rate}/s finished`;
    const now = Date.now();
    $('#worker-table tbody').replaceChildren(
      ...body.workers.map((w) =>
        el(
          'tr',
          {},
          el('td', {}, el('code', {}, w.id)),
          el('td', {}, w.status),
          el('td', {}, `${w.current_task_ids.length} / ${w.concurrency}`),
          el('td', {}, w.tasks_processed),
          el('td', {}, w.tasks_failed),
          el('td', {}, `${Math.max(0, Math.round((now - Date.parse(w.last_heartbeat)) / 1000))}s ago`),
        ),
      ),
    );
  } catch (error) {
    $('#workers-summary').textContent = error.message;
  }
}

// ---- bulk actions ----------------------------------------------------------------------------

async function bulk(action) {
  const filter = Object.fromEntries(Object.entries(state.filters).filter(([key]) => BULK_FIELDS.includes(key)));
  const out = $('#bulk-result');
  if (Object.keys(filter).length === 0) {
    out.textContent = 'Set a filter (kb, status, type, priority or dates) first.';
    return;
  }
  if (!confirm(`${action === 'cancel' ? 'Cancel' : 'Retry'} every task matching ${JSON.stringify(filter)}?`)) return;
  try {
    let { body: operation } = await api(`/tasks/bulk/${action}`, { method: 'POST', body: JSON.stringify(filter) });
    while (operation.status === 'running') {
      out.textContent = `${action}: ${operation.affected} of ${operation.matched}…`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      ({ body: operation } = await api(`/tasks/bulk/${operation.id}`));
    }
    out.textContent = `${action}: ${operation.affected} of ${operation.matched} tasks ${operation.status === 'completed' ? 'done' : `— ${operation.error}`}`;
  } catch (error) {
    out.textContent = error.message;
  }
  loadTasks();
}

// ---- start -----------------------------------------------------------------------------------

function fillSelect(select, values, selected) {
  for (const value of values)
    select.append(el('option', value === selected ? { value, selected: '' } : { value }, value));
}

async function start() {
  const queues = await loadQueues();
  const types = queues.map((q) => q.task_type);
  fillSelect($('#create-type'), types, 'health_check');
  fillSelect($('#create-priority'), PRIORITIES, 'normal');
  fillSelect($('#filters [name=status]'), STATUSES);
  fillSelect($('#filters [name=task_type]'), types);
  fillSelect($('#filters [name=priority]'), PRIORITIES);

  $('#create-form').addEventListener('submit', createTask);
  $('#filters').addEventListener('submit', (event) => {
    event.preventDefault();
    state.filters = readFilters();
    state.page = 1;
    loadTasks();
    loadStats();
    connectStream();
  });
  $('#prev').addEventListener('click', () => state.page > 1 && (state.page--, loadTasks()));
  $('#next').addEventListener('click', () => state.page < state.totalPages && (state.page++, loadTasks()));
  $('#bulk-cancel').addEventListener('click', () => bulk('cancel'));
  $('#bulk-retry').addEventListener('click', () => bulk('retry'));
  $('#detail-close').addEventListener('click', closeDetail);

  connectStream();
  await Promise.all([loadTasks(), loadStats(), loadWorkers()]);
  setInterval(loadQueues, 5000);
  setInterval(loadWorkers, 5000);
  setInterval(loadStats, 15000);
  document.body.dataset.ready = 'true';
}

start();
