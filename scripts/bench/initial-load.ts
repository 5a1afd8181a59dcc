// 1. Initial load: db_init of a simulated campaign into each database, next to the ceiling of the
//    same rows written without the API (ceiling.ts), measured in the same run.
import { expectedRows } from "../../test/helpers/compare.ts";
import type { Row } from "../../src/core/sql/dialect.ts";
import { parseJsonExact } from "../../src/core/common/exact-json.ts";
import { FieldListSchema } from "../../src/core/dialfire/schemas.ts";
import type { CampaignField, Contact } from "../../src/core/sync/source.ts";
import { TABLE_KEYS, type TableKey } from "../../src/core/sync/tables.ts";
import { createCampaign } from "../../src/simulator/campaign.ts";
import * as v from "valibot";
import { ceilingSeconds, type DatabaseKind } from "./ceiling.ts";
import { CAMPAIGN, type Measured, measureCli, scratch, simulatorProcess, syncArgs } from "./children.ts";

export interface LoadResult {
  database: DatabaseKind;
  contacts: number;
  rows: Record<TableKey, number> & { total: number };
  seconds: number;
  rowsPerSecond: number;
  rowsPerSecondByTable: Record<TableKey, number>;
  peakRssMb: number;
  ceilingSeconds?: number;
  ceilingRowsPerSecond?: number;
  /** Our throughput as a share of the ceiling's. */
  ofCeiling?: number;
}

export interface Campaign {
  contacts: number;
  seed: number;
  fields: CampaignField[];
  rows: Record<TableKey, Row[]>;
}

/** The rows db_init writes for this simulated campaign, made in this process without the API. */
export function campaignRows(contacts: number, seed: number): Campaign {
  const campaign = createCampaign({
    campaignId: CAMPAIGN,
    contacts,
    seed,
    md5: (text) => new Bun.CryptoHasher("md5").update(text).digest("hex"),
  });
  // Through JSON as the API delivers them, so that values are those the sync sees.
  const delivered = campaign.contacts().map((c) => parseJsonExact(JSON.stringify(c)) as Contact);
  const fields = v.parse(FieldListSchema, campaign.fields()) as CampaignField[];
  return { contacts, seed, fields, rows: expectedRows(delivered, campaign.inboundCalls(), {}) };
}

function counts(campaign: Campaign): Record<TableKey, number> & { total: number } {
  const byTable = Object.fromEntries(TABLE_KEYS.map((key) => [key, campaign.rows[key].length])) as Record<TableKey, number>;
  return { ...byTable, total: TABLE_KEYS.reduce((sum, key) => sum + byTable[key], 0) };
}

/** db_init into `url` (fresh), then the ceiling into the same database under another prefix. */
export async function initialLoad(
  database: DatabaseKind,
  url: string,
  campaign: Campaign,
  options: { ceiling: boolean },
): Promise<LoadResult> {
  const simulator = await simulatorProcess(campaign.contacts, campaign.seed);
  let run: Measured;
  try {
    run = await measureCli(syncArgs("db_init", simulator.url, url, `file:${scratch("state")}/state.db`));
  } finally {
    await simulator.stop();
  }
  const rows = counts(campaign);
  const written = /rows in the target: (.*)/.exec(run.output)?.[1] ?? "";
  for (const key of TABLE_KEYS) {
    const stored = Number(new RegExp(`${key} ([\\d,]+)`).exec(written)?.[1]?.replaceAll(",", "") ?? Number.NaN);
    if (stored !== rows[key]) throw new Error(`${database}: db_init left ${stored} ${key} rows, the campaign has ${rows[key]}`);
  }
  const result: LoadResult = {
    database,
    contacts: campaign.contacts,
    rows,
    seconds: run.seconds,
    rowsPerSecond: rows.total / run.seconds,
    rowsPerSecondByTable: Object.fromEntries(TABLE_KEYS.map((key) => [key, rows[key] / run.seconds])) as Record<TableKey, number>,
    peakRssMb: run.maxRss / 2 ** 20,
  };
  if (!options.ceiling) return result;
  const seconds = await ceilingSeconds(database, url, "ceiling_", campaign.fields, campaign.rows);
  return { ...result, ceilingSeconds: seconds, ceilingRowsPerSecond: rows.total / seconds, ofCeiling: seconds / run.seconds };
}
