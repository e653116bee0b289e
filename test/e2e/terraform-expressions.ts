import { statSync } from 'node:fs';
import path from 'node:path';

// The part of Terraform's expression language the kit's preconditions use, evaluated as Terraform
// 1.5+ does, and nothing else: a call of any other function, an operator or a template inside a
// string is refused, so a construct that starts writing them fails here instead of passing
// untested. Read from Terraform's docs (developer.hashicorp.com/terraform/language/functions/
// {alltrue,startswith,fileexists,format}) and internal/lang/funcs/filesystem.go (fileexists: a
// missing path is false, a path that exists but is not a regular file is an error; a relative path
// is relative to the working directory).

type Value = string | boolean | Value[];

export class ExpressionError extends Error {}

/** Evaluates one `${...}` expression; `variable` gives a variable's value. */
export function evaluate(source: string, variable: (name: string) => string | undefined, cwd: string): Value {
  const whole = /^\$\{([\s\S]*)\}$/.exec(source);
  if (!whole) throw new ExpressionError(`not a single expression: ${source}`);
  const p = new Parser(whole[1], variable, cwd);
  const v = p.expression();
  p.end();
  return v;
}

class Parser {
  private i = 0;

  constructor(
    private readonly s: string,
    private readonly variable: (name: string) => string | undefined,
    private readonly cwd: string,
  ) {}

  end(): void {
    this.space();
    if (this.i < this.s.length) throw new ExpressionError(`unexpected '${this.s.slice(this.i, this.i + 20)}' (operators are not modelled)`);
  }

  expression(): Value {
    this.space();
    const c = this.s[this.i];
    if (c === '"') return this.string();
    if (c === '[') return this.items(']', 'a list');
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i))?.[0];
    if (!id) throw new ExpressionError(`unexpected '${this.s.slice(this.i, this.i + 20)}'`);
    this.i += id.length;
    if (id === 'true' || id === 'false') return id === 'true';
    if (id === 'var' && this.s[this.i] === '.') {
      const name = /^\.([A-Za-z_][A-Za-z0-9_-]*)/.exec(this.s.slice(this.i))![1];
      this.i += name.length + 1;
      const v = this.variable(name);
      if (v === undefined) throw new ExpressionError(`variable '${name}' has no value`);
      return v;
    }
    this.space();
    if (this.s[this.i] !== '(') throw new ExpressionError(`reference '${id}' is not modelled`);
    return this.call(id, this.items(')', `${id}(...)`));
  }

  private call(name: string, args: Value[]): Value {
    const str = (v: Value, what: string): string => {
      if (typeof v !== 'string') throw new ExpressionError(`${name}: ${what} must be a string`);
      return v;
    };
    switch (name) {
      case 'alltrue': {
        const [list] = args;
        if (args.length !== 1 || !Array.isArray(list) || list.some((x) => typeof x !== 'boolean')) throw new ExpressionError('alltrue: takes one list of booleans');
        return list.every((x) => x === true);
      }
      case 'startswith':
        if (args.length !== 2) throw new ExpressionError('startswith: takes a string and a prefix');
        return str(args[0], 'the string').startsWith(str(args[1], 'the prefix'));
      case 'format': {
        const [spec, ...rest] = args;
        let k = 0;
        const out = str(spec, 'the format').replace(/%(.)/g, (_, verb: string) => {
          if (verb === '%') return '%';
          if (verb !== 's') throw new ExpressionError(`format: the verb %${verb} is not modelled`);
          if (k >= rest.length) throw new ExpressionError('format: not enough arguments');
          return str(rest[k++], 'each argument');
        });
        if (k !== rest.length) throw new ExpressionError('format: too many arguments');
        return out;
      }
      case 'fileexists': {
        const p = str(args[0], 'the path');
        if (args.length !== 1) throw new ExpressionError('fileexists: takes one path');
        if (p.startsWith('~')) throw new ExpressionError('fileexists: home-directory expansion is not modelled');
        try {
          const st = statSync(path.resolve(this.cwd, p));
          if (st.isFile()) return true;
          throw new ExpressionError(`Invalid function argument: ${p} is not a regular file, but "${st.isDirectory() ? 'dir' : 'other'}"`);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
          throw e;
        }
      }
      default:
        throw new ExpressionError(`function ${name}() is not modelled`);
    }
  }

  private string(): string {
    const m = /^"((?:[^"\\$]|\\.|\$(?!\{))*)"/.exec(this.s.slice(this.i));
    if (!m) throw new ExpressionError(`a string with a template or an unterminated string at '${this.s.slice(this.i, this.i + 20)}' is not modelled`);
    this.i += m[0].length;
    return JSON.parse(`"${m[1]}"`) as string;
  }

  /** Comma-separated expressions from the opening bracket at `i` to `close`: a call's arguments or a list. */
  private items(close: ')' | ']', what: string): Value[] {
    this.i++;
    const out: Value[] = [];
    this.space();
    while (this.s[this.i] !== close) {
      out.push(this.expression());
      this.space();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== close) throw new ExpressionError(`expected ',' or '${close}' in ${what}`);
      this.space();
    }
    this.i++;
    return out;
  }

  private space(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
    if (this.i >= this.s.length && this.s.length === 0) throw new ExpressionError('empty expression');
  }
}
