import { randomUUID } from 'node:crypto';

import { SESClient, VerifyDomainIdentityCommand } from '@aws-sdk/client-ses';
import {
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  GetConfigurationSetCommand,
  GetEmailIdentityCommand,
  SESv2Client,
  type DkimAttributes,
  type GetEmailIdentityCommandOutput,
} from '@aws-sdk/client-sesv2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

import type { Config } from '../config';
import { ApiError } from '../errors';
import type { Logger } from '../logger';
import type { VerificationStatus } from '../store/store';
import type { IdentityRegistration, IdentityStatus, SesIdentities } from './identities';
import type { OrphanSweeper } from './orphan-sweeper';

// Facts about SES that shape this file:
// - SES v2 gives the DKIM tokens and their zone but no `_amazonses` TXT token; SES v1's
//   VerifyDomainIdentity returns the one for the same identity (v1 and v2 share identities within a
//   region), so registration makes one call to each.
// - CreateEmailIdentity takes no idempotency token. When an attempt's answer is lost (a timeout)
//   the SDK retries, and SES answers the retry AlreadyExists for the identity it just created. Each
//   registration therefore tags its identity with a nonce: an AlreadyExists on a retried attempt is
//   ours only if the identity carries our nonce. Without it the identity belongs to someone else,
//   and it is never adopted nor deleted.
// - The SDK's `requestTimeout` only logs a warning unless `throwOnRequestTimeout` is set.
//
// - A create whose attempts went unanswered (timeouts, 5xx) may still be carried out by SES after
//   the registration answered 503. The registration looks for its nonce at once and, when it is not
//   there yet, again after 1, 2, 4 and 8 request timeouts, deleting the identity when it appears.
//
// Known limits: the later looks live in memory, so an identity SES creates after the last look, or
// while the process is stopped, stays in SES with no record (logged at error level with the
// domain when SES could not even be asked), and registering that name answers 409 until an
// operator deletes it (`aws sesv2 delete-email-identity --email-identity <domain>`). Likewise an
// unanswered VerifyDomainIdentity that SES carries out only after the clean-up deleted the
// identity re-creates it (SES v1 creates what it verifies), untagged, so no look can tell it from
// another's, and it takes the same operator delete.

/** The tag key whose value is the nonce of the registration that created the identity. */
export const CREATION_TAG = 'numonic:registration';

/** When to look again for a failed registration's identity, in request timeouts after the last. */
const LATE_LOOKS = [1, 2, 4, 8];

const STATUS_MAP: Record<string, VerificationStatus> = {
  SUCCESS: 'Success',
  FAILED: 'Failed',
  PENDING: 'Pending',
  NOT_STARTED: 'Pending',
  TEMPORARY_FAILURE: 'Pending',
};

interface CallerIdentity {
  partition: string;
  region: string;
  account: string;
}

/** Where identities that could not be cleaned up are recorded for the orphan sweeper. */
export type OrphanRecorder = Pick<OrphanSweeper, 'record'>;

/**
 * Domain identities in real SES (`NUMONIC_SES_MODE=aws`). Credentials and region come from the
 * AWS SDK's default chain (`AWS_REGION`, `AWS_PROFILE`, web identity, container and instance
 * roles...); `AWS_ENDPOINT_URL_SESV2`, `AWS_ENDPOINT_URL_SES` and `AWS_ENDPOINT_URL_STS` point
 * the clients elsewhere, as tests do. Every call is retried by the SDK in adaptive mode, each
 * attempt bounded by `timeoutMs`; what still fails is `UPSTREAM_UNAVAILABLE`.
 *
 * `create` leaves nothing behind when it fails: an identity it created is deleted again, and when
 * even that fails its name goes to `orphans` (when given) for the orphan sweeper.
 *
 * @example
 * const ses = new AwsSesIdentities(config.ses, logger, { record: (name) => sweeper.record(name) });
 * await ses.start();
 * const { dkimTokens, signingHostedZone } = await ses.create('example.com');
 */
