import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ipFamily } from './ip-family';
import path from 'node:path';
import type { z } from 'zod/v3';
import { HoconError, parseHocon, parseHoconValue, setPath, type HoconObject } from './hocon';
import { configSchema, renameK8s, type Config } from './schema';

/** Every problem found in a configuration, one line each; the CLI prints them and exits 2. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export const ENV_PREFIX = 'MUSTER_';
/** Variables with the prefix that are not config keys. */
const NOT_KEYS = new Set(['MUSTER_CONFIG_FILE']);

/**
 * One-underscore forms EMQX accepts beside the double-underscore ones (the seed page's Docker quick
 * start sets EMQX_NODE_NAME); the double-underscore form wins when both are set.
 */
const ALIASES: Readonly<Record<string, string>> = { MUSTER_NODE_NAME: 'MUSTER_NODE__NAME', MUSTER_NODE_COOKIE: 'MUSTER_NODE__COOKIE' };

/** Cookies anyone would try first: EMQX's and Erlang's defaults and the obvious words. */
const KNOWN_COOKIES = new Set(['muster', 'emqxsecretcookie', 'emqx', 'secret', 'secretcookie', 'cookie', 'changeme', 'password']);

/** Shorter cookies start with a warning: a guessed cookie is a member of the cluster. */
export const SHORT_COOKIE = 16;

/** Why a cookie is refused (exit 2), or undefined. */
export function cookieProblem(cookie: string): string | undefined {
  if (!cookie.trim()) return 'is only whitespace: make one with `openssl rand -base64 32`';
  if (KNOWN_COOKIES.has(cookie.trim().toLowerCase())) return `'${cookie}' is a well-known default anyone would guess: make one with \`openssl rand -base64 32\``;
  return undefined;
}

/** `MUSTER_CLUSTER__STATIC__SEEDS` -> `cluster.static.seeds`. */
export function envVarToPath(name: string): string[] {
  return name.slice(ENV_PREFIX.length).split('__').map((s) => s.toLowerCase());
}

export function pathToEnvVar(p: readonly (string | number)[]): string {
  return ENV_PREFIX + p.map((s) => String(s).toUpperCase()).join('__');
}

export interface LoadOptions {
  /** A HOCON file; optional, since env variables alone can configure a node. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Read `node.cookie_file` (default). The kit's synth-time check has no such file to read. */
  readCookieFile?: boolean;
}

/** Reads the file and the MUSTER_* variables (env wins), validates, and fills derived defaults. */
export function loadConfig(opts: LoadOptions): Config {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  let doc: HoconObject = {};
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (e) {
      throw new ConfigError([`config file ${opts.file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`]);
    }
    try {
      doc = parseHocon(text);
    } catch (e) {
      if (e instanceof HoconError) throw new ConfigError([`config file ${opts.file}: ${e.message}`]);
      throw e;
    }
  }
  // Records which variable each overridden path came from, to name it in errors.
  const fromEnv = new Map<string, string>();
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || NOT_KEYS.has(name)) continue;
    const alias = ALIASES[name];
    if (alias !== undefined && env[alias] !== undefined) continue;
    const p = envVarToPath(alias ?? name);
    if (p.some((s) => s === '')) {
      problems.push(`${name}: not a config key (use '__' between levels, e.g. MUSTER_NODE__NAME)`);
      continue;
    }
    const raw = env[name] ?? '';
    try {
      setPath(doc, p, parseHoconValue(raw));
      fromEnv.set(p.join('.'), name);
    } catch (e) {
      if (!(e instanceof HoconError)) throw e;
      // Like EMQX: a value that is not HOCON is taken as a plain string (`http://a:2379,http://b:2379`),
      // unless it is clearly meant as a list or an object.
      if (/^\s*[[{]/.test(raw)) problems.push(`${p.join('.')} (from ${name}): value is not valid HOCON: ${e.message}`);
      else {
        setPath(doc, p, raw);
        fromEnv.set(p.join('.'), name);
      }
    }
  }
  if (problems.length) throw new ConfigError(problems);

  const result = configSchema().safeParse(doc);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, doc, fromEnv));
  const cfg = result.data;
  let cookie = cfg.node.cookie ?? '';
  if (cfg.node.cookie_file !== undefined && opts.readCookieFile !== false) {
    const key = `node.cookie_file${origin('node.cookie_file', fromEnv)}`;
    try {
      // One trailing newline is the file's end, not the cookie's (echo secret > file).
      cookie = readFileSync(cfg.node.cookie_file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError([`${key}: ${cfg.node.cookie_file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`]);
    }
    if (!cookie) throw new ConfigError([`${key}: ${cfg.node.cookie_file} is empty`]);
  }
  const late: string[] = [];
  // The kit's synth-time check does not read the cookie file: there is no cookie to judge then.
  const cookieKnown = cfg.node.cookie_file === undefined || opts.readCookieFile !== false;
  const weak = cookieKnown ? cookieProblem(cookie) : undefined;
  if (weak) late.push(`${cfg.node.cookie_file !== undefined ? 'node.cookie_file' : 'node.cookie'}${origin(cfg.node.cookie_file !== undefined ? 'node.cookie_file' : 'node.cookie', fromEnv)}: ${weak}`);
  const host = cfg.node.name.slice(cfg.node.name.indexOf('@') + 1);
  const v6 = cfg.cluster.proto_dist.startsWith('inet6');
  const family = ipFamily(host);
  if (family === 6 && !v6) late.push(`node.name${origin('node.name', fromEnv)}: '${cfg.node.name}' has an IPv6 address, but cluster.proto_dist = ${cfg.cluster.proto_dist}: use inet6_tcp (or inet6_tls)`);
  if (family === 4 && v6) late.push(`node.name${origin('node.name', fromEnv)}: '${cfg.node.name}' has an IPv4 address, but cluster.proto_dist = ${cfg.cluster.proto_dist}: use inet_tcp (or inet_tls)`);
  if (late.length) throw new ConfigError(late);
  return {
    ...cfg,
    node: { ...cfg.node, cookie, data_dir: path.resolve(cfg.node.data_dir ?? path.join('data', dataDirName(cfg.node.name))) },
  };
}

