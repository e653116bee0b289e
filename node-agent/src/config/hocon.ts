/**
 * A parser for the subset of HOCON that EMQX's `emqx.conf` examples use:
 * objects (`a { }`, `a = { }`), dotted keys (`a.b = 1`), `=` or `:` separators,
 * arrays, quoted and unquoted strings, numbers, booleans, null, `#` and `//` comments,
 * and merging of repeated object keys (later wins for scalars).
 *
 * Why not a full HOCON library: EMQX accepts `@` in unquoted strings (`[emqx@n1,emqx@n2]`,
 * the seed page's env example) while strict HOCON forbids it, and the maintained JS parsers
 * either reject that or resolve includes/substitutions we do not want at boot.
 * Substitutions (`${...}`), `include` and triple-quoted strings are refused with a clear error.
 */

export type HoconValue = string | number | boolean | null | HoconValue[] | HoconObject;
export interface HoconObject {
  [key: string]: HoconValue;
}

export class HoconError extends Error {
  constructor(message: string, readonly line: number, readonly column: number) {
    super(`line ${line}, column ${column}: ${message}`);
  }
}

const UNQUOTED_STOP = new Set(['\n', ',', ']', '}', '#', '{', '[', '"']);

/** Objects and lists nested deeper than this are refused: a real configuration nests 4 levels, and recursion without a bound overflows the stack. */
const MAX_DEPTH = 64;

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly src: string, private readonly comments: boolean) {}

  private fail(message: string, at = this.pos): never {
    let line = 1;
    let col = 1;
    for (let i = 0; i < at && i < this.src.length; i++) {
      if (this.src[i] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    throw new HoconError(message, line, col);
  }

  private peek(): string {
    return this.src[this.pos] ?? '';
  }

  private atComment(): boolean {
    if (!this.comments) return false;
    return this.peek() === '#' || this.src.startsWith('//', this.pos);
  }

  /** Skips spaces, tabs and comments; with `newlines` also line breaks. */
  private skip(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) {
        this.pos++;
      } else if (this.atComment()) {
        while (this.pos < this.src.length && this.peek() !== '\n') this.pos++;
      } else return;
    }
  }

  parseDocument(): HoconObject {
    this.skip(true);
    let root: HoconObject;
    if (this.peek() === '{') {
      this.pos++;
      root = this.parseObjectBody('}');
    } else {
      root = this.parseObjectBody('');
    }
    this.skip(true);
    if (this.pos < this.src.length) this.fail(`unexpected '${this.peek()}'`);
    return root;
  }

  parseLoneValue(): HoconValue {
    this.skip(true);
    const v = this.parseValue();
    this.skip(true);
    if (this.pos < this.src.length) this.fail(`unexpected '${this.peek()}' after the value`);
    return v;
  }

  private parseObjectBody(close: string): HoconObject {
    const obj: HoconObject = {};
    for (;;) {
      this.skip(true);
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      if (close && this.peek() === close) {
        this.pos++;
        return obj;
      }
      if (this.pos >= this.src.length) {
        if (close) this.fail(`missing '${close}'`);
        return obj;
      }
      const keyStart = this.pos;
      const path = this.parseKey();
      if (path.length === 1 && path[0] === 'include') this.fail('include is not supported', keyStart);
      this.skip(false);
      let value: HoconValue;
      const c = this.peek();
      if (c === '{') {
        value = this.parseValue();
      } else if (c === '=' || c === ':') {
        this.pos++;
        this.skip(false);
        value = this.parseValue();
      } else if (c === '+' && this.src[this.pos + 1] === '=') {
        this.fail("'+=' is not supported");
      } else {
        this.fail(`expected '=', ':' or '{' after key '${path.join('.')}'`);
      }
      setPath(obj, path, value);
      this.skip(false);
      const end = this.peek();
      if (end === ',' || end === '\n') this.pos++;
      else if (!(close && end === close) && this.pos < this.src.length) {
        this.fail(`unexpected '${end}' after the value of '${path.join('.')}'`);
      }
    }
  }

  private parseKey(): string[] {
    const parts: string[] = [];
    for (;;) {
      if (this.peek() === '"') {
        parts.push(this.parseQuoted());
      } else {
        const start = this.pos;
        while (this.pos < this.src.length && /[A-Za-z0-9_\-]/.test(this.peek())) this.pos++;
        if (start === this.pos) this.fail(this.pos >= this.src.length ? 'unexpected end of input' : `unexpected '${this.peek()}' where a key was expected`);
        parts.push(this.src.slice(start, this.pos));
      }
      if (this.peek() === '.') {
        this.pos++;
        continue;
      }
      return parts;
    }
  }

  private parseValue(): HoconValue {
    const c = this.peek();
    if (c === '{' || c === '[') {
      if (this.depth >= MAX_DEPTH) this.fail(`objects and lists nest deeper than ${MAX_DEPTH} levels`);
      this.pos++;
      this.depth++;
      try {
        return c === '{' ? this.parseObjectBody('}') : this.parseArray();
      } finally {
        this.depth--;
      }
    }
    if (c === '"') {
      if (this.src.startsWith('"""', this.pos)) this.fail('triple-quoted strings are not supported');
      return this.parseQuoted();
    }
    if (c === '$' && this.src[this.pos + 1] === '{') this.fail('substitutions (${...}) are not supported');
    if (c === '' || c === '\n' || c === ',' || c === '}' || c === ']') this.fail('a value is missing');
    return this.parseUnquoted();
  }

  private parseArray(): HoconValue[] {
    const out: HoconValue[] = [];
    for (;;) {
      this.skip(true);
      if (this.peek() === ']') {
        this.pos++;
        return out;
      }
      if (this.pos >= this.src.length) this.fail("missing ']'");
      out.push(this.parseValue());
      this.skip(true);
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== ']') this.fail(`expected ',' or ']' in an array, found '${this.peek() || 'end of input'}'`);
    }
  }

  private parseQuoted(): string {
    const start = this.pos;
    this.pos++;
    let raw = '"';
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === '\\') {
        raw += c + (this.src[this.pos + 1] ?? '');
        this.pos += 2;
        continue;
      }
      if (c === '\n') break;
      raw += c;
      this.pos++;
      if (c === '"') {
        try {
          return JSON.parse(raw) as string;
        } catch {
          this.fail('invalid escape in a quoted string', start);
        }
      }
    }
    this.fail('unterminated quoted string', start);
  }

  private parseUnquoted(): HoconValue {
    const start = this.pos;
    while (this.pos < this.src.length && !UNQUOTED_STOP.has(this.peek()) && !this.atComment()) {
      if (this.peek() === '$' && this.src[this.pos + 1] === '{') this.fail('substitutions (${...}) are not supported');
      this.pos++;
    }
    const text = this.src.slice(start, this.pos).trim();
    if (text === '') this.fail('a value is missing', start);
    if (text === 'true') return true;
    if (text === 'false') return false;
    if (text === 'null') return null;
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    return text;
  }
}

function isObject(v: HoconValue | undefined): v is HoconObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets `path` in `obj`, merging objects the way HOCON does for repeated keys. */
export function setPath(obj: HoconObject, path: string[], value: HoconValue): void {
  let cur = obj;
  for (const seg of path.slice(0, -1)) {
    const next = cur[seg];
    if (!isObject(next)) cur[seg] = {};
    cur = cur[seg] as HoconObject;
  }
  const last = path[path.length - 1];
  const existing = cur[last];
  if (isObject(existing) && isObject(value)) {
    for (const [k, v] of Object.entries(value)) setPath(existing, [k], v);
  } else {
    cur[last] = value;
  }
}

/** Parses a whole configuration document. */
export function parseHocon(text: string): HoconObject {
  // A byte-order mark and CRLF line ends, as editors on other systems write them.
  return new Parser(text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n'), true).parseDocument();
}

/**
 * Parses one value the way an environment override is written (`[a@h1,a@h2]`, `4370`, `1m`).
 * Comments are not recognised here, so `http://host:2379` stays a URL.
 */
export function parseHoconValue(text: string): HoconValue {
  return new Parser(text, false).parseLoneValue();
}
