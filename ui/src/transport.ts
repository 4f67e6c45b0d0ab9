/**
 * The one way the UI reaches Baton's command bus (DESIGN.md §3).
 *
 * Inside the desktop app the runtime is in-process: commands go through Tauri's `invoke` and
 * instance changes arrive as Tauri events. In a browser against `baton serve`, commands are
 * `POST /api/v1/execute` with a bearer token and changes arrive as Server-Sent Events read
 * from `GET /api/v1/events` (read with `fetch`, because `EventSource` cannot send the
 * Authorization header). Views never know which one they run on.
 */

export interface FieldError {
  field: string;
  message: string;
}

/** A handled command: the seed-000 envelope, unpacked. */
export type Answer<T> =
  | { ok: true; message: string; data: T }
  | { ok: false; message: string; errors: FieldError[]; data: unknown };

import type { CommandName, Commands, InstanceChange, JobRunEvent, WebhookRequestEvent } from './generated/commands';

/** What `GET /api/v1/events` and the Tauri `instance-changed` event carry (generated from Rust). */
export type { InstanceChange, JobRunEvent, WebhookRequestEvent };

/**
 * The server could not be asked: it is unreachable, or it refused our token. Business
 * failures are not thrown; they are `Answer`s with `ok: false`.
 */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'unauthorized' | 'protocol',
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

interface Envelope {
  isSuccessful?: boolean;
  message?: string;
  data?: unknown;
  errors?: FieldError[];
}

export function unpack<T>(envelope: Envelope): Answer<T> {
  const message = typeof envelope.message === 'string' ? envelope.message : '';
  if (envelope.isSuccessful === true) {
    return { ok: true, message, data: envelope.data as T };
  }
  return {
    ok: false,
    message,
    errors: Array.isArray(envelope.errors) ? envelope.errors : [],
    data: envelope.data ?? null,
  };
}

export const inTauri: boolean =
  typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;

// ---------------------------------------------------------------------------------------------
// The bearer token (browser only)

const TOKEN_KEY = 'baton.token';