export class AwsSesIdentities implements SesIdentities {
  readonly mode = 'aws';
  private readonly sesv2: SESv2Client;
  private readonly sesv1: SESClient;
  private readonly sts: STSClient;
  private readonly configurationSet: string;
  private readonly timeoutMs: number;
  private caller: CallerIdentity | undefined;
  /** Pending looks for identities of failed registrations; cleared by `close()`. */
  private readonly lateLooks = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    config: Config['ses'],
    private readonly logger?: Logger,
    private readonly orphans?: OrphanRecorder,
  ) {
    const clientConfig = {
      retryMode: 'adaptive' as const,
      maxAttempts: config.maxAttempts,
      requestHandler: {
        connectionTimeout: config.timeoutMs,
        requestTimeout: config.timeoutMs,
        throwOnRequestTimeout: true,
        // Bounds a response body that stalls after its headers arrived.
        socketTimeout: config.timeoutMs,
      },
    };
    this.sesv2 = new SESv2Client(clientConfig);
    this.sesv1 = new SESClient(clientConfig);
    this.sts = new STSClient(clientConfig);
    this.configurationSet = config.configurationSet;
    this.timeoutMs = config.timeoutMs;
  }

  /**
   * Resolves the region, the caller's partition and account (for identity ARNs) and creates the
   * configuration set when it is missing. Throws an `Error` naming the call that failed and why.
   */
  async start(): Promise<void> {
    const region = await startupStep(
      'Resolving the AWS region (set AWS_REGION or a profile region)',
      () => this.sesv2.config.region(),
    );
    const { Arn: arn, Account: account } = await startupStep('STS GetCallerIdentity', () =>
      this.sts.send(new GetCallerIdentityCommand({})),
    );
    const partition = arn?.split(':')[1];
    if (partition === undefined || partition === '' || account === undefined) {
      throw new Error('STS GetCallerIdentity failed: the answer has no ARN or account.');
    }

    await this.ensureConfigurationSet();

    this.caller = { partition, region, account };
  }

  async create(domainName: string): Promise<IdentityRegistration> {
    const caller = this.requireStarted();
    const nonce = randomUUID();

    const created = await this.createIdentity(domainName, nonce);

    try {
      const dkim = created.SigningHostedZone ? created : await this.getDkimAttributes(domainName);
      const dkimTokens = dkim.Tokens ?? [];
      const signingHostedZone = dkim.SigningHostedZone;
      if (dkimTokens.length !== 3 || signingHostedZone === undefined || signingHostedZone === '') {
        throw new ApiError(
          'UPSTREAM_UNAVAILABLE',
          'SES CreateEmailIdentity answered without three DKIM tokens and their hosted zone.',
        );
      }
      const verificationToken = await this.verifyDomainIdentity(domainName);

      return {
        identityArn: identityArn(caller, domainName),
        verificationToken,
        dkimTokens,
        signingHostedZone,
      };
    } catch (error) {
      await this.discard(domainName);
      throw error;
    }
  }

  async delete(domainName: string): Promise<void> {
    try {
      await this.sesv2.send(new DeleteEmailIdentityCommand({ EmailIdentity: domainName }));
    } catch (error) {
      if (errorName(error) === 'NotFoundException') {
        return;
      }
      throw upstreamError('DeleteEmailIdentity', error);
    }
  }

  /**
   * SES's verification status for one identity. An identity SES does not know (deleted outside
   * this service) can never verify, so it reads `Failed` with `sesStatus` `NOT_FOUND`.
   */
  async status(domainName: string): Promise<IdentityStatus> {
    let identity: GetEmailIdentityCommandOutput;
    try {
      identity = await this.sesv2.send(new GetEmailIdentityCommand({ EmailIdentity: domainName }));
    } catch (error) {
      if (errorName(error) === 'NotFoundException') {
        return { verificationStatus: 'Failed', sesStatus: 'NOT_FOUND' };
      }
      throw upstreamError('GetEmailIdentity', error);
    }

    const sesStatus =
      identity.VerificationStatus ?? (identity.VerifiedForSendingStatus ? 'SUCCESS' : 'PENDING');
    return {
      verificationStatus: STATUS_MAP[sesStatus] ?? 'Pending',
      sesStatus,
      dkimStatus: identity.DkimAttributes?.Status,
      verificationInfo: identity.VerificationInfo && {
        errorType: identity.VerificationInfo.ErrorType,
        lastCheckedAt: identity.VerificationInfo.LastCheckedTimestamp?.toISOString(),
        lastSuccessAt: identity.VerificationInfo.LastSuccessTimestamp?.toISOString(),
      },
    };
  }

  /** Closes the clients' connection pools and drops pending looks; calls after this fail. */
  close(): void {
    this.closed = true;
    for (const timer of this.lateLooks) {
      clearTimeout(timer);
    }
    this.lateLooks.clear();
    this.sesv2.destroy();
    this.sesv1.destroy();
    this.sts.destroy();
  }

  private requireStarted(): CallerIdentity {
    if (this.caller === undefined) {
      throw new Error('AwsSesIdentities.start() must finish before identities are managed.');
    }
    return this.caller;
  }

  private async ensureConfigurationSet(): Promise<void> {
    const name = this.configurationSet;
    try {
      await this.sesv2.send(new GetConfigurationSetCommand({ ConfigurationSetName: name }));
      return;
    } catch (error) {
      if (errorName(error) !== 'NotFoundException') {
        throw startupError('SES GetConfigurationSet', error);
      }
    }

    try {
      await this.sesv2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: name }));
      this.logger?.info({ configuration_set: name }, 'SES configuration set created');
    } catch (error) {
      // Another instance starting at the same moment created it first: just as good.
      if (errorName(error) !== 'AlreadyExistsException') {
        throw startupError('SES CreateConfigurationSet', error);
      }
    }
  }

  /** CreateEmailIdentity, telling our own identity from another's when the answer is ambiguous. */
  private async createIdentity(domainName: string, nonce: string): Promise<DkimAttributes> {
    try {
      const output = await this.sesv2.send(
        new CreateEmailIdentityCommand({
          EmailIdentity: domainName,
          ConfigurationSetName: this.configurationSet,
          Tags: [{ Key: CREATION_TAG, Value: nonce }],
        }),
      );
      return output.DkimAttributes ?? {};
    } catch (error) {
      if (errorName(error) === 'AlreadyExistsException') {
        // On a first attempt the identity is certainly someone else's; after a lost answer it
        // may be the one our earlier attempt created.
        if (attemptsOf(error) > 1) {
          const own = await this.findOwnIdentityOrLookLater(domainName, nonce);
          if (own !== undefined) {
            return own.DkimAttributes ?? {};
          }
        }
        throw new ApiError('CONFLICT', `SES already has an identity for ${domainName}.`, {
          cause: error,
        });
      }

      // An attempt may have reached SES before the one that failed for good.
      if (mayHaveCreated(error)) {
        await this.discardIfOwn(domainName, nonce);
      }
      throw upstreamError('CreateEmailIdentity', error);
    }
  }

  /** The identity when it carries this registration's nonce, else undefined. */
  private async findOwnIdentity(
    domainName: string,
    nonce: string,
  ): Promise<GetEmailIdentityCommandOutput | undefined> {
    try {
      const identity = await this.sesv2.send(
        new GetEmailIdentityCommand({ EmailIdentity: domainName }),
      );
      const tagged = identity.Tags?.some((tag) => tag.Key === CREATION_TAG && tag.Value === nonce);
      return tagged ? identity : undefined;
    } catch (error) {
      if (errorName(error) === 'NotFoundException') {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * `findOwnIdentity`, or `UPSTREAM_UNAVAILABLE` when SES cannot be asked; the registration is
   * failing then, and its identity, if any, is looked for again later.
   */
  private async findOwnIdentityOrLookLater(
    domainName: string,
    nonce: string,
  ): Promise<GetEmailIdentityCommandOutput | undefined> {
    try {
      return await this.findOwnIdentity(domainName, nonce);
    } catch (error) {
      this.lookLater(domainName, nonce, 0);
      throw upstreamError('GetEmailIdentity', error);
    }
  }

  /** Deletes the identity of a failed registration now, or later should SES create it late. */
  private async discardIfOwn(domainName: string, nonce: string): Promise<void> {
    const own = await this.findOwnIdentity(domainName, nonce).catch(() => undefined);
    if (own !== undefined) {
      await this.discard(domainName);
      return;
    }
    this.lookLater(domainName, nonce, 0);
  }

  /**
   * Looks for the identity tagged `nonce` after `LATE_LOOKS[step]` request timeouts, deletes it if
   * it is there, else looks again at the next step. Only an identity carrying this nonce is ever
   * deleted, so no lock on the name is needed: no other registration can own that tag.
   */
  private lookLater(domainName: string, nonce: string, step: number): void {
    const delay = LATE_LOOKS[step];
    if (this.closed || delay === undefined) {
      return;
    }

    const timer = setTimeout(() => {
      this.lateLooks.delete(timer);
      void this.lookAgain(domainName, nonce, step);
    }, delay * this.timeoutMs);
    timer.unref();
    this.lateLooks.add(timer);
  }

  private async lookAgain(domainName: string, nonce: string, step: number): Promise<void> {
    let own: GetEmailIdentityCommandOutput | undefined;
    try {
      own = await this.findOwnIdentity(domainName, nonce);
    } catch (error) {
      if (step + 1 === LATE_LOOKS.length && !this.closed) {
        this.logger?.error(
          { domain: domainName, aws_error: errorName(error) },
          'SES may hold an identity of a failed registration; delete it if no domain record has it',
        );
      }
    }

    if (own === undefined) {
      this.lookLater(domainName, nonce, step + 1);
      return;
    }
    this.logger?.info(
      { domain: domainName },
      'deleting the late SES identity of a failed registration',
    );
    await this.discard(domainName);
  }

  /** Deletes an identity this registration created; records it as an orphan when SES refuses. */
  private async discard(domainName: string): Promise<void> {
    try {
      await this.delete(domainName);
      return;
    } catch (error) {
      const cause = error instanceof ApiError ? error.cause : error;
      this.logger?.warn(
        { domain: domainName, aws_error: errorName(cause) },
        'could not delete the SES identity of a failed registration',
      );
    }

    if (this.orphans === undefined) {
      this.logger?.error({ domain: domainName }, 'SES identity left without a record');
      return;
    }
    await this.orphans.record(domainName);
  }

  private async getDkimAttributes(domainName: string): Promise<DkimAttributes> {
    try {
      const identity = await this.sesv2.send(
        new GetEmailIdentityCommand({ EmailIdentity: domainName }),
      );
      return identity.DkimAttributes ?? {};
    } catch (error) {
      throw upstreamError('GetEmailIdentity', error);
    }
  }

  private async verifyDomainIdentity(domainName: string): Promise<string> {
    let token: string | undefined;
    try {
      const output = await this.sesv1.send(new VerifyDomainIdentityCommand({ Domain: domainName }));
      token = output.VerificationToken;
    } catch (error) {
      throw upstreamError('VerifyDomainIdentity', error);
    }

    if (token === undefined || token === '') {
      throw new ApiError(
        'UPSTREAM_UNAVAILABLE',
        'SES VerifyDomainIdentity answered without a verification token.',
      );
    }
    return token;
  }
}

function identityArn(caller: CallerIdentity, domainName: string): string {
  return `arn:${caller.partition}:ses:${caller.region}:${caller.account}:identity/${domainName}`;
}

function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : 'Error';
}

/**
 * False only when SES refused the one attempt made with a 4xx answer: then it certainly created
 * nothing. A timeout, a lost connection or a 5xx leaves the outcome unknown, and so does any
 * failure after earlier attempts, which may have reached SES.
 */
function mayHaveCreated(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const refused = status !== undefined && status >= 400 && status < 500;
  return !refused || attemptsOf(error) > 1;
}

function attemptsOf(error: unknown): number {
  return (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
}

/** The client-facing error for a call SES failed; it names the call, never AWS's own message. */
function upstreamError(operation: string, error: unknown): ApiError {
  const attempts = attemptsOf(error);
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  return new ApiError(
    'UPSTREAM_UNAVAILABLE',
    `SES is unavailable: ${operation} failed after ${tries} (${errorName(error)}).`,
    { cause: error },
  );
}

async function startupStep<T>(call: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw startupError(call, error);
  }
}

function startupError(call: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${call} failed: ${errorName(error)}: ${redact(message)}`, { cause: error });
}

/**
 * Masks what could be a credential in an AWS message before it reaches a log or a terminal:
 * access key ids and 40-character secret-key-shaped strings.
 */
function redact(message: string): string {
  return message
    .replace(/\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|APKA)[A-Z0-9]{12,}\b/g, '[redacted]')
    .replace(/(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g, '[redacted]');
}
