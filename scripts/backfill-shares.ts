/**
 * `npx tsx scripts/backfill-shares.ts [--dry-run] [--meetings-table NAME] [--shares-table NAME]`
 *
 * Once, after deploying the version that added the shares table: lists in "shared with me" the
 * meetings shared before it existed (core/meetings/share-backfill.ts; runbook in
 * docs/operations.md). Table names default to $MEETINGS_TABLE and $SHARES_TABLE; AWS credentials
 * and region come from the usual AWS environment (locally, the emulator endpoints of
 * `npm start`'s environment).
 */
import { destroyClients } from '../core/clients/lifecycle';
import { backfillShares } from '../core/meetings/share-backfill';

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const dryRun = process.argv.includes('--dry-run');
  const meetingsTable = arg('meetings-table') ?? process.env.MEETINGS_TABLE;
  const sharesTable = arg('shares-table') ?? process.env.SHARES_TABLE;
  if (!meetingsTable || !sharesTable) {
    process.stderr.write(
      'backfill-shares: name both tables (--meetings-table and --shares-table, or MEETINGS_TABLE and SHARES_TABLE)\n',
    );
    process.exitCode = 2;
    return;
  }
  const report = await backfillShares({
    meetingsTable,
    sharesTable,
    dryRun,
    onPage: (r) =>
      process.stderr.write(`… ${r.scanned} meetings read, ${r.created} shares to write so far\n`),
  });
  process.stdout.write(
    `${dryRun ? 'Dry run: ' : ''}${report.scanned} meetings read, ${report.sharedMeetings} shared; ` +
      `share items ${dryRun ? 'missing' : 'written'}: ${report.created}, already there: ${report.existing}` +
      `${report.skipped ? `, skipped (not a user id): ${report.skipped}` : ''}\n`,
  );
}

main()
  .catch((error: unknown) => {
    process.stderr.write(
      `backfill-shares failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  })
  .finally(() => destroyClients());
