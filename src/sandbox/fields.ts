import { errors } from './errors.ts';

/** One requested field of Graph's `fields=` syntax: `messages.limit(20){id,message,from}`. */
export interface FieldRequest {
  readonly name: string;
  /** `.limit(N)` and the like, by modifier name. */
  readonly modifiers: Readonly<Record<string, string>>;
  /** Nested fields in braces; undefined when none were given (the edge's defaults apply). */
  readonly children: readonly FieldRequest[] | undefined;
}

const MODIFIERS = new Set(['limit', 'after', 'before']);

/** Parses Graph's field expansion syntax; a syntax error is Graph's error 100. */
export function parseFields(input: string): FieldRequest[] {
  let at = 0;
  const fail = (): never => {
    throw errors.invalidParameter(
      `Syntax error "Expected end of string instead of "${input.slice(at, at + 1)}"." at character ${at}: ${input}`,
    );
  };
  const skip = () => {
    while (input[at] === ' ') at++;
  };
  const ident = (): string => {
    skip();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(input.slice(at));
    if (!match) return fail();
    at += match[0].length;
    return match[0];
  };
  const list = (): FieldRequest[] => {
    const fields: FieldRequest[] = [];
    do {
      skip();
      if (input[at] === ',') at++;
      const name = ident();
      const modifiers: Record<string, string> = {};
      let children: FieldRequest[] | undefined;
      for (;;) {
        skip();
        if (input[at] === '.') {
          at++;
          const modifier = ident();
          if (!MODIFIERS.has(modifier) || input[at] !== '(') return fail();
          const close = input.indexOf(')', at);
          if (close === -1) return fail();
          modifiers[modifier] = input.slice(at + 1, close).trim();
          at = close + 1;
        } else if (input[at] === '{' && children === undefined) {
          at++;
          children = list();
          skip();
          if (input[at] !== '}') return fail();
          at++;
        } else break;
      }
      fields.push({ name, modifiers, children });
      skip();
    } while (input[at] === ',');
    return fields;
  };
  const fields = list();
  skip();
  if (at !== input.length) fail();
  return fields;
}
