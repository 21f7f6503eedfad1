import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseStrictJson, type StrictJsonResult } from '../../lib/ws/strict-json';

/** Generated values nest a little; the limit under test is exercised on its own below. */
const roomy = { maxDepth: 1_000 };

const jsonParseThrows = (text: string): boolean => {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
};

const problemOf = (result: StrictJsonResult) => (result.ok ? undefined : result.problem);

/**
 * Serialises `root` like JSON.stringify, but in its `target`-th non-empty object (counted in serialisation order)
 * repeats one key somewhere after its first appearance, optionally spelled with \u escapes. Returns the text and the
 * path the parser must report.
 */
const withDuplicate = (root: unknown, pick: { target: number; key: number; at: number; escaped: boolean }) => {
  let objects = 0;
  const count = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(count);
    else if (v !== null && typeof v === 'object') {
      const values = Object.values(v);
      if (values.length > 0) objects++;
      values.forEach(count);
    }
  };
  count(root);
  const target = pick.target % objects;
  let seen = 0;
  let expected = '';
  const spell = (key: string): string =>
    pick.escaped ? `"${Array.from({ length: key.length }, (_, k) => `\\u${key.charCodeAt(k).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(key);
  const go = (v: unknown, path: (string | number)[]): string => {
    if (Array.isArray(v)) return `[${v.map((x, k) => go(x, [...path, k])).join(',')}]`;
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    const entries = Object.entries(v);
    const mine = entries.length > 0 ? seen++ : -1;
    const parts = entries.map(([k, x]) => `${JSON.stringify(k)}:${go(x, [...path, k])}`);
    if (mine === target) {
      const first = pick.key % entries.length;
      const at = first + 1 + (pick.at % (entries.length - first));
      const key = (entries[first] as [string, unknown])[0];
      parts.splice(at, 0, `${spell(key)}:null`);
      expected = [...path, key].join('.');
    }
    return `{${parts.join(',')}}`;
  };
  return { text: go(root, []), path: expected };
};

