// How one campaign of `dbsync run` speaks: the label that starts its console lines, the fields that
// name it in JSON lines, and its own log file, named as `sync` names them.
import type { ConsolaInstance } from "consola";
import { displayUrl } from "../campaign/webhook.ts";
import { consolaLevel, createLogger } from "./logger.ts";
import { createLogFile } from "./paths.ts";
import type { RunCampaign, RunConfig } from "./run-config.ts";
import { campaignFileStem } from "./sync-command.ts";

/** `ABC123 db_sync → postgres://dbsync@db/calls`: which campaign a console line is about. */
export function labelOf({ config }: RunCampaign): string {
  return `${config.campaign} ${config.mode}${config.url ? ` → ${displayUrl(config.url)}` : ""}`;
}

/** Its own file, named as `sync` names it, so an operator reads or tails one campaign at a time. */
export function campaignLog({ config }: RunCampaign, { logFormat, logKeepDays }: RunConfig): ConsolaInstance {
  const logFile = createLogFile(`${campaignFileStem(config.campaign)}_${config.mode}`);
  // Nothing to the console: the process says one line per start, failure and end for every campaign.
  return createLogger({
    verbose: false,
    level: consolaLevel(config.logLevel),
    logFile,
    consoleLevel: -1,
    format: logFormat,
    context: { campaign: config.campaign, mode: config.mode },
    keepDays: logKeepDays,
  });
}

/** A console line's fields naming its campaign, for the JSON log format. */
export function aboutCampaign({ config }: RunCampaign): { campaign: string; mode: string } {
  return { campaign: config.campaign, mode: config.mode };
}
