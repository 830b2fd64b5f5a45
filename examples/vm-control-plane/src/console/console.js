// The web console of the VM control plane: one ES module, no framework, no build step.
//
// It reads every collection once (each answer carries `Ordo-Position`, the log position the
// read reflects), then follows `GET /events` from the records just before that position: the
// changes keep the tables current, and the runtime's operation, outcome and compensation
// records make the feed of operations, from every client of the log. A call this page makes
// that is refused before commit writes nothing to the log, so the page adds it to the feed
// itself. EventSource resumes with `Last-Event-ID` after a lost connection, so nothing is
// missed. Type-checked by tsc (checkJs, see tsconfig.json here).

/**
 * @template [Data=EntityData]
 * @typedef {{ kind: string, id: string, version: number, data: Data }} Entity
 */
/**
 * @typedef {{ name?: string } & Record<string, unknown>} EntityData
 * @typedef {{ name: string, cpuThreads: number, memoryMiB: number, maintenance: boolean }} HostData
 * @typedef {{ name: string, vcpus: number, memoryMiB: number, power: 'on' | 'off', hostId?: string, disks: string[], nics: { subnetId: string, ip: string }[] }} VmData
 * @typedef {{ name: string, containerId: string, sizeBytes: number, attachment?: { vmId: string } }} VolumeData
 * @typedef {{ op: 'create' | 'update' | 'delete', kind: string, id: string, version: number, data?: EntityData }} Change
 * @typedef {{ type: 'operation', adapters: string[] } | { type: 'compensation', of: string, error?: Partial<ApiError> } | { type: 'outcome', of: string }} RuntimeMeta
 * @typedef {{ position: number, txId: string, time: number, operation?: string, meta?: { ordo?: RuntimeMeta }, changes: Change[] }} LogRecord
 * @typedef {{ code: string, message: string, step: string, adapter?: string, entity?: { kind: string, id: string }, details: Record<string, unknown> }} ApiError
 * @typedef {ApiError & { httpStatus: number }} CallError
 * @typedef {{ status: number, headers: Headers, body: unknown }} ApiAnswer
 * @typedef {{ entity: Entity }} OperationAnswer
 * @typedef {{ items: Entity[], nextCursor: string | null }} ListPage
 * @typedef {{ key: string, position?: number, time: number, name: string, subject: string, status: 'pending' | 'applied' | 'reverted' | 'refused', error?: ApiError, httpStatus?: number }} FeedEntry
 */

/** The collections the page reads, by entity kind. */
const collections = /** @type {const} */ ({ host: 'hosts', vm: 'vms', volume: 'volumes', storageContainer: 'storage-containers', subnet: 'subnets' });
/** How many records before the read position the stream replays, for the feed's history. */
const historyRecordsMax = 500;
/** The most entries the feed shows. */
const feedEntriesMax = 100;
/** The largest page the API gives. */
const pageItemsMax = 1000;
const tokenKey = 'ordo.console.token';
const mebibyte = 1024 ** 2;

/** @type {Record<string, Map<string, Entity>>} */
const state = Object.fromEntries(Object.keys(collections).map((kind) => [kind, new Map()]));
/** @type {Map<string, FeedEntry>} operations by the txId of their record (or a local key) */
const feed = new Map();
/** @type {Map<string, string>} a compensation's txId -> the txId of the operation it reverts */
const compensations = new Map();
/** @type {Map<string, CallError>} the last failed action of this page, by VM id */
const rowErrors = new Map();
/** @type {Set<string>} VMs with a call of this page in flight */
const busyVms = new Set();
let localEntries = 0;
let streamPosition = 0;

// ---------------------------------------------------------------- the token

/** `#token=...` in the address is kept for the tab and removed from the address bar. */
function takeTokenFromAddress() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match === null || match[1] === undefined) return;
  sessionStorage.setItem(tokenKey, decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

function token() {
  return sessionStorage.getItem(tokenKey) ?? '';
}

// ---------------------------------------------------------------- calls

/**
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<ApiAnswer>}
 */
async function call(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (method === 'POST') headers.authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? {} : parseJson(text) };
}

/**
 * A failed answer's error, or a made-up one when the server could not be reached.
 * @param {ApiAnswer | Error} answer
 * @returns {CallError}
 */
