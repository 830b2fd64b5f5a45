/** IPv4 addresses as unsigned 32-bit numbers, for range and subnet arithmetic. */

export function ipToNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) {
    throw new RangeError(`not an IPv4 address: ${ip}`);
  }
  return parts.reduce((sum, part) => sum * 256 + part, 0);
}

export function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** The first and last address of a CIDR block (network and broadcast included). */
export function cidrRange(cidr: string): { first: number; last: number } {
  const [address = '', prefixText = ''] = cidr.split('/');
  const prefix = Number(prefixText);
  const size = 2 ** (32 - prefix);
  const first = Math.floor(ipToNumber(address) / size) * size;
  return { first, last: first + size - 1 };
}

/** True when `ip` is a host address of the block (not its network or broadcast address). */
export function isHostAddress(ip: string, cidr: string): boolean {
  const { first, last } = cidrRange(cidr);
  const value = ipToNumber(ip);
  if (last - first < 2) return value >= first && value <= last;
  return value > first && value < last;
}
