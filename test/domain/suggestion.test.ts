/**
 * domain/suggestion.ts: passages replaced by their suggestions (in any order given, adjacent
 * ones both, overlapping ones refused), and the commit message of such a revision, with one
 * `Co-authored-by` trailer per suggester other than the one applying, whatever their names hold.
 */
import { describe, expect, test } from '@jest/globals';
import { DomainError } from '../../server/domain/errors.js';
import { replacePassages, suggestionsMessage } from '../../server/domain/suggestion.js';
import { parseMessage } from '../../server/domain/versionMessage.js';

describe('domain/suggestion', () => {
  const TEXT = 'One two three four five.';
  const at = (comment: number, word: string, text: string) => ({
    comment,
    offset: TEXT.indexOf(word),
    length: word.length,
    text,
  });

  describe('replacePassages', () => {
    test('each passage replaced where it sits, whatever the order given; adjacent passages both; empty deletes', () => {
      expect(replacePassages(TEXT, [at(2, 'four', '4'), at(1, 'two', '2')])).toBe('One 2 three 4 five.');
      expect(replacePassages(TEXT, [at(1, 'two ', ''), at(2, 'three', 'III')])).toBe('One III four five.');
      expect(replacePassages(TEXT, [])).toBe(TEXT);
    });

    test('overlapping passages are refused (409 suggestions_overlap, naming both)', () => {
      try {
        replacePassages(TEXT, [at(1, 'two three', 'x'), at(2, 'three four', 'y')]);
        throw new Error('not refused');
      } catch (e) {
        expect(e).toBeInstanceOf(DomainError);
        expect(e).toMatchObject({ kind: 'conflict', code: 'suggestions_overlap', data: { comments: [1, 2] } });
      }
    });
  });

  describe('suggestionsMessage', () => {
    const applier = { email: 'wanda@example.org' };
    test('one trailer per suggester, once each, not the applier; names made safe for an ident', () => {
      const m = suggestionsMessage({ id: 3, title: 'Plainer\nwords' }, applier, [
        { name: 'Mia Member', email: 'mia@example.org' },
        { name: 'Mia Member', email: 'MIA@example.org' },
        { name: 'Wanda', email: 'wanda@example.org' },
        { name: 'Noor <the> Member\n', email: 'noor@example.org' },
      ]);
      expect(m.split('\n')[0]).toBe('Apply suggested changes to proposal 3: Plainer words');
      const { trailers } = parseMessage(m);
      expect([...trailers.keys()]).toEqual(['Co-authored-by']);
      expect(m.match(/^Co-authored-by: .*$/gm)).toEqual([
        'Co-authored-by: Mia Member <mia@example.org>',
        'Co-authored-by: Noor the Member <noor@example.org>',
      ]);
    });

    test('applying one’s own suggestion: no trailer', () => {
      expect(suggestionsMessage({ id: 1, title: 'T' }, applier, [{ name: 'Wanda', email: 'wanda@example.org' }])).toBe(
        'Apply suggested change to proposal 1: T\n',
      );
    });
  });
});
