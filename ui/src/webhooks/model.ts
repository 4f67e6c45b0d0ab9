/**
 * The webhooks view's pure logic: what a configuration form holds, how it becomes the data of
 * CreateWebHookConfigCommand / UpdateWebHookConfigCommand (docs/webhooks.md), the checks made
 * before anything is sent, the live JMESPath preview of a `commandData` mapping, and where the
 * runtime's field errors are shown. No DOM here, so all of it is unit-tested.
 */
import { compile, search } from './jmespath';
import { parseJson } from '../app/json';

export const EXECUTION_TYPES = [
  { value: 0, label: 'Run a command' },
  { value: 1, label: 'Run a command chain' },
  { value: 2, label: 'Run code' },
  { value: 3, label: 'Start a process' },
] as const;

export const SCHEMES = [
  { value: 'none', label: 'None (unverified)' },
  { value: 'paystack', label: 'Paystack (x-paystack-signature)' },
  { value: 'stripe', label: 'Stripe (Stripe-Signature)' },
  { value: 'flutterwave', label: 'Flutterwave (verif-hash)' },
  { value: 'standardWebhooks', label: 'Standard Webhooks (webhook-signature)' },
  { value: 'hmacSha256', label: 'HMAC-SHA256 of the body (your header)' },
] as const;

export const VERDICTS = ['accepted', 'duplicate', 'badSignature', 'ipNotAllowed', 'notFound', 'inactive', 'tooLarge', 'badBody', 'badMapping'] as const;

/** A configuration as GetWebHookConfigByIdQuery / GetWebHookConfigListQuery show it. */
export interface HookConfig {
  id: number;
  name: string;
  key: string | null;
  url: string;
  customUrl: boolean;
  executionType: number;
  allowedIPs: string[];
  verification: { scheme: string; secretSet: boolean; header?: string };
  verified: boolean;
  warning: string | null;
  isActive: boolean;
  createdAt?: string;
  updatedAt?: string;
  commandName?: string;
  commandData?: Record<string, unknown>;
  commandChain?: unknown[];
  executionCode?: string;
  processKey?: string;
  processDefinitionId?: number;
  variables?: Record<string, unknown>;
}

/** One row of GetWebhookRequestListQuery. */
export interface HookRequest {
  id: number;
  configId: number | null;
  receivedAt: string;
  method: string;
  path: string;
  headers: Record<string, unknown> | null;
  query: Record<string, unknown> | null;
  body: string;
  size: number;
  remoteAddr: string | null;
  trigger: string;
  replayOf: number | null;
  verdict: string;
  statusCode: number;
  outcome: unknown;
  error: string | null;
  senderId: string | null;
  duplicateOf: number | null;
}

/** One mapping line: the field of `commandData` (dots nest) and its JMESPath expression. */
export interface MappingRow {
  field: string;
  expr: string;
}

/** Everything the configuration form holds, as typed. */
export interface HookForm {
  name: string;
  path: string;
  executionType: number;
  commandName: string;
  mapping: MappingRow[];
  commandChain: string;
  executionCode: string;
  processKey: string;
  variables: string;
  scheme: string;
  secret: string;
  header: string;
  allowedIPs: string;
  isActive: boolean;
}

export const SAMPLE_PAYLOAD = `{
  "event": "charge.success",
  "data": {
    "id": 302961,
    "reference": "REF-1001",
    "amount": 50000,
    "status": "success",
    "customer": { "email": "ada@example.com" }
  }
}`;

export function emptyForm(): HookForm {
  return {
    name: '',
    path: '',
    executionType: 0,
    commandName: 'ReturnCallbackCommand',
    mapping: [
      { field: 'correlationKey', expr: 'body.data.reference' },
      { field: 'result', expr: '{status: body.data.status, amount: body.data.amount}' },
    ],
    commandChain: '[\n  {"commandName": "GetProcessInstanceListQuery", "commandData": {"pageSize": 1}}\n]',
    executionCode: '// `request` holds body, headers, query, method and path\nrequest.body',
    processKey: '',
    variables: '{}',
    scheme: 'paystack',
    secret: '',
    header: '',
    allowedIPs: '',
    isActive: true,
  };
}

