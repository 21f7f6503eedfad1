import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';

/*
 * Which TCP ports a process listens on, and on which address, read from Linux's /proc (proc_net_tcp(5)):
 * /proc/<pid>/fd/* links to `socket:[inode]` for each socket it holds, and /proc/<pid>/net/tcp and tcp6 list every
 * socket of its network namespace with that inode, a state (0A is LISTEN) and `local_address` as hex `ADDR:PORT`.
 * ADDR is the kernel's in-memory address printed as 32-bit words in host byte order (little-endian on x86 and arm64),
 * so 127.0.0.1 reads 0100007F; PORT is already a plain hex number.
 */

export interface ListeningSocket {
  pid: number;
  address: string;
  port: number;
}

const LISTEN = '0A';

/** One 32-bit word of /proc/net/tcp as its 4 bytes in memory (network) order. */
const wordBytes = (hex8: string, order: 'LE' | 'BE'): number[] => {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex8.slice(i, i + 2), 16));
  return order === 'LE' ? bytes.reverse() : bytes;
};

const ipv6Text = (bytes: number[]): string => {
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isMapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups = [0, 2, 4, 6, 8, 10, 12, 14].map((i) => ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952: the longest run (first if tied) of two or more zero groups becomes '::'.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
};

/** Decodes a /proc/net/tcp{,6} `ADDR:PORT` (8 or 32 hex digits, then 4) into a textual address and a port. */
export const decodeProcNetAddress = (field: string, order: 'LE' | 'BE' = endianness()): { address: string; port: number } => {
  const [addr = '', portHex = ''] = field.split(':');
  const port = parseInt(portHex, 16);
  if (!/^[0-9A-Fa-f]+$/.test(addr) || (addr.length !== 8 && addr.length !== 32) || !Number.isInteger(port)) {
    throw new Error(`not a /proc/net/tcp address: '${field}'`);
  }
  if (addr.length === 8) return { address: wordBytes(addr, order).join('.'), port };
  const bytes = [0, 8, 16, 24].flatMap((i) => wordBytes(addr.slice(i, i + 8), order));
  return { address: ipv6Text(bytes), port };
};

/** The LISTEN rows of a /proc/net/tcp or tcp6 text: inode, address, port. */
export const parseProcNetTcp = (text: string, order: 'LE' | 'BE' = endianness()): Array<{ inode: string; address: string; port: number }> => {
  const rows: Array<{ inode: string; address: string; port: number }> = [];
  for (const line of text.split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    const cols = line.trim().split(/\s+/);
    const [, local, , state, , , , , , inode] = cols;
    if (!local || state !== LISTEN || !inode) continue;
    rows.push({ inode, ...decodeProcNetAddress(local, order) });
  }
  return rows;
};

const readOrEmpty = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** Every TCP socket in LISTEN state held by one of `pids`, with its local address and port (Linux only). */
export const listeningSocketsOf = (pids: number[]): ListeningSocket[] => {
  const found: ListeningSocket[] = [];
  for (const pid of pids) {
    const inodes = new Set<string>();
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1]) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
    // The process's own network namespace, which /proc/net (= /proc/self/net) need not be.
    for (const table of ['tcp', 'tcp6']) {
      for (const row of parseProcNetTcp(readOrEmpty(`/proc/${pid}/net/${table}`))) {
        if (inodes.has(row.inode)) found.push({ pid, address: row.address, port: row.port });
      }
    }
  }
  return found;
};

/** True for 127.0.0.0/8, ::1 and the IPv4-mapped ::ffff:127.x.y.z. */
export const isLoopback = (address: string): boolean => {
  const v4 = address.toLowerCase().replace(/^::ffff:/, '');
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return address === '::1';
};
