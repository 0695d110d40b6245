import assert from 'node:assert/strict';

import { pino } from 'pino';

import { loadConfig, type Config } from '../../../service/config';
import { ApiError } from '../../../service/errors';
import { AwsSesIdentities, CREATION_TAG } from '../../../service/ses/aws';
import { startFakeAws, type FakeAws, type FakeAwsOptions } from '../../helpers/fake-aws';
import { waitFor } from '../../helpers/wait';

const CONFIGURATION_SET = 'numonic-test';
const SERVER_ERROR = { status: 500 };

function sesConfig(): Config['ses'] {
  return loadConfig({
    NUMONIC_SES_MODE: 'aws',
    NUMONIC_CONFIGURATION_SET: CONFIGURATION_SET,
    NUMONIC_SES_TIMEOUT_MS: '300',
    NUMONIC_SES_MAX_ATTEMPTS: '3',
  }).ses;
}

/**
 * The longest a call may take when every attempt times out: each attempt's timeout, the SDK's
 * backoff between attempts (at most 100 ms × 2^n before attempt n + 1), and room for a slow host.
 */
function timeBoundMs(config: Config['ses']): number {
  let backoff = 0;
  for (let attempt = 1; attempt < config.maxAttempts; attempt += 1) {
    backoff += 100 * 2 ** attempt;
  }
  return config.timeoutMs * config.maxAttempts + backoff + 1_000;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

async function startupFailure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('expected start() to fail');
}