function errorOf(answer) {
  if (answer instanceof Error) return { code: 'NETWORK', message: answer.message, step: 'request', details: {}, httpStatus: 0 };
  const error = /** @type {{ error?: Partial<ApiError> }} */ (answer.body).error;
  if (error !== undefined && typeof error.code === 'string') return { message: '', step: 'request', ...error, code: error.code, details: error.details ?? {}, httpStatus: answer.status };
  return { code: `HTTP_${answer.status}`, message: 'unexpected answer', step: 'request', details: {}, httpStatus: answer.status };
}

/**
 * Every entity of a collection, page after page; the lowest `Ordo-Position` of the pages.
 * @param {string} path
 * @returns {Promise<{ items: Entity[], position: number }>}
 */
async function readAll(path) {
  /** @type {Entity[]} */
  const items = [];
  let position = Number.POSITIVE_INFINITY;
  let cursor = null;
  do {
    const query = `?limit=${pageItemsMax}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const answer = await call('GET', `/${path}${query}`);
    if (answer.status !== 200) throw new Error(`GET /${path}: ${errorOf(answer).code}`);
    position = Math.min(position, Number(answer.headers.get('ordo-position') ?? 0));
    const page = /** @type {ListPage} */ (answer.body);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return { items, position };
}

// ---------------------------------------------------------------- state from the log

/**
 * Puts an entity in, unless what is there is newer (a read and a record may arrive in either order).
 * @param {Entity} entity
 */
function putEntity(entity) {
  const entities = state[entity.kind];
  if (entities === undefined) return;
  const current = entities.get(entity.id);
  if (current === undefined || current.version < entity.version) entities.set(entity.id, entity);
}

/** @param {Change} change */
function applyChange(change) {
  const entities = state[change.kind];
  if (entities === undefined) return;
  if (change.op === 'delete') {
    entities.delete(change.id);
    rowErrors.delete(change.id);
  } else if (change.data !== undefined) {
    putEntity({ kind: change.kind, id: change.id, version: change.version, data: change.data });
  }
}

/**
 * What an operation's record is about: its first change of an application entity.
 * @param {LogRecord} record
 */
function subjectOf(record) {
  const change = record.changes.find((candidate) => !candidate.kind.startsWith('ordo.'));
  if (change === undefined) return '';
  const name = change.data?.name ?? nameOf(change.kind, change.id);
  return `${change.kind} ${name}`;
}

/**
 * The runtime's records as feed entries: `operation` (committed; settled at once when no
 * adapter applies it), `outcome` (applied), `compensation` (failed and reverted, with the error).
 * @param {LogRecord} record
 */
function recordIntoFeed(record) {
  const meta = record.meta?.ordo;
  if (meta === undefined || record.operation === undefined) return;
  if (meta.type === 'operation') {
    const adapters = Array.isArray(meta.adapters) ? meta.adapters : [];
    feed.set(record.txId, { key: record.txId, position: record.position, time: record.time, name: record.operation, subject: subjectOf(record), status: adapters.length === 0 ? 'applied' : 'pending' });
    return;
  }
  if (meta.type === 'compensation') {
    compensations.set(record.txId, meta.of);
    const entry = feed.get(meta.of);
    const error = { code: 'ADAPTER_FAILED', message: '', step: 'apply', ...meta.error, details: meta.error?.details ?? {} };
    if (entry !== undefined) feed.set(meta.of, { ...entry, status: 'reverted', error });
    return;
  }
  if (meta.type === 'outcome') {
    const entry = feed.get(meta.of);
    // The outcome of a compensation only says the revert is applied: the entry stays 'reverted'.
    if (entry !== undefined && !compensations.has(meta.of)) feed.set(meta.of, { ...entry, status: 'applied' });
  }
}

/** @param {LogRecord} record */
function applyRecord(record) {
  for (const change of record.changes) applyChange(change);
  recordIntoFeed(record);
  streamPosition = Math.max(streamPosition, record.position);
  trimFeed();
  scheduleRender();
}

function trimFeed() {
  if (feed.size <= feedEntriesMax) return;
  const oldest = [...feed.values()].sort(newestFirst).slice(feedEntriesMax);
  for (const entry of oldest) feed.delete(entry.key);
}

/**
 * A call of this page refused before commit: the log has no record of it.
 * @param {string} name
 * @param {string} subject
 * @param {CallError} error
 */
function noteRefusal(name, subject, error) {
  // A failure in apply is compensated in the log, and the feed has it from there.
  if (error.step === 'apply') return;
  localEntries += 1;
  const key = `local:${localEntries}`;
  feed.set(key, { key, time: Date.now(), name, subject, status: 'refused', error, httpStatus: error.httpStatus });
  trimFeed();
  scheduleRender();
}

// ---------------------------------------------------------------- the stream

/**
 * JSON from the server, as unknown until the caller says what it is.
 * @param {string} text
 * @returns {unknown}
 */
function parseJson(text) {
  return JSON.parse(text);
}

/** @param {string} text @param {'live' | 'connecting' | 'failed'} kind */
function showStreamStatus(text, kind) {
  const status = byId('stream-status');
  status.textContent = text;
  status.dataset.state = kind;
}

/** @param {number} from */
function follow(from) {
  const source = new EventSource(`/events?from=${from}`);
  source.addEventListener('open', () => showStreamStatus(`live · log position ${streamPosition}`, 'live'));
  source.addEventListener('record', (event) => {
    applyRecord(/** @type {LogRecord} */ (parseJson(String(event.data))));
    showStreamStatus(`live · log position ${streamPosition}`, 'live');
  });
  source.addEventListener('error', (event) => {
    if (event instanceof MessageEvent && typeof event.data === 'string') {
      // The server's own `event: error` (a pruned history, a closed store): read everything again.
      source.close();
      const { error } = /** @type {{ error?: { code?: string } }} */ (parseJson(event.data));
      showStreamStatus(`stream failed: ${error?.code ?? 'unknown'}; reading again…`, 'failed');
      setTimeout(() => void start(), 2000);
      return;
    }
    showStreamStatus('reconnecting…', 'connecting');
    // EventSource reconnects by itself and sends Last-Event-ID, unless its reconnect was
    // answered with an error (a server that is closing answers 503): then it gives up for good,
    // and the page follows again from the record after the last one it saw.
    if (source.readyState === EventSource.CLOSED) setTimeout(() => follow(streamPosition + 1), 2000);
  });
}

async function start() {
  try {
    const reads = await Promise.all(Object.values(collections).map((path) => readAll(path)));
    let position = Number.POSITIVE_INFINITY;
    for (const read of reads) {
      for (const entity of read.items) putEntity(entity);
      position = Math.min(position, read.position);
    }
    streamPosition = Math.max(streamPosition, position);
    scheduleRender();
    follow(Math.max(1, position - historyRecordsMax + 1));
  } catch (error) {
    showStreamStatus(`cannot read the state: ${error instanceof Error ? error.message : String(error)}; trying again…`, 'failed');
    setTimeout(() => void start(), 2000);
  }
}

// ---------------------------------------------------------------- rendering

/**
 * An element with properties and children; text is always set as text, never as markup.
 * @template {keyof HTMLElementTagNameMap} T
 * @param {T} tag
 * @param {Record<string, string | number | boolean | ((event: Event) => void)>} [props]
 * @param {(Node | string | number)[]} [children]
 * @returns {HTMLElementTagNameMap[T]}
 */
function el(tag, props = {}, children = []) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === 'function') element.addEventListener(key, value);
    else if (typeof value === 'boolean') element.toggleAttribute(key, value);
    else element.setAttribute(key, String(value));
  }
  element.append(...children.map((child) => (typeof child === 'number' ? String(child) : child)));
  return element;
}

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
}

/** @param {FeedEntry} a @param {FeedEntry} b */
function newestFirst(a, b) {
  return b.time - a.time || (b.position ?? 0) - (a.position ?? 0);
}

/**
 * A collection sorted by name, typed as its entities are (the server validated them).
 * @template Data
 * @param {string} kind
 * @returns {Entity<Data>[]}
 */
function byName(kind) {
  const entities = [...(state[kind]?.values() ?? [])].sort((a, b) => (a.data.name ?? a.id).localeCompare(b.data.name ?? b.id));
  return /** @type {Entity<Data>[]} */ (/** @type {unknown} */ (entities));
}

/** @param {string} kind @param {string | undefined} id */
function nameOf(kind, id) {
  if (id === undefined) return '';
  return state[kind]?.get(id)?.data.name ?? id;
}

/** @param {number} bytes */
function size(bytes) {
  return bytes >= 1024 * mebibyte ? `${(bytes / (1024 * mebibyte)).toFixed(1)} GiB` : `${Math.round(bytes / mebibyte)} MiB`;
}

/**
 * What an error's details say, in words: the numbers an operator acts on.
 * @param {ApiError} error
 * @returns {string[]}
 */
function detailLines(error) {
  /** @type {{ hostName?: string, available?: number, requested?: number, unit?: string, reasons?: { code: string, message: string }[], issues?: { path?: (string | number)[], message: string }[], expected?: number, actual?: number }} */
  const details = error.details ?? {};
  switch (error.code) {
    case 'INSUFFICIENT_HOST_MEMORY':
    case 'INSUFFICIENT_HOST_CPU':
      return [`host ${details.hostName ?? '?'}: ${details.available ?? '?'} ${details.unit ?? ''} free, the VM needs ${details.requested ?? '?'} ${details.unit ?? ''}`];
    case 'NO_HOST_AVAILABLE':
      return (details.reasons ?? []).map((reason) => `${reason.code}: ${reason.message}`);
    case 'VALIDATION_FAILED':
      return (details.issues ?? []).map((issue) => `${(issue.path ?? []).join('.') || 'body'}: ${issue.message}`);
    case 'VERSION_MISMATCH':
      return [`expected version ${details.expected ?? '?'}, the entity is at ${details.actual ?? '?'}`];
    case 'UNAUTHENTICATED':
      return ['paste the server\'s token (printed at start, or ORDO_HTTP_TOKEN) into the Token field'];
    default:
      return Object.entries(details)
        .filter(([, value]) => typeof value !== 'object' || value === null)
        .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
}

/** @param {ApiError & { httpStatus?: number }} error */
function errorBlock(error) {
  const where = [error.httpStatus === undefined ? '' : String(error.httpStatus), error.step, error.adapter ?? ''].filter((part) => part !== '').join(' · ');
  return el('div', { class: 'error', role: 'alert', 'data-code': error.code }, [
    el('strong', {}, [error.code]),
    ' ',
    el('span', { class: 'message' }, [error.message]),
    el('span', { class: 'where' }, [where]),
    ...detailLines(error).map((line) => el('p', { class: 'details' }, [line])),
  ]);
}

/** Memory and vCPUs of the running VMs on each host, as the operations count them. */
function hostUse() {
  /** @type {Map<string, { memoryMiB: number, vcpus: number, running: number }>} */
  const use = new Map();
  for (const vm of /** @type {Entity<VmData>[]} */ (byName('vm'))) {
    if (vm.data.power !== 'on' || vm.data.hostId === undefined) continue;
    const sum = use.get(vm.data.hostId) ?? { memoryMiB: 0, vcpus: 0, running: 0 };
    use.set(vm.data.hostId, { memoryMiB: sum.memoryMiB + vm.data.memoryMiB, vcpus: sum.vcpus + vm.data.vcpus, running: sum.running + 1 });
  }
  return use;
}

function renderHosts() {
  const use = hostUse();
  const rows = /** @type {Entity<HostData>[]} */ (byName('host')).map((host) => {
    const used = use.get(host.id) ?? { memoryMiB: 0, vcpus: 0, running: 0 };
    return el('tr', { 'data-id': host.id }, [
      el('td', {}, [host.data.name]),
      el('td', { class: 'number' }, [`${used.memoryMiB} / ${host.data.memoryMiB} MiB`]),
      el('td', { class: 'number' }, [`${host.data.memoryMiB - used.memoryMiB} MiB`]),
      el('td', { class: 'number' }, [`${used.vcpus} / ${host.data.cpuThreads}`]),
      el('td', { class: 'number' }, [used.running]),
      el('td', {}, [host.data.maintenance ? el('span', { class: 'badge warn' }, ['maintenance']) : 'in service']),
    ]);
  });
  fillTable('hosts', rows, 6, 'no hosts yet');
}

/**
 * Powers a VM on or off from its row; a failure stays under the row until the next action.
 * @param {Entity<VmData>} vm
 * @param {'power-on' | 'power-off'} action
 */
async function powerAction(vm, action) {
  busyVms.add(vm.id);
  rowErrors.delete(vm.id);
  scheduleRender();
  try {
    const answer = await call('POST', `/vms/${encodeURIComponent(vm.id)}/${action}`);
    if (answer.status === 200) {
      putEntity(/** @type {OperationAnswer} */ (answer.body).entity);
    } else {
      const error = errorOf(answer);
      rowErrors.set(vm.id, error);
      noteRefusal(action === 'power-on' ? 'vm.powerOn' : 'vm.powerOff', `vm ${vm.data.name}`, error);
    }
  } catch (failure) {
    rowErrors.set(vm.id, errorOf(failure instanceof Error ? failure : new Error(String(failure))));
  } finally {
    busyVms.delete(vm.id);
    scheduleRender();
  }
}

function renderVms() {
  const rows = /** @type {Entity<VmData>[]} */ (byName('vm')).flatMap((vm) => {
    const busy = busyVms.has(vm.id);
    const on = vm.data.power === 'on';
    const row = el('tr', { 'data-id': vm.id, 'data-name': String(vm.data.name) }, [
      el('td', {}, [vm.data.name]),
      el('td', { class: 'power' }, [el('span', { class: `badge ${on ? 'on' : 'off'}` }, [vm.data.power])]),
      el('td', {}, [nameOf('host', vm.data.hostId) || '—']),
      el('td', { class: 'number' }, [vm.data.vcpus]),
      el('td', { class: 'number' }, [`${vm.data.memoryMiB} MiB`]),
      el('td', {}, [vm.data.nics.map((nic) => nic.ip).join(', ') || '—']),
      el('td', { class: 'number' }, [vm.data.disks.length]),
      el('td', { class: 'number' }, [vm.version]),
      el('td', { class: 'actions' }, [
        el('button', { type: 'button', disabled: busy || on, click: () => void powerAction(vm, 'power-on') }, ['Power on']),
        el('button', { type: 'button', disabled: busy || !on, click: () => void powerAction(vm, 'power-off') }, ['Power off']),
      ]),
    ]);
    const error = rowErrors.get(vm.id);
    if (error === undefined) return [row];
    return [row, el('tr', { class: 'row-error', 'data-for': vm.id }, [el('td', { colspan: 9 }, [errorBlock(error)])])];
  });
  fillTable('vms', rows, 9, 'no VMs yet: create one with the form');
}

function renderVolumes() {
  const rows = /** @type {Entity<VolumeData>[]} */ (byName('volume')).map((volume) =>
    el('tr', { 'data-id': volume.id }, [
      el('td', {}, [volume.data.name]),
      el('td', {}, [nameOf('storageContainer', volume.data.containerId)]),
      el('td', { class: 'number' }, [size(volume.data.sizeBytes)]),
      el('td', {}, [volume.data.attachment === undefined ? '—' : `vm ${nameOf('vm', volume.data.attachment.vmId)}`]),
    ]),
  );
  fillTable('volumes', rows, 4, 'no volumes');
}

/**
 * @param {string} id
 * @param {HTMLElement[]} rows
 * @param {number} columns
 * @param {string} empty
 */
function fillTable(id, rows, columns, empty) {
  const body = byId(id).querySelector('tbody');
  if (body === null) return;
  body.replaceChildren(...(rows.length > 0 ? rows : [el('tr', { class: 'empty' }, [el('td', { colspan: columns }, [empty])])]));
}

function renderFeed() {
  const entries = [...feed.values()].sort(newestFirst).map((entry) => {
    const when = new Date(entry.time).toLocaleTimeString();
    const badge = entry.status === 'applied' || entry.status === 'pending' ? entry.status : `${entry.status} ${entry.error?.code ?? ''}`;
    return el('li', { class: `entry ${entry.status}`, 'data-operation': entry.name, 'data-status': entry.status, ...(entry.error === undefined ? {} : { 'data-code': entry.error.code }) }, [
      el('span', { class: 'when' }, [entry.position === undefined ? when : `${when} · #${entry.position}`]),
      el('span', { class: 'name' }, [entry.name]),
      el('span', { class: 'subject' }, [entry.subject]),
      el('span', { class: `badge ${entry.status}` }, [badge]),
      ...(entry.error === undefined ? [] : [el('span', { class: 'reason' }, [entry.error.message])]),
    ]);
  });
  const list = byId('operations');
  list.replaceChildren(...(entries.length > 0 ? entries : [el('li', { class: 'empty' }, ['no operations in the recent log'])]));
}