/**
 * The default data directory's name: the node name, or, past a file name's 255 bytes (a long
 * domain name), its first 200 bytes and a hash of the whole, so every valid name has a directory.
 */
export function dataDirName(nodeName: string): string {
  if (Buffer.byteLength(nodeName) <= 255) return nodeName;
  return `${nodeName.slice(0, 200)}-${createHash('sha256').update(nodeName).digest('hex').slice(0, 16)}`;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `'${v}'`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

function origin(key: string, fromEnv: Map<string, string>): string {
  for (let k = key; k; k = k.includes('.') ? k.slice(0, k.lastIndexOf('.')) : '') {
    const v = fromEnv.get(k);
    if (v) return ` (from ${v})`;
  }
  return '';
}

/** The value the user gave at `p` (file or env), to show it back in an error. */
function valueAt(doc: HoconObject, p: readonly (string | number)[]): unknown {
  let v: unknown = doc;
  for (const k of p) {
    if (v === null || typeof v !== 'object') return undefined;
    // The schema reads the seed page's `K8s { }` block as `k8s`; so does this.
    const o = (k === 'k8s' ? renameK8s(v) : v) as Record<string, unknown>;
    v = o[String(k)];
  }
  return v;
}

/** zod's own wording for a size limit, in the words of the rest of the messages. */
function sizeRule(issue: z.ZodTooSmallIssue | z.ZodTooBigIssue): string {
  const n = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
  const bound = issue.code === 'too_small' ? 'at least' : 'at most';
  if (issue.type === 'string') return issue.code === 'too_small' && n === 1 ? 'must not be empty' : `must be ${bound} ${n} characters long`;
  if (issue.type === 'array') return issue.code === 'too_small' && n === 1 ? 'must not be an empty list' : `must have ${bound} ${n} items`;
  return `must be ${bound} ${n}`;
}

function formatIssues(issues: z.ZodIssue[], doc: HoconObject, fromEnv: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const key = [...base, k].join('.');
        lines.push(`${key}${origin(key, fromEnv)}: unknown key`);
      }
      continue;
    }
    const key = base.join('.') || '(root)';
    const input = valueAt(doc, issue.path);
    let msg: string;
    if (issue.code === 'invalid_type' && (issue.message === 'Required' || issue.message.startsWith('Expected '))) {
      msg = issue.received === 'undefined' ? 'is required' : `expected ${issue.expected}, got ${describe(input)}`;
    } else if (issue.code === 'invalid_enum_value') {
      msg = `${describe(input)} is not allowed; allowed: ${issue.options.map(String).join(' | ')}`;
      if (issue.message && !issue.message.startsWith('Invalid')) msg += ` (${issue.message})`;
    } else if ((issue.code === 'too_small' || issue.code === 'too_big') && /^(String|Array|Number) must/.test(issue.message)) {
      msg = sizeRule(issue);
    } else {
      msg = issue.message;
    }
    lines.push(`${key}${origin(key, fromEnv)}: ${msg}`);
  }
  return lines;
}
