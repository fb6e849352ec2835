/**
 * Reading a campaign's accounting, and closing it: a SENDING campaign whose fan-out is complete and whose queue is
 * empty becomes SENT when its accounting is read (the status command, the send result, the CLI's progress poll).
 */
import type { CampaignAccounting } from '../model.ts';
import type { CampaignRecord, CampaignRepository } from '../ports.ts';

export async function readAccounting(
  campaigns: Pick<CampaignRepository, 'accounting' | 'setStatus' | 'get'>,
  campaignId: string,
  known?: CampaignRecord,
): Promise<CampaignAccounting> {
  const a = await campaigns.accounting(campaignId);
  if (!a) throw new Error(`campaign ${campaignId} vanished`);
  const record = known ?? (await campaigns.get(campaignId));
  if (a.status === 'SENDING' && a.queued === 0 && record?.fanoutComplete) {
    if (await campaigns.setStatus(campaignId, ['SENDING'], 'SENT')) a.status = 'SENT';
  }
  return a;
}