/** Takes `?token=` from the address (then drops it from the address bar) or the stored one. */
export function initialToken(loc: Location = window.location): string | null {
  const url = new URL(loc.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return localStorage.getItem(TOKEN_KEY);
}

let token: string | null = null;
let tokenAsker: ((reason: string) => Promise<string>) | null = null;

/** The frame registers how to ask the user for a token (a dialog). */
export function setTokenAsker(ask: (reason: string) => Promise<string>): void {
  tokenAsker = ask;
}

export function setToken(value: string | null): void {
  token = value;
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

async function ensureToken(reason: string): Promise<string> {
  if (token) return token;
  if (!tokenAsker) throw new TransportError('No access token: open the page with ?token=', 'unauthorized');
  const t = await tokenAsker(reason);
  setToken(t);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Connection state, shown by the frame

type ConnectionListener = (problem: string | null) => void;
const connectionListeners = new Set<ConnectionListener>();
let connectionProblem: string | null = null;

function reportConnection(problem: string | null): void {
  if (problem === connectionProblem) return;
  connectionProblem = problem;
  for (const l of connectionListeners) l(problem);
}

/** Called with a sentence when the server cannot be reached, and with null when it can again. */
export function onConnection(listener: ConnectionListener): () => void {
  connectionListeners.add(listener);
  listener(connectionProblem);
  return () => connectionListeners.delete(listener);
}

// ---------------------------------------------------------------------------------------------
// Commands

/** Options of one command. */
export interface ExecuteOptions {
  /**
   * Run the command as this user (an administrator acting for a user, as the task inbox does):
   * `X-Baton-Act-As` over HTTP, `actAs` in the desktop's request. The server refuses it for
   * callers who are not administrators.
   */
  actAs?: string;
}

async function postExecute(body: string, reason: string, options: ExecuteOptions, retried = false): Promise<Envelope> {
  const t = await ensureToken(reason);
  let response: Response;
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Authorization: `Bearer ${t}` };
  if (options.actAs) headers['X-Baton-Act-As'] = options.actAs;
  try {
    response = await fetch('/api/v1/execute', { method: 'POST', headers, body });
  } catch (e) {
    const problem = `Cannot reach the Baton server at ${window.location.origin}: ${(e as Error).message}`;
    reportConnection(problem);
    throw new TransportError(problem, 'unreachable');
  }
  reportConnection(null);
  if (response.status === 401) {
    setToken(null);
    if (retried || !tokenAsker) {
      throw new TransportError('The server refused the access token.', 'unauthorized');
    }
    return postExecute(body, 'The server refused the access token. Enter a valid one.', options, true);
  }
  try {
    return (await response.json()) as Envelope;
  } catch {
    throw new TransportError(
      `The server answered ${response.status} ${response.statusText} without a JSON body.`,
      'protocol',
    );
  }
}

/**
 * Runs one command or query on the bus. For the commands in `Commands` (generated from the
 * runtime's typed structs) the input and the answer are typed; other commands take `T`.
 */
export function execute<K extends CommandName>(
  cmd: K,
  data: Commands[K]['input'],
  options?: ExecuteOptions,
): Promise<Answer<Commands[K]['output']>>;
export function execute<T = unknown>(cmd: string, data?: object, options?: ExecuteOptions): Promise<Answer<T>>;
export async function execute<T = unknown>(cmd: string, data: object = {}, options: ExecuteOptions = {}): Promise<Answer<T>> {
  if (inTauri) {
    const { invoke } = await import('@tauri-apps/api/core');
    try {
      const request = options.actAs ? { cmd, data, actAs: options.actAs } : { cmd, data };
      const envelope = await invoke<Envelope>('execute', { request });
      return unpack<T>(envelope);
    } catch (e) {
      throw new TransportError(`The desktop runtime failed: ${String(e)}`, 'protocol');
    }
  }
  const envelope = await postExecute(JSON.stringify({ cmd, data }), 'Enter the access token that `baton serve` printed.', options);
  return unpack<T>(envelope);
}

/** What a webhook door answered: its status and its body as text. */
export interface WebhookResponse {
  status: number;
  ok: boolean;
  statusText: string;
  text: string;
}

/**
 * Posts `body` to one of this Baton's webhook doors (`/webhook/k/KEY`, a configured
 * `/webhook/...` path, `/hooks/TOKEN`; `url` may be full or a path). In a browser this is
 * `fetch`. Inside the desktop app the window may not reach the listener (its CSP allows only
 * IPC), so the `webhook` command hands the same request to the runtime in-process: the same
 * checks and request log as over HTTP, from 127.0.0.1. Throws when the door cannot be reached.
 */
export async function postWebhook(url: string, headers: Record<string, string>, body: string): Promise<WebhookResponse> {
  const all = { 'Content-Type': 'application/json', ...headers };
  if (inTauri) {
    const { invoke } = await import('@tauri-apps/api/core');
    const u = new URL(url, 'http://127.0.0.1');
    let answer: { status: number; body: unknown };
    try {
      answer = await invoke<{ status: number; body: unknown }>('webhook', { request: { path: u.pathname + u.search, headers: all, body } });
    } catch (e) {
      throw new TransportError(`The desktop runtime failed: ${String(e)}`, 'protocol');
    }
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    return { status: answer.status, ok: answer.status >= 200 && answer.status < 300, statusText: '', text };
  }
  const response = await fetch(url, { method: 'POST', headers: all, body });
  return { status: response.status, ok: response.ok, statusText: response.statusText, text: await response.text() };
}

/** Like `execute`, but a business failure becomes an Error carrying the server's words. */
export function query<K extends CommandName>(
  cmd: K,
  data: Commands[K]['input'],
  options?: ExecuteOptions,
): Promise<Commands[K]['output']>;
export function query<T = unknown>(cmd: string, data?: object, options?: ExecuteOptions): Promise<T>;
export async function query<T = unknown>(cmd: string, data: object = {}, options: ExecuteOptions = {}): Promise<T> {
  const answer = await execute<T>(cmd, data, options);
  if (!answer.ok) {
    const detail = answer.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
    throw new Error(detail ? `${answer.message} (${detail})` : answer.message);
  }
  return answer.data;
}

// ---------------------------------------------------------------------------------------------
// Live changes

/** `instanceGuid: '*'` means "changes may have been missed (reconnected): reload what you show". */
export type ChangeListener = (change: InstanceChange) => void;
const changeListeners = new Set<ChangeListener>();
let feedStarted = false;

export const RESYNC: InstanceChange = {
  instanceGuid: '*',
  processKey: '',
  processDefinitionId: 0,
  status: 'RUNNING',
  at: '',
};

function emit(change: InstanceChange): void {
  for (const l of changeListeners) {
    try {
      l(change);
    } catch (e) {
      console.warn('a change listener failed', e);
    }
  }
}

/** Parses a chunk stream of Server-Sent Events; returns the unconsumed tail. */
export function parseSse(buffer: string, onEvent: (event: string, data: string) => void): string {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const tail = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) onEvent(event, data.join('\n'));
  }
  return tail;
}

