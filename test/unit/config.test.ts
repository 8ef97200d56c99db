import { intEnv, loadAudioGatewayConfig, queueUrl, requireEnv, tableName } from '../../core/config';
import { ConfigError } from '../../core/errors';

describe('configuration', () => {
  it('names the missing variable', () => {
    expect(() => requireEnv('NOPE', {})).toThrow(new ConfigError('NOPE environment variable is not set'));
    expect(() => tableName('meetings', {})).toThrow('MEETINGS_TABLE environment variable is not set');
  });

  it('rejects malformed values with the variable and the value', () => {
    expect(() => intEnv('PORT', 1, { PORT: 'eighty' })).toThrow(
      'PORT environment variable must be a non-negative integer, got "eighty"',
    );
    expect(() => queueUrl('transcriptEvents', { TRANSCRIPT_QUEUE_URL: 'not a url' })).toThrow(
      'TRANSCRIPT_QUEUE_URL',
    );
    expect(() => loadAudioGatewayConfig({ DEEPGRAM_API_KEY: 'k', DEEPGRAM_URL: 'http://x' })).toThrow(
      'DEEPGRAM_URL',
    );
  });

  it('applies documented defaults', () => {
    const cfg = loadAudioGatewayConfig({ DEEPGRAM_API_KEY: 'k' });
    expect(cfg).toMatchObject({
      port: 8080,
      maxSessions: 100,
      commandPollMs: 500,
      deepgramUrl: undefined,
      deepgramEncoding: 'opus',
    });
    // MAX_SESSIONS follows the encoding's CPU: PCM and μ-law leave room for 300 streams a core.
    expect(loadAudioGatewayConfig({ DEEPGRAM_API_KEY: 'k', DEEPGRAM_ENCODING: 'linear16' }).maxSessions).toBe(
      300,
    );
    expect(
      loadAudioGatewayConfig({ DEEPGRAM_API_KEY: 'k', DEEPGRAM_ENCODING: 'mulaw' }).deepgramEncoding,
    ).toBe('mulaw');
    expect(() => loadAudioGatewayConfig({ DEEPGRAM_API_KEY: 'k', DEEPGRAM_ENCODING: 'pcm' })).toThrow(
      'DEEPGRAM_ENCODING must be one of linear16, mulaw, opus, got "pcm"',
    );
  });
});