/**
 * Keeps a select's options in step with a collection, keeping the choice.
 * @param {string} name
 * @param {string} kind
 * @param {string} none
 */
function fillSelect(name, kind, none) {
  const select = /** @type {HTMLSelectElement} */ (byId('create-vm').querySelector(`select[name="${name}"]`));
  const chosen = select.value;
  const options = byName(kind).map((entity) => el('option', { value: entity.id }, [nameOf(kind, entity.id)]));
  select.replaceChildren(el('option', { value: '' }, [none]), ...options);
  select.value = [...select.options].some((option) => option.value === chosen) ? chosen : '';
}

let renderPending = false;

/** Renders once per frame however many records came. */
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    renderHosts();
    renderVms();
    renderVolumes();
    renderFeed();
    fillSelect('hostId', 'host', 'chosen at power-on');
    fillSelect('subnetId', 'subnet', 'no NIC');
  });
}

// ---------------------------------------------------------------- the forms

/**
 * Creates a VM and, when asked, powers it on; each failure is shown under the form.
 * @param {SubmitEvent} event
 */
async function submitCreate(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const fields = new FormData(form);
  const outcome = byId('create-outcome');
  const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
  const name = field(fields, 'name');
  const hostId = field(fields, 'hostId');
  const subnetId = field(fields, 'subnetId');
  const input = {
    name,
    vcpus: Number(field(fields, 'vcpus')),
    memoryMiB: Number(field(fields, 'memoryMiB')),
    ...(hostId === '' ? {} : { hostId }),
    ...(subnetId === '' ? {} : { nics: [{ subnetId }] }),
  };
  button.disabled = true;
  outcome.replaceChildren(el('p', { class: 'working' }, [`creating ${name}…`]));
  try {
    const created = await call('POST', '/vms', input);
    if (created.status !== 201) {
      const error = errorOf(created);
      noteRefusal('vm.create', `vm ${name}`, error);
      outcome.replaceChildren(errorBlock(error));
      return;
    }
    const vm = /** @type {Entity<VmData>} */ (/** @type {OperationAnswer} */ (created.body).entity);
    putEntity(/** @type {OperationAnswer} */ (created.body).entity);
    scheduleRender();
    const ips = vm.data.nics.map((nic) => nic.ip).join(', ');
    const done = el('p', { class: 'done' }, [`created VM ${name}${ips === '' ? '' : ` (${ips})`}`]);
    outcome.replaceChildren(done);
    if (fields.get('powerOn') === null) return;
    outcome.append(el('p', { class: 'working' }, ['powering on…']));
    const powered = await call('POST', `/vms/${encodeURIComponent(vm.id)}/power-on`);
    if (powered.status === 200) {
      putEntity(/** @type {OperationAnswer} */ (powered.body).entity);
      outcome.replaceChildren(el('p', { class: 'done' }, [`created VM ${name} and powered it on`]));
    } else {
      const error = errorOf(powered);
      noteRefusal('vm.powerOn', `vm ${name}`, error);
      outcome.replaceChildren(el('p', { class: 'done' }, [`created VM ${name} (off); powering it on failed:`]), errorBlock(error));
    }
  } catch (failure) {
    outcome.replaceChildren(errorBlock(errorOf(failure instanceof Error ? failure : new Error(String(failure)))));
  } finally {
    button.disabled = false;
    scheduleRender();
  }
}

/**
 * A text field of a form, trimmed ('' when absent).
 * @param {FormData} fields
 * @param {string} name
 */
function field(fields, name) {
  const value = fields.get(name);
  return typeof value === 'string' ? value.trim() : '';
}

/** @param {SubmitEvent} event */
function submitToken(event) {
  event.preventDefault();
  const field = /** @type {HTMLInputElement} */ (byId('token'));
  sessionStorage.setItem(tokenKey, field.value.trim());
}

takeTokenFromAddress();
/** @type {HTMLInputElement} */ (byId('token')).value = token();
byId('token-form').addEventListener('submit', submitToken);
byId('create-vm').addEventListener('submit', (event) => void submitCreate(/** @type {SubmitEvent} */ (event)));
void start();
