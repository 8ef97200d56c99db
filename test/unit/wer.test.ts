import { normalizeWords, wordErrorRate } from '../../core/wer';

describe('normalizeWords', () => {
  it('lowercases, drops punctuation and splits hyphenated words', () => {
    expect(normalizeWords('Cold-hearted, and rather SELFISH!  Is it?')).toEqual([
      'cold',
      'hearted',
      'and',
      'rather',
      'selfish',
      'is',
      'it',
    ]);
  });

  it('keeps apostrophes inside words and drops quoting ones', () => {
    expect(normalizeWords("'Don’t,' she said: 'it's John's.'")).toEqual([
      "don't",
      'she',
      'said',
      "it's",
      "john's",
    ]);
  });
});

describe('wordErrorRate', () => {
  it('is zero for texts that differ only in case and punctuation', () => {
    const result = wordErrorRate(
      'he was not an ill disposed young man',
      'He was not an ill-disposed young man.',
    );

    expect(result.wer).toBe(0);
    expect(result.referenceWords).toBe(8);
  });

  it('counts one substitution, one deletion and one insertion', () => {
    // Prepare: "cat" → "hat" (substitution), "the" dropped (deletion), "please" added (insertion).
    const reference = 'the cat sat on the mat today';
    const hypothesis = 'the hat sat on mat today please';

    // Act
    const result = wordErrorRate(reference, hypothesis);

    // Assess
    expect(result).toEqual({
      wer: 3 / 7,
      errors: 3,
      substitutions: 1,
      deletions: 1,
      insertions: 1,
      referenceWords: 7,
      hypothesisWords: 7,
    });
  });

  it('counts every reference word as deleted for an empty hypothesis', () => {
    const result = wordErrorRate('one two three', '');

    expect(result.wer).toBe(1);
    expect(result.deletions).toBe(3);
  });

  it('can exceed 1 when the hypothesis inserts more words than the reference has', () => {
    const result = wordErrorRate('yes', 'well yes indeed quite');

    expect(result.wer).toBe(3);
    expect(result.insertions).toBe(3);
  });

  it('treats an empty reference as 0 for an empty hypothesis and 1 otherwise', () => {
    expect(wordErrorRate('', '').wer).toBe(0);
    expect(wordErrorRate('  ', 'noise').wer).toBe(1);
  });

  it('is symmetric in errors but not in rate', () => {
    const forward = wordErrorRate('a b c d', 'a x c');
    const backward = wordErrorRate('a x c', 'a b c d');

    expect(forward.errors).toBe(backward.errors);
    expect(forward.wer).toBe(2 / 4);
    expect(backward.wer).toBe(2 / 3);
  });
});
