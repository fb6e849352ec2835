/**
 * Reading a campaign's accounting, and closing it: a SENDING campaign whose fan-out is complete and whose queue is
 * empty becomes SENT. Whoever sees that first closes it: the worker that records the last outcome (see
 * `worker.ts`, which checks when its `handled` hint reaches N), or any reader (the status command, the send
 * result, the CLI's progress poll).
 */
import type { CampaignAccounting } from '../model.ts';
import type { CampaignRecord, CampaignRepository } from '../ports.ts';

/**
 * The campaign's accounting; closes it (SENDING → SENT) when the fan-out is complete and nothing is queued.
 * The closing decision is always taken on a strongly consistent read, so an eventually consistent page that
 * misses a just-parked pair cannot close a campaign early. Throws when the campaign does not exist.
 */
export async function readAccounting(
  campaigns: Pick<CampaignRepository, 'accounting' | 'setStatus' | 'get'>,
  campaignId: string,
  known?: CampaignRecord,
  options: { consistent?: boolean } = {},
): Promise<CampaignAccounting> {
  let a = await campaigns.accounting(campaignId, options);
  if (!a) throw new Error(`campaign ${campaignId} vanished`);
  if (a.status !== 'SENDING' || a.queued !== 0) return a;
  const record = known?.fanoutComplete ? known : await campaigns.get(campaignId);
  if (!record?.fanoutComplete) return a;
  if (!options.consistent) {
    a = (await campaigns.accounting(campaignId, { consistent: true })) ?? a;
    if (a.status !== 'SENDING' || a.queued !== 0) return a;
  }
  if (await campaigns.setStatus(campaignId, ['SENDING'], 'SENT')) a.status = 'SENT';
  // Lost the race to another closer (the worker that recorded the last outcome): report what it wrote.
  else a.status = (await campaigns.get(campaignId))?.status ?? a.status;
  return a;
}
