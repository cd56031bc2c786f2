/**
 * CRC-32 of a concatenation from the CRCs of its parts, as zlib's crc32_combine (which Node does
 * not expose): the gzip trailer of a stream joined from separately compressed pieces. Polynomials
 * over GF(2) in zlib's reflected bit order, x^0 being the top bit.
 */
const POLY = 0xedb88320;
const X0 = 0x80000000;

/** a(x) * b(x) modulo the CRC polynomial. */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let bit = X0; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= b;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0..31. */
const X_POW_2K: number[] = [];
for (let k = 0, p = X0 >>> 1; k < 32; k++, p = multiplyModP(p, p)) X_POW_2K.push(p);

/** x^(8n) modulo the polynomial: appending n zero bytes. `n` may exceed 2^32. */
function zeroBytesOperator(n: number): number {
  let p = X0;
  for (let k = 3; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) p = multiplyModP(X_POW_2K[k % 32], p);
  return p;
}

/** The CRC-32 of A followed by B, from CRC(A), CRC(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(zeroBytesOperator(lengthB), crcA) ^ crcB) >>> 0;
}
