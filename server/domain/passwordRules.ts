import { invalid } from './errors.js';

/**
 * Password rules after NIST SP 800-63B: at least 8 characters, at least 64 allowed (we allow
 * 256), no composition rules, and no common password. The list of common passwords is read
 * outside the domain (store/commonPasswords.ts) and passed in.
 */
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 256;

// A few more this site's users would think of, beside the big list.
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

/** How the list is looked up: lower-cased entries (a Set of the common passwords, built outside the domain). */
export type CommonPasswords = Pick<ReadonlySet<string>, 'has'>;

/** A base shorter than this is not looked up alone (three letters and digits are caught by length and the full list). */
const MIN_BASE = 4;

/**
 * Whether a password is (nearly) a common one: itself, lower-cased, or its base — lower-cased,
 * without trailing digits, punctuation, symbols and spaces (`Passw0rd!` → `passw0rd`,
 * `letmein123` → `letmein`) — is in the list.
 */
export function isCommonPassword(password: string, common: CommonPasswords): boolean {
  const lower = password.toLowerCase();
  if (COMMON.has(lower) || common.has(lower)) return true;
  const base = lower.replace(/[\p{N}\p{P}\p{S}\s]+$/u, '');
  return base.length >= MIN_BASE && base !== lower && (COMMON.has(base) || common.has(base));
}

/** Check a new password against the rules; returns it unchanged, or throws `invalid`. */
export function checkPassword(password: unknown, common: CommonPasswords): string {
  if (typeof password !== 'string') throw invalid('invalid_password', 'Give a password.');
  const length = [...password].length;
  if (length < MIN_PASSWORD)
    throw invalid('password_too_short', `A password needs at least ${MIN_PASSWORD} characters.`);
  if (length > MAX_PASSWORD)
    throw invalid('password_too_long', `A password may have at most ${MAX_PASSWORD} characters.`);
  if (isCommonPassword(password, common))
    throw invalid(
      'password_too_common',
      'That password is one of the most common ones (or one with digits or signs added); choose another.',
    );
  return password;
}