describe('parseStrictJson', () => {
  it('reads whatever JSON.stringify writes, exactly as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), fc.boolean(), (value, pretty) => {
        const text = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
        expect(parseStrictJson(text, roomy)).toStrictEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 500 },
    );
  });

  it('reports a key given twice in one object, with its path, however the second one is spelled', () => {
    const pick = fc.record({ target: fc.nat(), key: fc.nat(), at: fc.nat(), escaped: fc.boolean() });
    fc.assert(
      fc.property(fc.record({ data: fc.jsonValue(), side: fc.jsonValue() }), pick, (root, choice) => {
        const { text, path } = withDuplicate(root, choice);
        expect(JSON.parse(text)).toBeDefined();
        expect(parseStrictJson(text, roomy)).toEqual({ ok: false, problem: { kind: 'duplicate-key', path } });
      }),
      { numRuns: 500 },
    );
  });

  it('names keys and array indices in a duplicate path, and compares keys after unescaping', () => {
    expect(problemOf(parseStrictJson('{"action":"execute","action":"cancel"}'))).toEqual({ kind: 'duplicate-key', path: 'action' });
    expect(problemOf(parseStrictJson('{"a":1,"\\u0061":2}'))).toEqual({ kind: 'duplicate-key', path: 'a' });
    expect(problemOf(parseStrictJson('{"legs":[{"side":"buy"},{"side":"buy","side":"sell"}]}'))).toEqual({ kind: 'duplicate-key', path: 'legs.1.side' });
    expect(problemOf(parseStrictJson('{"mockFailures":{"1":true,"1":false}}'))).toEqual({ kind: 'duplicate-key', path: 'mockFailures.1' });
    // The same key in different objects is no duplicate.
    expect(parseStrictJson('{"a":{"a":1},"b":[{"a":1},{"a":2}]}').ok).toBe(true);
  });

  it('reports the first problem in document order', () => {
    expect(problemOf(parseStrictJson('{"a":[1,{"x":1,"x":2}],"a":0}'))).toEqual({ kind: 'duplicate-key', path: 'a.1.x' });
    expect(problemOf(parseStrictJson('{"a":1.0000000000000001,"a":2}'))).toEqual({ kind: 'inexact-number', path: 'a', literal: '1.0000000000000001' });
    expect(problemOf(parseStrictJson('{"a":1,"a":1.0000000000000001}'))).toEqual({ kind: 'duplicate-key', path: 'a' });
  });

  it.each(['0.1', '100', '1e2', '1.50', '-0', '0.30000000000000004', '1000000000000000000000', '9007199254740992', '5e-324', '1.7976931348623157e308', '2.2250738585072014e-308', '-123.456e-7', '0.000000000000000000000000001', '12345678901.12345', '0E0'])(
    'accepts %s, the value the double holds',
    (literal) => {
      const result = parseStrictJson(literal);
      expect(result).toEqual({ ok: true, value: JSON.parse(literal) });
      expect(Object.is((result as { value: unknown }).value, JSON.parse(literal))).toBe(true);
    },
  );

  it.each(['12345678901.123456', '1234567890123.4567', '1e400', '-1e400', '9007199254740993', '123456789012345678', '1.0000000000000001', '0.10000000000000001', '1e-400'])(
    'refuses %s, which the double cannot hold as written',
    (literal) => {
      expect(problemOf(parseStrictJson(literal))).toEqual({ kind: 'inexact-number', path: '', literal });
      expect(problemOf(parseStrictJson(`{"amount":[0,${literal}]}`))).toEqual({ kind: 'inexact-number', path: 'amount.1', literal });
    },
  );

  it('accepts any decimal of at most 15 significant digits in the normal range, as Number() reads it', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }), fc.integer({ min: -290, max: 290 }), (mantissa, exponent) => {
        const literal = `${mantissa}e${exponent}`;
        expect(parseStrictJson(literal)).toEqual({ ok: true, value: Number(literal) });
      }),
    );
  });

  it('accepts every double written in its shortest form', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        expect(parseStrictJson(`[${JSON.stringify(d)}]`)).toEqual({ ok: true, value: [JSON.parse(JSON.stringify(d))] });
      }),
    );
  });

  it.each([
    '',
    ' ',
    '{',
    '}',
    '[1,]',
    '[,1]',
    '{"a":1,}',
    '{a:1}',
    "{'a':1}",
    "'a'",
    '// c\n1',
    '/* c */ 1',
    '1 /* c */',
    'NaN',
    'Infinity',
    '-Infinity',
    '01',
    '-01',
    '00',
    '1.',
    '.5',
    '+1',
    '1e',
    '1e+',
    '-',
    '0x10',
    'tru',
    'truex',
    'nul',
    'undefined',
    '"abc',
    '"a\tb"',
    '"\u0000"',
    '"\u001f"',
    '"\\x"',
    '"\\u12"',
    '"\\u12g4"',
    '"\\',
    '[1 2]',
    '{"a" 1}',
    '{"a":1 "b":2}',
    '{"a"}',
    '{1:2}',
    '\uFEFF1',
    '1\u00a0',
    '[1]]',
    '{}}',
    '1 2',
  ])('refuses %j as JSON.parse does', (text) => {
    expect(jsonParseThrows(text)).toBe(true);
    expect(problemOf(parseStrictJson(text))?.kind).toBe('syntax');
  });

  it.each([' \t\n\r{"a" : [ 1 , -0.5e+3 ,"\\u00e9\\n\\/\\"\\\\\\b\\f\\r\\t" ] }\n ', '"\\ud800"', '"\\uDBFF\\uDFFF"', 'true', 'false', 'null', '1E5', '0e-0', '""', '[[],{}]'])(
    'accepts %j as JSON.parse does',
    (text) => {
      expect(parseStrictJson(text)).toStrictEqual({ ok: true, value: JSON.parse(text) });
    },
  );

  it('fails with a syntax problem exactly when JSON.parse throws (other problems aside)', () => {
    const tokens = ['{', '}', '[', ']', ',', ':', '"', '\\', '"a"', '"a":', 'u', '0', '1', '9', '-', '+', '.', 'e', ' ', '\n', 'true', 'nul', 'null', 'x', '/', '\t'];
    const mutated = fc
      .tuple(fc.json(), fc.nat(), fc.constantFrom('', ...tokens), fc.nat({ max: 2 }))
      .map(([text, at, insert, cut]) => {
        const k = at % (text.length + 1);
        return text.slice(0, k) + insert + text.slice(k + cut);
      });
    const tokenSoup = fc.string({ unit: fc.constantFrom(...tokens), maxLength: 30 });
    fc.assert(
      fc.property(fc.oneof(mutated, tokenSoup, fc.string({ unit: 'binary-ascii' })), (text) => {
        const result = parseStrictJson(text, roomy);
        if (jsonParseThrows(text)) {
          expect(result.ok).toBe(false);
        } else if (result.ok) {
          expect(result.value).toStrictEqual(JSON.parse(text));
        } else {
          expect(result.problem.kind).not.toBe('syntax');
        }
        if (!result.ok && result.problem.kind === 'syntax') expect(jsonParseThrows(text)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses nesting beyond maxDepth without touching the call stack', () => {
    const levels = 100_000;
    expect(parseStrictJson('['.repeat(levels) + ']'.repeat(levels))).toEqual({ ok: false, problem: { kind: 'too-deep', path: Array(32).fill('0').join('.') } });
    expect(parseStrictJson('{"a":'.repeat(levels) + '1' + '}'.repeat(levels))).toEqual({ ok: false, problem: { kind: 'too-deep', path: Array(32).fill('a').join('.') } });
    expect(parseStrictJson('['.repeat(levels)).ok).toBe(false);
    // With the limit raised past the hostile depth, the scan is iterative and still does not overflow.
    expect(parseStrictJson('['.repeat(levels) + ']'.repeat(levels), { maxDepth: levels }).ok).toBe(true);
  });

  it('counts the top-level container as depth 1', () => {
    expect(parseStrictJson('[[1]]', { maxDepth: 2 }).ok).toBe(true);
    expect(parseStrictJson('[[1]]', { maxDepth: 1 })).toEqual({ ok: false, problem: { kind: 'too-deep', path: '0' } });
    expect(parseStrictJson('{"legs":[{}]}', { maxDepth: 2 })).toEqual({ ok: false, problem: { kind: 'too-deep', path: 'legs.0' } });
    expect(parseStrictJson('1', { maxDepth: 0 }).ok).toBe(true);
  });

  it('keeps a __proto__ key as an own property and leaves the prototype alone', () => {
    const text = '{"__proto__":{"x":1}}';
    const result = parseStrictJson(text);
    expect(result).toStrictEqual({ ok: true, value: JSON.parse(text) });
    const value = (result as { value: Record<string, unknown> }).value;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ x: 1 });
    expect(value.x).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(problemOf(parseStrictJson('{"__proto__":1,"__proto__":2}'))).toEqual({ kind: 'duplicate-key', path: '__proto__' });
    // Keys that name Object.prototype members are ordinary own keys, not duplicates of the inherited ones.
    expect(parseStrictJson('{"toString":1,"constructor":2,"hasOwnProperty":3}')).toStrictEqual({ ok: true, value: { toString: 1, constructor: 2, hasOwnProperty: 3 } });
  });

  it('is reusable after a failure (no state leaks between calls)', () => {
    expect(parseStrictJson('{"a":[1,2').ok).toBe(false);
    expect(parseStrictJson('{"b":[3]}')).toEqual({ ok: true, value: { b: [3] } });
  });
});