describe('AwsSesIdentities', () => {
  const config = sesConfig();
  const logger = pino({ level: 'silent' });
  let aws: FakeAws;
  let restoreEnv: () => void;
  let ses: AwsSesIdentities;
  let orphans: string[];

  async function setUp(options: FakeAwsOptions = {}): Promise<void> {
    aws = await startFakeAws({ configurationSets: [CONFIGURATION_SET], ...options });
    restoreEnv = aws.useEnv();
    orphans = [];
    ses = new AwsSesIdentities(config, logger, {
      record: async (name) => {
        orphans.push(name);
      },
    });
  }

  async function setUpStarted(options: FakeAwsOptions = {}): Promise<void> {
    await setUp(options);
    await ses.start();
  }

  afterEach(async () => {
    ses.close();
    restoreEnv();
    await aws.close();
  });

  describe('start', () => {
    describe('when the configuration set exists', () => {
      beforeEach(() => setUp());

      it('leaves it as it is', async () => {
        await ses.start();

        assert.equal(aws.calls.GetConfigurationSet, 1);
        assert.equal(aws.calls.CreateConfigurationSet, 0);
      });
    });

    describe('when the configuration set is missing', () => {
      beforeEach(() => setUp({ configurationSets: [] }));

      it('creates it', async () => {
        await ses.start();

        assert.equal(aws.calls.CreateConfigurationSet, 1);
        assert.ok(aws.configurationSets.has(CONFIGURATION_SET));
      });
    });

    describe('when another instance creates the configuration set first', () => {
      beforeEach(() => setUp());

      it('starts all the same', async () => {
        aws.inject('GetConfigurationSet', { notFound: true });

        await ses.start();

        assert.equal(aws.calls.CreateConfigurationSet, 1);
      });
    });

    describe('when STS refuses the credentials', () => {
      beforeEach(() => setUp());

      it('fails naming STS GetCallerIdentity and the reason, without the credentials', async () => {
        aws.inject('GetCallerIdentity', {
          error: { status: 403, code: 'InvalidClientTokenId', message: 'The token is invalid.' },
        });

        const error = await startupFailure(ses.start());

        assert.match(error.message, /STS GetCallerIdentity/);
        assert.match(error.message, /InvalidClientTokenId/);
        assert.ok(!error.message.includes(aws.env.AWS_ACCESS_KEY_ID!));
        assert.ok(!error.message.includes(aws.env.AWS_SECRET_ACCESS_KEY!));
      });
    });

    describe('when an AWS message quotes an access key id', () => {
      beforeEach(() => setUp());

      it('masks it in the start-up error', async () => {
        aws.inject('GetCallerIdentity', {
          error: {
            status: 403,
            code: 'SignatureDoesNotMatch',
            message: 'Check the secret of AKIAIOSFODNN7EXAMPLE.',
          },
        });

        const error = await startupFailure(ses.start());

        assert.match(error.message, /SignatureDoesNotMatch/);
        assert.ok(!error.message.includes('AKIAIOSFODNN7EXAMPLE'));
      });
    });

    describe('when SES may not create the configuration set', () => {
      beforeEach(() => setUp({ configurationSets: [] }));

      it('fails naming SES CreateConfigurationSet and the reason', async () => {
        aws.inject('CreateConfigurationSet', {
          error: { status: 403, code: 'AccessDeniedException', message: 'Not authorized.' },
        });

        const error = await startupFailure(ses.start());

        assert.match(error.message, /SES CreateConfigurationSet failed: AccessDeniedException/);
      });
    });

    describe('when SES keeps failing GetConfigurationSet', () => {
      beforeEach(() => setUp());

      it('fails naming SES GetConfigurationSet after retrying', async () => {
        aws.inject('GetConfigurationSet', { status: 500 }, { status: 500 }, { status: 500 });

        const error = await startupFailure(ses.start());

        assert.match(error.message, /SES GetConfigurationSet failed/);
        assert.equal(aws.calls.GetConfigurationSet, 3);
      });
    });
  });

  describe('create', () => {
    describe('on a healthy SES', () => {
      beforeEach(() => setUpStarted());

      it('returns the three DKIM tokens and the hosted zone SES gave', async () => {
        const registration = await ses.create('example.com');

        const identity = aws.identities.get('example.com');
        assert.ok(identity);
        assert.deepEqual(registration.dkimTokens, identity.dkimTokens);
        assert.equal(registration.dkimTokens.length, 3);
        assert.equal(registration.signingHostedZone, 'dkim.amazonses.com');
      });

      it('returns the TXT token of SES v1 VerifyDomainIdentity', async () => {
        const registration = await ses.create('example.com');

        assert.equal(aws.calls.VerifyDomainIdentity, 1);
        const identity = aws.identities.get('example.com');
        assert.equal(registration.verificationToken, identity?.verificationToken);
      });

      it('builds the identity ARN from the STS account and the region', async () => {
        const registration = await ses.create('example.com');

        assert.equal(
          registration.identityArn,
          'arn:aws:ses:us-east-1:123456789012:identity/example.com',
        );
      });

      it('attaches the configuration set and tags the identity with its registration', async () => {
        await ses.create('example.com');

        const identity = aws.identities.get('example.com');
        assert.equal(identity?.configurationSetName, CONFIGURATION_SET);
        assert.equal(identity?.tags.filter((tag) => tag.Key === CREATION_TAG).length, 1);
      });
    });

    describe('in another partition and region', () => {
      beforeEach(() =>
        setUpStarted({ partition: 'aws-cn', account: '210987654321', region: 'cn-north-1' }),
      );

      it('builds the identity ARN from that partition, account and region', async () => {
        const registration = await ses.create('example.com');

        assert.equal(
          registration.identityArn,
          'arn:aws-cn:ses:cn-north-1:210987654321:identity/example.com',
        );
      });
    });

    describe('when the region signs DKIM in its own zone', () => {
      beforeEach(() => setUpStarted({ signingHostedZone: 'dkim.eu-central-2.amazonses.com' }));

      it('returns that zone', async () => {
        const registration = await ses.create('example.com');

        assert.equal(registration.signingHostedZone, 'dkim.eu-central-2.amazonses.com');
      });
    });

    describe('when SES throttles twice', () => {
      beforeEach(() => setUpStarted());

      it('retries and registers the domain', async () => {
        aws.inject('CreateEmailIdentity', { throttle: true }, { throttle: true });

        const registration = await ses.create('example.com');

        assert.equal(aws.calls.CreateEmailIdentity, 3);
        assert.deepEqual(registration.dkimTokens, aws.identities.get('example.com')?.dkimTokens);
      });
    });

    describe('when SES v1 throttles VerifyDomainIdentity once', () => {
      beforeEach(() => setUpStarted());

      it('retries and registers the domain', async () => {
        aws.inject('VerifyDomainIdentity', { throttle: true });

        await ses.create('example.com');

        assert.equal(aws.calls.VerifyDomainIdentity, 2);
        assert.ok(aws.identities.has('example.com'));
      });
    });

    describe('when SES throttles every attempt', () => {
      beforeEach(() => setUpStarted());

      it('answers UPSTREAM_UNAVAILABLE naming the operation, and SES keeps nothing', async () => {
        const throttle = { throttle: true } as const;
        aws.inject('CreateEmailIdentity', throttle, throttle, throttle);

        const started = Date.now();
        const error = await rejection(ses.create('example.com'));
        const elapsed = Date.now() - started;

        // Two throttling backoffs of at most 1 s and 2 s (the SDK's base of 500 ms, doubled),
        // and room for a slow host.
        assert.ok(elapsed < 8_000, `took ${elapsed} ms`);
        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
        assert.match(error.message, /CreateEmailIdentity/);
        assert.equal(aws.calls.CreateEmailIdentity, 3);
        assert.equal(aws.identities.size, 0);
      });
    });

    describe('when SES answers 500 on every attempt', () => {
      beforeEach(() => setUpStarted());

      it('answers UPSTREAM_UNAVAILABLE after the configured attempts', async () => {
        aws.inject('CreateEmailIdentity', { status: 500 }, { status: 503 }, { status: 500 });

        const error = await rejection(ses.create('example.com'));

        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
        assert.equal(aws.calls.CreateEmailIdentity, 3);
        assert.equal(aws.identities.size, 0);
      });
    });

    describe('when SES answers slower than the timeout', () => {
      beforeEach(() => setUpStarted());

      it('gives up within the time bound with UPSTREAM_UNAVAILABLE', async () => {
        aws.inject(
          'CreateEmailIdentity',
          { delayMs: 10_000 },
          { delayMs: 10_000 },
          { delayMs: 10_000 },
        );

        const started = Date.now();
        const error = await rejection(ses.create('example.com'));
        const elapsed = Date.now() - started;

        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
        assert.equal(aws.calls.CreateEmailIdentity, 3);
        assert.ok(elapsed < timeBoundMs(config), `took ${elapsed} ms`);
        assert.ok(elapsed >= config.timeoutMs * config.maxAttempts, `took only ${elapsed} ms`);
        assert.equal(aws.identities.size, 0);
      });
    });

    describe('when SES created the identity but its answer was lost', () => {
      beforeEach(() => setUpStarted());

      it('recognises its own identity on the retry and registers the domain', async () => {
        aws.inject('CreateEmailIdentity', { delayMs: 2_000, applied: true });

        const registration = await ses.create('example.com');

        assert.equal(aws.calls.CreateEmailIdentity, 2);
        assert.deepEqual(registration.dkimTokens, aws.identities.get('example.com')?.dkimTokens);
      });
    });

    describe('when SES created the identity but every answer was lost', () => {
      beforeEach(() => setUpStarted());

      it('deletes that identity and answers UPSTREAM_UNAVAILABLE', async () => {
        const lost = { delayMs: 2_000, applied: true };
        aws.inject('CreateEmailIdentity', lost, lost, lost);

        const error = await rejection(ses.create('example.com'));

        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
        assert.equal(aws.calls.DeleteEmailIdentity, 1);
        assert.equal(aws.identities.size, 0);
      });
    });

    describe('when SES creates the identity only after every attempt timed out', () => {
      beforeEach(() => setUpStarted());

      it('answers UPSTREAM_UNAVAILABLE in time, then deletes the identity once it appears', async () => {
        const dropped = { delayMs: 10_000 };
        aws.inject('CreateEmailIdentity', dropped, dropped, { delayMs: 1_000, applied: 'late' });

        const started = Date.now();
        const error = await rejection(ses.create('example.com'));
        const elapsed = Date.now() - started;

        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
        assert.ok(elapsed < timeBoundMs(config), `took ${elapsed} ms`);
        assert.equal(aws.calls.DeleteEmailIdentity, 0, 'nothing to delete when it answered');
        await waitFor(() => aws.calls.DeleteEmailIdentity === 1, 20 * config.timeoutMs);
        assert.equal(aws.identities.size, 0);
        assert.deepEqual(orphans, []);
      });
    });

    describe('when a retry meets its own identity but SES cannot be asked whose it is', () => {
      beforeEach(() => setUpStarted());

      it('answers UPSTREAM_UNAVAILABLE, then deletes the identity once SES answers', async () => {
        aws.inject('CreateEmailIdentity', { delayMs: 2_000, applied: true });
        aws.inject('GetEmailIdentity', SERVER_ERROR, SERVER_ERROR, SERVER_ERROR);

        const error = await rejection(ses.create('example.com'));

        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
        assert.equal(aws.calls.CreateEmailIdentity, 2);
        await waitFor(() => aws.identities.size === 0, 20 * config.timeoutMs);
        assert.equal(aws.calls.DeleteEmailIdentity, 1);
      });
    });

    describe('when someone else creates the name after a registration timed out', () => {
      beforeEach(() => setUpStarted());

      it('looks again for its own identity and leaves theirs alone', async () => {
        const dropped = { delayMs: 10_000 };
        aws.inject('CreateEmailIdentity', dropped, dropped, dropped);

        await rejection(ses.create('example.com'));
        const looks = aws.calls.GetEmailIdentity;
        const theirs = aws.addIdentity('example.com', [{ Key: 'team', Value: 'marketing' }]);
        const before = structuredClone(theirs);
        // The first two later looks, after one and three request timeouts, find theirs.
        await waitFor(() => aws.calls.GetEmailIdentity >= looks + 2, 10 * config.timeoutMs);

        assert.equal(aws.calls.DeleteEmailIdentity, 0);
        assert.deepEqual(aws.identities.get('example.com'), before);
      });
    });

    describe('when SES already has the identity', () => {
      beforeEach(() => setUpStarted());

      it('answers CONFLICT and leaves the identity untouched', async () => {
        const theirs = aws.addIdentity('example.com', [{ Key: 'team', Value: 'marketing' }]);
        const before = structuredClone(theirs);

        const error = await rejection(ses.create('example.com'));

        assert.equal(error.code, 'CONFLICT');
        assert.deepEqual(aws.identities.get('example.com'), before);
        assert.equal(aws.calls.DeleteEmailIdentity, 0);
        assert.equal(aws.calls.VerifyDomainIdentity, 0);
      });
    });

    describe('when SES reports AlreadyExists for an identity it does not show', () => {
      beforeEach(() => setUpStarted());

      it('answers CONFLICT', async () => {
        aws.inject('CreateEmailIdentity', { alreadyExists: true });

        const error = await rejection(ses.create('example.com'));

        assert.equal(error.code, 'CONFLICT');
      });
    });

    describe('when a retry finds an identity someone else created', () => {
      beforeEach(() => setUpStarted());

      it('answers CONFLICT and leaves that identity untouched', async () => {
        const theirs = aws.addIdentity('example.com', [{ Key: CREATION_TAG, Value: 'theirs' }]);
        const before = structuredClone(theirs);
        aws.inject('CreateEmailIdentity', { throttle: true });

        const error = await rejection(ses.create('example.com'));

        assert.equal(error.code, 'CONFLICT');
        assert.equal(aws.calls.CreateEmailIdentity, 2);
        assert.deepEqual(aws.identities.get('example.com'), before);
        assert.equal(aws.calls.DeleteEmailIdentity, 0);
      });
    });

    describe('when VerifyDomainIdentity keeps failing after the identity was created', () => {
      beforeEach(() => setUpStarted());

      it('deletes the identity again and answers UPSTREAM_UNAVAILABLE', async () => {
        aws.inject('VerifyDomainIdentity', { status: 500 }, { status: 500 }, { status: 500 });

        const error = await rejection(ses.create('example.com'));

        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
        assert.match(error.message, /VerifyDomainIdentity/);
        assert.equal(aws.calls.DeleteEmailIdentity, 1);
        assert.equal(aws.identities.size, 0);
        assert.deepEqual(orphans, []);
      });
    });

    describe('when the identity cannot be deleted again either', () => {
      beforeEach(() => setUpStarted());

      it('records the name as an orphan', async () => {
        aws.inject('VerifyDomainIdentity', { status: 500 }, { status: 500 }, { status: 500 });
        aws.inject('DeleteEmailIdentity', { status: 500 }, { status: 500 }, { status: 500 });

        const error = await rejection(ses.create('example.com'));

        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
        assert.deepEqual(orphans, ['example.com']);
        assert.ok(aws.identities.has('example.com'));
      });
    });
  });

  describe('delete', () => {
    beforeEach(() => setUpStarted());

    it('removes the identity', async () => {
      await ses.create('example.com');

      await ses.delete('example.com');

      assert.equal(aws.identities.size, 0);
    });

    describe('when SES does not know the identity', () => {
      it('counts it as deleted', async () => {
        await ses.delete('example.com');

        assert.equal(aws.calls.DeleteEmailIdentity, 1);
      });
    });

    describe('when SES throttles once', () => {
      it('retries and removes the identity', async () => {
        aws.addIdentity('example.com');
        aws.inject('DeleteEmailIdentity', { throttle: true });

        await ses.delete('example.com');

        assert.equal(aws.calls.DeleteEmailIdentity, 2);
        assert.equal(aws.identities.size, 0);
      });
    });

    describe('when SES answers 500 on every attempt', () => {
      it('answers UPSTREAM_UNAVAILABLE and the identity stays', async () => {
        aws.addIdentity('example.com');
        aws.inject('DeleteEmailIdentity', { status: 500 }, { status: 500 }, { status: 500 });

        const error = await rejection(ses.delete('example.com'));

        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
        assert.match(error.message, /DeleteEmailIdentity/);
        assert.ok(aws.identities.has('example.com'));
      });
    });

    describe('when SES deleted the identity but its answer was lost', () => {
      it('counts the NotFound of the retry as deleted', async () => {
        aws.addIdentity('example.com');
        aws.inject('DeleteEmailIdentity', { delayMs: 2_000, applied: true });

        await ses.delete('example.com');

        assert.equal(aws.calls.DeleteEmailIdentity, 2);
        assert.equal(aws.identities.size, 0);
      });
    });
  });

  describe('status', () => {
    beforeEach(() => setUpStarted());

    const mapping = [
      ['SUCCESS', 'Success'],
      ['FAILED', 'Failed'],
      ['PENDING', 'Pending'],
      ['NOT_STARTED', 'Pending'],
      ['TEMPORARY_FAILURE', 'Pending'],
    ] as const;
    for (const [sesStatus, verificationStatus] of mapping) {
      it(`reads SES ${sesStatus} as ${verificationStatus}`, async () => {
        aws.addIdentity('example.com');
        aws.setVerificationStatus('example.com', sesStatus);

        const status = await ses.status('example.com');

        assert.equal(status.verificationStatus, verificationStatus);
        assert.equal(status.sesStatus, sesStatus);
      });
    }

    it('reports the DKIM status', async () => {
      aws.addIdentity('example.com');
      aws.setVerificationStatus('example.com', 'SUCCESS', 'SUCCESS');

      const status = await ses.status('example.com');

      assert.equal(status.dkimStatus, 'SUCCESS');
    });

    it("reports SES's VerificationInfo: the error found and when it last checked", async () => {
      const identity = aws.addIdentity('example.com');
      aws.setVerificationStatus('example.com', 'FAILED');
      identity.verificationInfo = {
        ErrorType: 'HOST_NOT_FOUND',
        LastCheckedTimestamp: 1_796_300_000,
        LastSuccessTimestamp: 1_796_200_000.5,
      };

      const status = await ses.status('example.com');

      assert.deepEqual(status.verificationInfo, {
        errorType: 'HOST_NOT_FOUND',
        lastCheckedAt: '2026-12-03T12:13:20.000Z',
        lastSuccessAt: '2026-12-02T08:26:40.500Z',
      });
    });

    describe('when SES does not know the identity', () => {
      it('reads Failed, as it can never verify', async () => {
        const status = await ses.status('example.com');

        assert.deepEqual(status, { verificationStatus: 'Failed', sesStatus: 'NOT_FOUND' });
      });
    });

    describe('when SES answers 500 on every attempt', () => {
      it('answers UPSTREAM_UNAVAILABLE', async () => {
        aws.addIdentity('example.com');
        aws.inject('GetEmailIdentity', { status: 500 }, { status: 500 }, { status: 500 });

        const error = await rejection(ses.status('example.com'));

        assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
      });
    });
  });
});
