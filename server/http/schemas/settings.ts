import { z } from 'zod';
import { RECORDS } from '../../domain/round.js';
import { TOTP_ROLES } from '../../services/settings/securitySettings.js';
import { coded } from '../validate.js';

/** Admin › Rounds: the default record of new rounds, and whether the chair may record ballots on members' behalf. */
export const RoundSettingsBody = z.strictObject({
  defaultRecord: coded(z.enum(RECORDS).optional(), 'invalid_record', 'The default record is "named" or "unnamed".'),
  chairMayRecord: coded(z.boolean().optional(), 'invalid_settings', 'chairMayRecord is true or false.'),
});
export type RoundSettingsBody = z.infer<typeof RoundSettingsBody>;

/** Admin › Security: the roles that must have a second factor. */
export const SecuritySettingsBody = z.strictObject({
  requireTotpFor: coded(
    z.array(z.enum(TOTP_ROLES)),
    'invalid_role',
    `A second factor can be required for ${TOTP_ROLES.join(' or ')}.`,
  ),
});
export type SecuritySettingsBody = z.infer<typeof SecuritySettingsBody>;
