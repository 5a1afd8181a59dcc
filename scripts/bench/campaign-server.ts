// Many simulated campaigns behind one HTTP server: the simulator's app serves one campaign under
// /api/campaigns/:cid/…, so each request goes to the app of the campaign its path names. One server
// for hundreds of campaigns keeps the bench process from holding hundreds of listening sockets.
import { type Campaign, createCampaign } from "../../src/simulator/campaign.ts";
import { createSimulatorApp, type SimulatorApp } from "../../src/simulator/app.ts";
import { TOKEN } from "./children.ts";

export interface CampaignServer {
  /** The api_url of every campaign. */
  url: string;
  campaigns: Campaign[];
  /** New calls in one campaign after the other, one campaign every `everyMs`, until `pauseActivity`. */
  startActivity(everyMs: number): void;
  pauseActivity(): void;
  stop(): Promise<void>;
}

const CAMPAIGN_PATH = /^\/api\/campaigns\/([^/]+)/;

export function serveCampaigns(ids: readonly string[], contacts: number, seed: number): CampaignServer {
  const md5 = (text: string) => Bun.CryptoHasher.hash("md5", text, "hex") as string;
  const campaigns = ids.map((campaignId, index) => createCampaign({ campaignId, contacts, seed: seed + index, md5 }));
  const apps = new Map<string, SimulatorApp>(
    campaigns.map((campaign, index) => [campaign.id, createSimulatorApp(campaign, { token: TOKEN, faultSeed: seed + index })]),
  );
  // Small campaigns: hashed and indexed before the first replica asks.
  for (const campaign of campaigns) while (campaign.warmUp()) {}
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(request) {
      const id = CAMPAIGN_PATH.exec(new URL(request.url).pathname)?.[1];
      const app = id === undefined ? undefined : apps.get(decodeURIComponent(id));
      return app ? app.fetch(request) : Response.json({ error: "no such campaign" }, { status: 404 });
    },
  });
  let timer: ReturnType<typeof setInterval> | undefined;
  let next = 0;
  return {
    url: `http://127.0.0.1:${server.port}`,
    campaigns,
    startActivity(everyMs) {
      clearInterval(timer);
      timer = setInterval(() => {
        campaigns[next % campaigns.length]?.tick();
        next++;
      }, everyMs);
    },
    pauseActivity: () => clearInterval(timer),
    async stop() {
      clearInterval(timer);
      await server.stop(true);
    },
  };
}
