import { findKeywords, tokenize } from '../../core/realtime/keywords';

describe('findKeywords', () => {
  it('matches whole words case-insensitively and ignores punctuation', () => {
    const hits = findKeywords('Deal! The IDEAL dealer made a deal, a real deal.', ['deal']);
    expect(hits.map((h) => h.wordIndex)).toEqual([0, 6, 9]);
  });

  it('matches multi-word phrases across punctuation and reports each occurrence once', () => {
    const hits = findKeywords('Action item: the action, item list has one action.', ['action item']);
    expect(hits).toEqual([
      { keyword: 'action item', wordIndex: 0 },
      { keyword: 'action item', wordIndex: 3 },
    ]);
  });

  it('orders hits of several keywords by position', () => {
    const hits = findKeywords('he might even have been made amiable himself', [
      'himself',
      'amiable',
      'made amiable',
    ]);
    expect(hits.map((h) => h.keyword)).toEqual(['made amiable', 'amiable', 'himself']);
  });

  it('finds nothing for empty keywords or text', () => {
    expect(findKeywords('', ['x'])).toEqual([]);
    expect(findKeywords('some text', ['  ', '!!'])).toEqual([]);
  });

  it('keeps apostrophes inside words', () => {
    expect(tokenize("Don't stop 'now'")).toEqual(["don't", 'stop', 'now']);
  });
});
