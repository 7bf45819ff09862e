import { invalid } from './errors.js';

/**
 * Password rules after NIST SP 800-63B: at least 8 characters, at least 64 allowed (we allow
 * 256), no composition rules, and no very common password.
 */
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 256;

// The most frequently leaked passwords of 8+ characters (a short list; facts, not text).
const COMMON = new Set(
  `password 12345678 123456789 1234567890 password1 password123 qwertyuiop qwerty123 iloveyou
  11111111 00000000 87654321 abcd1234 abc12345 1q2w3e4r 1qaz2wsx qazwsxedc sunshine princess
  football baseball welcome1 welcome123 letmein1 monkey123 dragon123 trustno1 superman batman123
  starwars passw0rd p@ssw0rd p@ssword changeme changeme1 administrator admin123 admin1234 default1
  123123123 12341234 11223344 asdfghjkl zxcvbnm1 zxcvbnmm qwerty12 qwertyui 1234qwer q1w2e3r4
  q1w2e3r4t5 michael1 jennifer shadow12 master12 whatever computer internet secret12 loveme12
  aaaaaaaa 987654321 1234567a a1234567 123456789a password! ratify123 ratifyratify letmeinnow`
    .split(/\s+/)
    .filter(Boolean),
);

export function checkPassword(password: unknown): string {
  if (typeof password !== 'string') throw invalid('invalid_password', 'Give a password.');
  const length = [...password].length;
  if (length < MIN_PASSWORD) throw invalid('password_too_short', `A password needs at least ${MIN_PASSWORD} characters.`);
  if (length > MAX_PASSWORD) throw invalid('password_too_long', `A password may have at most ${MAX_PASSWORD} characters.`);
  if (COMMON.has(password.toLowerCase())) throw invalid('password_too_common', 'That password is one of the most common ones; choose another.');
  return password;
}