/** A literal (non-string) value of a stored mapping, as a JMESPath literal expression. */
function literal(value: unknown): string {
  return '`' + JSON.stringify(value).replace(/`/g, '\\`') + '`';
}

/** A stored `commandData` mapping as lines: objects flatten to dotted fields. */
export function mappingRows(data: Record<string, unknown> | undefined, prefix = ''): MappingRow[] {
  const rows: MappingRow[] = [];
  for (const [k, v] of Object.entries(data ?? {})) {
    const field = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') rows.push({ field, expr: v });
    else if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      rows.push(...mappingRows(v as Record<string, unknown>, field));
    } else rows.push({ field, expr: literal(v) });
  }
  return rows;
}

/** The form of a stored configuration (the secret is never shown: it stays empty). */
export function formOf(c: HookConfig): HookForm {
  const base = emptyForm();
  return {
    ...base,
    name: c.name,
    path: c.customUrl ? c.url : '',
    executionType: c.executionType,
    commandName: c.commandName ?? (c.executionType === 0 ? '' : base.commandName),
    mapping: c.executionType === 0 ? mappingRows(c.commandData) : base.mapping,
    commandChain: c.commandChain ? JSON.stringify(c.commandChain, null, 2) : base.commandChain,
    executionCode: c.executionCode ?? base.executionCode,
    processKey: c.processKey ?? (c.processDefinitionId !== undefined ? String(c.processDefinitionId) : ''),
    variables: c.variables ? JSON.stringify(c.variables, null, 2) : '{}',
    scheme: c.verification?.scheme ?? 'none',
    secret: '',
    header: c.verification?.header ?? '',
    allowedIPs: (c.allowedIPs ?? []).join('\n'),
    isActive: c.isActive,
  };
}

/** Where a message is shown: a control of the form (`mapping.2`, `secret`, ...) or `form`. */
export interface Problem {
  at: string;
  message: string;
}

/** Why a JMESPath expression does not compile, or null when it does. */
export function jmespathProblem(expr: string): string | null {
  if (expr.trim() === '') return 'Enter a JMESPath expression, such as body.data.reference.';
  try {
    compile(expr);
    return null;
  } catch (e) {
    const said = (e as Error).message;
    const why = /EOF/.test(said) ? 'it ends where more is expected' : 'it does not parse';
    return `Not a JMESPath expression: ${why} (${said}).`;
  }
}

const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** The mapping lines as the nested `commandData` object, with a problem for each bad line. */
export function buildMapping(rows: MappingRow[]): { data: Record<string, unknown>; problems: Problem[] } {
  const data: Record<string, unknown> = {};
  const problems: Problem[] = [];
  const leaves = new Map<string, number>();
  rows.forEach((row, i) => {
    const field = row.field.trim();
    const at = `mapping.${i}`;
    if (!field) return problems.push({ at: `${at}.field`, message: 'Name the field of commandData, such as correlationKey.' });
    const parts = field.split('.');
    const bad = parts.find((p) => !FIELD_NAME.test(p));
    if (bad !== undefined) {
      return problems.push({ at: `${at}.field`, message: `"${field}" is not a field name: use letters, digits, _ and -, with dots to nest (result.amount).` });
    }
    const clash = [...leaves.keys()].find((f) => f === field || f.startsWith(field + '.') || field.startsWith(f + '.'));
    if (clash !== undefined) {
      return problems.push({ at: `${at}.field`, message: clash === field ? `"${field}" is mapped twice (line ${leaves.get(clash)! + 1}).` : `"${field}" and "${clash}" (line ${leaves.get(clash)! + 1}) overlap: one holds the other.` });
    }
    leaves.set(field, i);
    const problem = jmespathProblem(row.expr);
    if (problem) problems.push({ at: `${at}.expr`, message: problem });
    let node = data;
    parts.slice(0, -1).forEach((p) => {
      node = (node[p] ??= {}) as Record<string, unknown>;
    });
    node[parts[parts.length - 1]!] = row.expr;
  });
  return { data, problems };
}

/** The request as a configuration's expressions see it (docs/webhooks.md "What a configuration runs"). */
export function sampleRequest(body: unknown, path: string): Record<string, unknown> {
  return {
    body,
    headers: { 'content-type': 'application/json' },
    query: {},
    method: 'POST',
    path: path || '/webhook/k/…',
    remoteAddr: '127.0.0.1',
    receivedAt: '2026-01-01T00:00:00Z',
    configId: 0,
    requestId: 0,
  };
}

export type PreviewLine = { ok: true; value: unknown } | { ok: false; message: string };

/** Each mapping line evaluated on the sample request, and the `commandData` it makes. */
export function previewMapping(rows: MappingRow[], request: unknown): { lines: PreviewLine[]; commandData: Record<string, unknown> | null } {
  const lines: PreviewLine[] = [];
  const out: Record<string, unknown> = {};
  let whole = true;
  for (const row of rows) {
    const problem = jmespathProblem(row.expr);
    if (problem) {
      lines.push({ ok: false, message: problem });
      whole = false;
      continue;
    }
    try {
      const value = search(request, row.expr) as unknown;
      lines.push({ ok: true, value: value === undefined ? null : value });
      const parts = row.field.trim().split('.');
      if (parts.some((p) => !p)) {
        whole = false;
        continue;
      }
      let node = out;
      for (const p of parts.slice(0, -1)) {
        const next = node[p];
        if (!next || typeof next !== 'object' || Array.isArray(next)) node[p] = {};
        node = node[p] as Record<string, unknown>;
      }
      node[parts[parts.length - 1]!] = value === undefined ? null : value;
    } catch (e) {
      lines.push({ ok: false, message: `Fails on the sample: ${(e as Error).message}` });
      whole = false;
    }
  }
  return { lines, commandData: whole ? out : null };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** The allowed addresses typed one a line (or separated by commas or spaces). */
export function parseIps(text: string): { ips: string[]; problem: string | null } {
  const ips = text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  const bad = ips.find((ip) => !(IPV4.test(ip) || (ip.includes(':') && IPV6.test(ip))));
  return { ips, problem: bad ? `"${bad}" is not an IP address such as 52.31.139.75 or 2001:db8::1.` : null };
}

/** Whether a scheme signs with a secret. */
export function needsSecret(scheme: string): boolean {
  return scheme !== 'none';
}

/**
 * The command data for a form, or the problems that keep it from being sent. `stored` is the
 * configuration being edited (its secret is kept when the scheme stays and none is typed).
 */
export function commandData(form: HookForm, stored: HookConfig | null): { data: Record<string, unknown> | null; problems: Problem[] } {
  const problems: Problem[] = [];
  const data: Record<string, unknown> = {};
  if (stored) data.id = stored.id;
  if (!form.name.trim()) problems.push({ at: 'name', message: 'Give the webhook a name.' });
  data.name = form.name.trim();
  const path = form.path.trim();
  if (path && !path.startsWith('/webhook/')) problems.push({ at: 'path', message: 'The path starts with /webhook/, such as /webhook/paystack/payment (or leave it empty for a generated one).' });
  data.url = path;
  data.executionType = form.executionType;
  switch (form.executionType) {
    case 0: {
      if (!form.commandName.trim()) problems.push({ at: 'commandName', message: 'Name the command to run, such as ReturnCallbackCommand.' });
      data.commandName = form.commandName.trim();
      const built = buildMapping(form.mapping);
      problems.push(...built.problems);
      data.commandData = built.data;
      break;
    }
    case 1: {
      const r = parseJson(form.commandChain, { what: 'The command chain' });
      if (!r.ok) problems.push({ at: 'commandChain', message: r.message });
      else if (!Array.isArray(r.value) || r.value.length === 0) problems.push({ at: 'commandChain', message: 'The command chain is a list of steps: [{"commandName": ..., "commandData": {...}}].' });
      else data.commandChain = r.value;
      break;
    }
    case 2:
      if (!form.executionCode.trim()) problems.push({ at: 'executionCode', message: 'Write the code to run.' });
      data.executionCode = form.executionCode;
      break;
    default: {
      const key = form.processKey.trim();
      if (!key) problems.push({ at: 'processKey', message: 'Choose the process to start.' });
      else if (/^\d+$/.test(key)) data.processDefinitionId = Number(key);
      else data.processKey = key;
      const r = parseJson(form.variables, { what: 'The variables', object: true, empty: {} });
      if (!r.ok) problems.push({ at: 'variables', message: r.message });
      else data.variables = r.value;
    }
  }
  const verification: Record<string, unknown> = { scheme: form.scheme };
  if (needsSecret(form.scheme)) {
    const keeps = stored !== null && stored.verification.scheme === form.scheme && stored.verification.secretSet;
    if (form.secret.trim()) verification.secret = form.secret;
    else if (!keeps) problems.push({ at: 'secret', message: `Enter the secret: the ${form.scheme} scheme signs with it (verification.secret is required).` });
  }
  if (form.scheme === 'hmacSha256' && form.header.trim()) verification.header = form.header.trim();
  data.verification = verification;
  const ips = parseIps(form.allowedIPs);
  if (ips.problem) problems.push({ at: 'allowedIPs', message: ips.problem });
  data.allowedIPs = ips.ips;
  data.isActive = form.isActive;
  return { data: problems.length ? null : data, problems };
}

/**
 * Where the runtime's field error goes: `verification` to the secret, header or scheme as its
 * words say; `commandData.result.x: ...` to that mapping line.
 */
export function placeOf(field: string, message: string, rows: MappingRow[]): string {
  switch (field) {
    case 'name':
    case 'commandName':
    case 'commandChain':
    case 'executionCode':
    case 'variables':
    case 'allowedIPs':
    case 'executionType':
      return field;
    case 'url':
    case 'key':
      return 'path';
    case 'processKey':
    case 'processDefinitionId':
      return 'processKey';
    case 'verification':
      if (/secret/.test(message)) return 'secret';
      if (/header/.test(message)) return 'header';
      return 'scheme';
    case 'commandData': {
      const m = /^commandData\.([^:]+):/.exec(message);
      const i = m ? rows.findIndex((r) => r.field.trim() === m[1]) : -1;
      return i >= 0 ? `mapping.${i}.expr` : 'mapping';
    }
    default:
      return 'form';
  }
}

/** The address senders call: the base address (no trailing slash) and the path. */
export function fullUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

export function typeLabel(t: number): string {
  return EXECUTION_TYPES.find((e) => e.value === t)?.label ?? `type ${t}`;
}

/** Short words for a verdict, for the inspector's badge. */
export function verdictText(v: string): string {
  const words: Record<string, string> = {
    accepted: 'accepted',
    duplicate: 'duplicate',
    badSignature: 'bad signature',
    ipNotAllowed: 'address not allowed',
    notFound: 'not found',
    inactive: 'inactive',
    tooLarge: 'too large',
    badBody: 'bad body',
    badMapping: 'mapping failed',
  };
  return words[v] ?? v;
}

/** A JSON value for display: pretty, or the text as it is when it is not JSON. */
export function pretty(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2) ?? 'null';
}

/** What the rate limits refused since Baton started (those requests are not in the log). */
export interface RateLimited {
  total: number;
  addresses?: { address: string; count: number }[];
}

export function rateLimitedText(r: RateLimited | undefined): string {
  if (!r || !r.total) return '';
  const top = r.addresses?.[0];
  const most = top ? `; the most from ${top.address} (${top.count.toLocaleString('en')})` : '';
  return `${r.total.toLocaleString('en')} request${r.total === 1 ? ' was' : 's were'} refused by the rate limit since Baton started (answered 429, not in the log)${most}.`;
}

/**
 * Whether a pushed `webhook-request` event can change the request list shown: not when the list
 * is filtered to one configuration and the request reached another (or none), nor when it is
 * filtered to one verdict and the request was recorded with another (or not recorded). `null`
 * (events were missed while the stream reconnected) may concern any list.
 */
export function concernsList(
  event: { configId?: number | null; verdict?: string | null } | null,
  filter: { config: number | null; verdict: string | null },
): boolean {
  if (event === null) return true;
  if (filter.config !== null && event.configId !== filter.config) return false;
  // An event without the field (an older server) may concern the list.
  return filter.verdict === null || event.verdict === undefined || event.verdict === filter.verdict;
}
