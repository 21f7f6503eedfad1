/**
 * A JSON reader for client messages that refuses what JSON.parse silently accepts: a key given twice (JSON.parse keeps
 * the last one, so `{"side":"buy","side":"sell"}` would trade whichever the writer did not mean), a number the double
 * cannot hold as written (`12345678901.123456` would quietly become 12345678901.123455), and nesting deep enough to be
 * an attack rather than an order.
 *
 * Grammar: RFC 8259 (https://www.rfc-editor.org/rfc/rfc8259), with JSON.parse's acceptance for everything it allows.
 * It is one pass with an explicit stack, so hostile nesting costs heap entries, never call-stack frames.
 */

export type StrictJsonProblem =
  | { kind: 'syntax'; message: string }
  | { kind: 'duplicate-key'; path: string }
  | { kind: 'inexact-number'; path: string; literal: string }
  | { kind: 'too-deep'; path: string };

export type StrictJsonResult = { ok: true; value: unknown } | { ok: false; problem: StrictJsonProblem };

export interface StrictJsonOptions {
  /** Containers (objects and arrays) nested deeper than this are refused; the top-level container is depth 1. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 32;

/** Every decimal of at most this many significant digits survives the trip through a double (DBL_DIG)... */
const ALWAYS_EXACT_DIGITS = 15;
/** ...but only among normal doubles: subnormals carry fewer digits, and past the ends lie 0 and Infinity. */
const MIN_NORMAL = 2.2250738585072014e-308;

type Container = unknown[] | Record<string, unknown>;

const fail = (problem: StrictJsonProblem): StrictJsonResult => ({ ok: false, problem });

const describeAt = (text: string, at: number): string =>
  at >= text.length ? `unexpected end of input at position ${at}` : `unexpected ${JSON.stringify(text[at])} at position ${at}`;

/**
 * A decimal literal as (sign, digits without leading or trailing zeros, exponent), so that two spellings of one value
 * compare equal as strings: `1.50`, `150e-2` and `0.015e2` all become `+15e1` (value 0.15 x 10^1).
 */
const normalise = (literal: string): string => {
  let s = literal;
  const negative = s.charCodeAt(0) === 0x2d;
  if (negative) s = s.slice(1);
  let exponent = 0;
  const e = s.search(/[eE]/);
  if (e >= 0) {
    exponent = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf('.');
  let digits = dot < 0 ? s : s.slice(0, dot) + s.slice(dot + 1);
  let point = dot < 0 ? s.length : dot;
  let lead = 0;
  while (lead < digits.length && digits.charCodeAt(lead) === 0x30) lead++;
  let end = digits.length;
  while (end > lead && digits.charCodeAt(end - 1) === 0x30) end--;
  if (end === lead) return '0';
  digits = digits.slice(lead, end);
  point -= lead;
  return `${negative ? '-' : '+'}${digits}e${point + exponent}`;
};

/**
 * Whether the double is what the client wrote: its shortest round-trip form (ECMAScript Number::toString,
 * https://tc39.es/ecma262/#sec-numeric-types-number-tostring) has the client's digits, or the literal is short enough
 * that no other double could have been meant.
 */
const isExact = (literal: string, value: number): boolean => {
  if (!Number.isFinite(value)) return false;
  const written = normalise(literal);
  const magnitude = Math.abs(value);
  if (magnitude >= MIN_NORMAL || (magnitude === 0 && written === '0')) {
    const significant = written === '0' ? 0 : written.indexOf('e') - 1;
    if (significant <= ALWAYS_EXACT_DIGITS) return true;
  }
  // Zero normalises without its sign on both sides, so "-0.000…0" (for -0) still matches String(-0) === "0".
  return written === normalise(String(value));
};

/*
 * The scanner's state lives at module level rather than in closures made per call: on a 200-byte message, allocating
 * the closures cost more than the scanning. Calls never interleave (the scan is synchronous), and the stacks are
 * emptied on every exit so they hold no message alive.
 */
let text = '';
let n = 0;
let i = 0;
/** The character at i, or -1 past the end; kept current by skipSpace and the number scanner. */
let c = 0;
const stack: Container[] = [];
const isArray: boolean[] = [];
/** For each open container, the key or index being filled: the path of a problem without building it each step. */
const keys: (string | number)[] = [];
/** Set by readString when the trouble is a bad escape, which a position alone explains poorly. */
let stringTrouble: string | undefined;
let root: unknown;

const pathTo = (depth: number): string => keys.slice(0, depth).join('.');

const syntaxError = (): StrictJsonResult => fail({ kind: 'syntax', message: stringTrouble ?? describeAt(text, i) });

/** Returns the character it stopped at (also left in c), so callers compare a fresh value, not a narrowed one. */
const skipSpace = (): number => {
  // RFC 8259 section 2: only these four count as whitespace (no BOM, no NBSP), as for JSON.parse.
  while (i < n) {
    c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return c;
  }
  return (c = -1);
};

/** Reads the string opening at i; undefined when malformed (i then points at the trouble). */
const readString = (): string | undefined => {
  const start = i;
  let j = i + 1;
  let escaped = false;
  for (;;) {
    if (j >= n) {
      // A trailing backslash steps past the end; the message should still say "end of input at <length>".
      i = n;
      return undefined;
    }
    const d = text.charCodeAt(j);
    if (d === 0x22) break;
    if (d === 0x5c) {
      escaped = true;
      j += 2;
      continue;
    }
    // RFC 8259 section 7: control characters must be escaped.
    if (d < 0x20) {
      i = j;
      return undefined;
    }
    j++;
  }
  i = j + 1;
  if (!escaped) return text.slice(start + 1, j);
  return decodeEscapes(start + 1, j);
};

/** What each single-character escape of RFC 8259 section 7 stands for, by the escape letter's code. */
const SHORT_ESCAPES: (string | undefined)[] = [];
for (const [letter, meaning] of Object.entries({ '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' })) {
  SHORT_ESCAPES[letter.charCodeAt(0)] = meaning;
}

const hexDigit = (code: number): number =>
  code >= 0x30 && code <= 0x39 ? code - 0x30 : code >= 0x61 && code <= 0x66 ? code - 0x57 : code >= 0x41 && code <= 0x46 ? code - 0x37 : -1;

/**
 * Decodes text[from, to), which holds backslashes. \u escapes are taken one code unit at a time, lone surrogates
 * included, because that is what JSON.parse does.
 */
const decodeEscapes = (from: number, to: number): string | undefined => {
  let out = '';
  let run = from;
  let k = from;
  while (k < to) {
    if (text.charCodeAt(k) !== 0x5c) {
      k++;
      continue;
    }
    out += text.slice(run, k);
    const letter = text.charCodeAt(k + 1);
    if (letter === 0x75) {
      let unit = 0;
      for (let h = k + 2; h < k + 6; h++) {
        const v = h < to ? hexDigit(text.charCodeAt(h)) : -1;
        if (v < 0) return badEscape(k);
        unit = unit * 16 + v;
      }
      out += String.fromCharCode(unit);
      k += 6;
    } else {
      const meaning = SHORT_ESCAPES[letter];
      if (meaning === undefined) return badEscape(k);
      out += meaning;
      k += 2;
    }
    run = k;
  }
  return out + text.slice(run, to);
};

const badEscape = (at: number): undefined => {
  i = at;
  stringTrouble = `invalid escape at position ${at}`;
  return undefined;
};

const place = (value: unknown): void => {
  const top = stack.length - 1;
  if (top < 0) {
    root = value;
    return;
  }
  const parent = stack[top] as Container;
  if (isArray[top]) {
    (parent as unknown[]).push(value);
    return;
  }
  const key = keys[top] as string;
  // Plain assignment would call the __proto__ setter and swap the prototype; JSON.parse makes an own property.
  if (key === '__proto__') Object.defineProperty(parent, key, { value, writable: true, enumerable: true, configurable: true });
  else (parent as Record<string, unknown>)[key] = value;
};

/** After `{` or `,` inside an object: the key and its colon. Returns a problem, or undefined to go on to the value. */
const readKey = (): StrictJsonResult | undefined => {
  skipSpace();
  if (c !== 0x22) return syntaxError();
  const key = readString();
  if (key === undefined) return syntaxError();
  const top = stack.length - 1;
  keys[top] = key;
  // Keys compare after unescaping ("a" and "\u0061" are one key), which readString has already done.
  if (Object.hasOwn(stack[top] as object, key)) return fail({ kind: 'duplicate-key', path: pathTo(top + 1) });
  if (skipSpace() !== 0x3a) return syntaxError();
  i++;
  return undefined;
};

const nextChar = (): number => (++i < n ? text.charCodeAt(i) : -1);

/** Exact powers of ten: every one up to 1e22 is a double without rounding. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** Reads the number at i (c is its first character); a problem, or undefined once the value is placed. */
const readNumber = (): StrictJsonResult | undefined => {
  // RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  const start = i;
  const negative = c === 0x2d;
  let digits = 0;
  let fractionDigits = 0;
  let mantissa = 0;
  let exponent = 0;
  let exponentDigits = 0;
  let exponentNegative = false;
  if (negative) c = nextChar();
  if (c === 0x30) {
    c = nextChar();
    digits++;
  } else if (c >= 0x31 && c <= 0x39) {
    do {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      c = nextChar();
    } while (c >= 0x30 && c <= 0x39);
  } else {
    return syntaxError();
  }
  if (c === 0x2e) {
    c = nextChar();
    if (!(c >= 0x30 && c <= 0x39)) return syntaxError();
    do {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      fractionDigits++;
      c = nextChar();
    } while (c >= 0x30 && c <= 0x39);
  }
  if (c === 0x65 || c === 0x45) {
    c = nextChar();
    if (c === 0x2b || c === 0x2d) {
      exponentNegative = c === 0x2d;
      c = nextChar();
    }
    if (!(c >= 0x30 && c <= 0x39)) return syntaxError();
    do {
      exponent = exponent * 10 + (c - 0x30);
      exponentDigits++;
      c = nextChar();
    } while (c >= 0x30 && c <= 0x39);
  }
  // A leading zero followed by a digit ("01") ends the number at "0"; the next step then refuses the "1".
  const scale = (exponentNegative ? -exponent : exponent) - fractionDigits;
  if (digits <= ALWAYS_EXACT_DIGITS && exponentDigits <= 3 && scale >= -22 && scale <= 22) {
    /*
     * The common case, without Number(text): the mantissa is an integer below 2^53 and 10^|scale| is exact, so one
     * IEEE multiplication or division rounds once, correctly, to the same double. Fifteen digits at such a scale are
     * far inside the normal range, so the value is exact in the sense above.
     */
    const magnitude = scale >= 0 ? mantissa * (POW10[scale] as number) : mantissa / (POW10[-scale] as number);
    place(negative ? -magnitude : magnitude);
    return undefined;
  }
  const literal = text.slice(start, i);
  const value = Number(literal);
  if (!isExact(literal, value)) return fail({ kind: 'inexact-number', path: pathTo(stack.length), literal });
  place(value);
  return undefined;
};

const scan = (maxDepth: number): StrictJsonResult => {
  for (;;) {
    // A value is expected at i.
    skipSpace();
    if (c === 0x7b || c === 0x5b) {
      if (stack.length >= maxDepth) return fail({ kind: 'too-deep', path: pathTo(stack.length) });
      const array = c === 0x5b;
      const container: Container = array ? [] : {};
      place(container);
      stack.push(container);
      isArray.push(array);
      keys.push(0);
      i++;
      if (skipSpace() === (array ? 0x5d : 0x7d)) {
        i++;
        stack.pop();
        isArray.pop();
        keys.pop();
      } else if (array) {
        continue;
      } else {
        const problem = readKey();
        if (problem) return problem;
        continue;
      }
    } else if (c === 0x22) {
      const s = readString();
      if (s === undefined) return syntaxError();
      place(s);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const problem = readNumber();
      if (problem) return problem;
    } else if (c === 0x74 && text.startsWith('true', i)) {
      i += 4;
      place(true);
    } else if (c === 0x66 && text.startsWith('false', i)) {
      i += 5;
      place(false);
    } else if (c === 0x6e && text.startsWith('null', i)) {
      i += 4;
      place(null);
    } else {
      return syntaxError();
    }

    // A value is complete: close containers until one wants another element, or the document ends.
    for (;;) {
      skipSpace();
      const top = stack.length - 1;
      if (top < 0) return i < n ? syntaxError() : { ok: true, value: root };
      if (c === 0x2c) {
        i++;
        if (isArray[top]) {
          keys[top] = (stack[top] as unknown[]).length;
          break;
        }
        const problem = readKey();
        if (problem) return problem;
        break;
      }
      if (c === (isArray[top] ? 0x5d : 0x7d)) {
        i++;
        stack.pop();
        isArray.pop();
        keys.pop();
        continue;
      }
      return syntaxError();
    }
  }
};

export const parseStrictJson = (source: string, options?: StrictJsonOptions): StrictJsonResult => {
  text = source;
  n = source.length;
  i = 0;
  c = 0;
  stringTrouble = undefined;
  root = undefined;
  try {
    return scan(options?.maxDepth ?? DEFAULT_MAX_DEPTH);
  } finally {
    text = '';
    root = undefined;
    stack.length = 0;
    isArray.length = 0;
    keys.length = 0;
  }
};
