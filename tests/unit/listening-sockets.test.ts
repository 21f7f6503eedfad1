import { describe, expect, it } from 'vitest';
import { decodeProcNetAddress, isLoopback, parseProcNetTcp } from '../e2e/support/listening-sockets';

describe('decodeProcNetAddress (/proc/net/tcp hex, little-endian 32-bit words)', () => {
  it('decodes IPv4', () => {
    expect(decodeProcNetAddress('0100007F:4A37', 'LE')).toEqual({ address: '127.0.0.1', port: 18999 });
    expect(decodeProcNetAddress('00000000:1F40', 'LE')).toEqual({ address: '0.0.0.0', port: 8000 });
    expect(decodeProcNetAddress('0A01A8C0:0050', 'LE')).toEqual({ address: '192.168.1.10', port: 80 });
    expect(decodeProcNetAddress('7F000001:0050', 'BE')).toEqual({ address: '127.0.0.1', port: 80 });
  });

  it('decodes IPv6 as four little-endian words', () => {
    expect(decodeProcNetAddress('00000000000000000000000000000000:4A37', 'LE')).toEqual({ address: '::', port: 18999 });
    expect(decodeProcNetAddress('00000000000000000000000001000000:0050', 'LE')).toEqual({ address: '::1', port: 80 });
    expect(decodeProcNetAddress('0000000000000000FFFF00000100007F:4A37', 'LE')).toEqual({ address: '::ffff:127.0.0.1', port: 18999 });
    expect(decodeProcNetAddress('0000000000000000FFFF00000A01A8C0:0050', 'LE').address).toBe('::ffff:192.168.1.10');
    // RFC 5952 text: the longest run of zero groups becomes '::', the first of equally long runs
    expect(decodeProcNetAddress('000080FE000000000000000078563412:0016', 'LE').address).toBe('fe80::1234:5678');
    expect(decodeProcNetAddress('B80D0120000000000000000001000000:0016', 'LE').address).toBe('2001:db8::1');
    expect(decodeProcNetAddress('000080FE010000000000000001000000:0016', 'LE').address).toBe('fe80:0:0:1::1');
    expect(decodeProcNetAddress('00000100020000000000000004000300:0016', 'LE').address).toBe('1::2:0:0:3:4');
  });

  it('rejects malformed fields', () => {
    expect(() => decodeProcNetAddress('0100007F', 'LE')).toThrow();
    expect(() => decodeProcNetAddress('0100007:0050', 'LE')).toThrow();
    expect(() => decodeProcNetAddress('zz00007F:0050', 'LE')).toThrow();
  });
});

describe('parseProcNetTcp', () => {
  it('keeps LISTEN rows (state 0A) with their inode', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:4A37 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 291528 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:4A37 0100007F:D2C4 01 00000000:00000000 00:00000000 00000000  1000        0 291600 1 0000000000000000 20 4 30 10 -1',
      '',
    ].join('\n');
    expect(parseProcNetTcp(text, 'LE')).toEqual([{ inode: '291528', address: '127.0.0.1', port: 18999 }]);
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['::ffff:192.168.1.10', false],
    ['10.0.0.1', false],
  ])('%s -> %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});