async function browserFeed(): Promise<void> {
  let delay = 500;
  let first = true;
  for (;;) {
    try {
      const t = await ensureToken('Enter the access token that `baton serve` printed.');
      const response = await fetch('/api/v1/events', {
        headers: { Authorization: `Bearer ${t}`, Accept: 'text/event-stream' },
      });
      if (response.status === 401) {
        setToken(null);
        throw new Error('token refused');
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      reportConnection(null);
      if (!first) {
        emit(RESYNC);
        emitRequest(null);
        emitRun(null);
      }
      first = false;
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseSse(buffer + value, (event, data) => {
          // The server dropped changes this client was too slow to read: reload what is shown.
          if (event === 'lagged') {
            emitRequest(null);
            emitRun(null);
            return emit(RESYNC);
          }
          if (event === 'job-run') {
            try {
              emitRun(JSON.parse(data) as JobRunEvent);
            } catch {
              console.warn('an unreadable job run event was ignored');
            }
            return;
          }
          if (event === 'webhook-request') {
            try {
              emitRequest(JSON.parse(data) as WebhookRequestEvent);
            } catch {
              console.warn('an unreadable request event was ignored');
            }
            return;
          }
          if (event !== 'instance') return;
          try {
            emit(JSON.parse(data) as InstanceChange);
          } catch {
            console.warn('an unreadable change event was ignored');
          }
        });
      }
    } catch (e) {
      if (e instanceof TransportError && e.kind === 'unauthorized') return;
      reportConnection(`Lost the live connection to the Baton server at ${window.location.origin}; retrying.`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

async function tauriFeed(): Promise<void> {
  const { listen } = await import('@tauri-apps/api/event');
  await listen<InstanceChange>('instance-changed', (e) => emit(e.payload));
  await listen<WebhookRequestEvent>('webhook-request', (e) => emitRequest(e.payload));
  await listen<JobRunEvent>('job-run', (e) => emitRun(e.payload));
}

function startFeed(): void {
  if (!feedStarted) {
    feedStarted = true;
    void (inTauri ? tauriFeed() : browserFeed());
  }
}

/** Calls `listener` for every instance change, pushed by the server; returns the unsubscribe. */
export function subscribe(listener: ChangeListener): () => void {
  changeListeners.add(listener);
  startFeed();
  return () => changeListeners.delete(listener);
}

/**
 * Listeners of one kind of pushed event: `emit` calls each (a listener that throws is logged,
 * the others still hear), `subscribe` starts the feed and answers the unsubscribe. `null`
 * means "events may have been missed (the feed reconnected or fell behind): reload".
 */
function pushed<T>(what: string) {
  const listeners = new Set<(event: T | null) => void>();
  return {
    emit(event: T | null): void {
      for (const l of listeners) {
        try {
          l(event);
        } catch (e) {
          console.warn(`a ${what} listener failed`, e);
        }
      }
    },
    subscribe(listener: (event: T | null) => void): () => void {
      listeners.add(listener);
      startFeed();
      return () => listeners.delete(listener);
    },
  };
}

/** A request the webhook door answered, or `null`: "requests may have been missed, reload". */
export type RequestListener = (request: WebhookRequestEvent | null) => void;
const requests = pushed<WebhookRequestEvent>('request');
const emitRequest = requests.emit;

/**
 * Calls `listener` for every request the webhook door answered (administrators only), pushed by
 * the server, and with `null` when requests may have been missed (the feed reconnected or fell
 * behind). Returns the unsubscribe.
 */
export const subscribeRequests: (listener: RequestListener) => () => void = requests.subscribe;

/** A job run that started or ended, or `null`: "runs may have been missed, reload". */
export type RunListener = (run: JobRunEvent | null) => void;
const runs = pushed<JobRunEvent>('job run');
const emitRun = runs.emit;

/**
 * Calls `listener` for every recurring job run that starts or ends, pushed by the server, and
 * with `null` when runs may have been missed (the feed reconnected or fell behind). Returns the
 * unsubscribe.
 */
export const subscribeRuns: (listener: RunListener) => () => void = runs.subscribe;

/** Browser start-up: read the token from the address or storage. */
export function initTransport(): void {
  if (!inTauri) token = initialToken();
}
