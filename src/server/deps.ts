// What the app needs, built over one target database: the same for `dbsync serve` and the edge
// entry points, which differ only in where tokens, checkpoints and settings come from.
import { type MappingFile, resolveMapping } from "../core/talkdesk/contact-mapping.ts";
import type { Dialect } from "../core/sql/dialect.ts";
import type { PhoneIndex } from "../core/phonecalls/phone-index.ts";
import { openPhonecallService } from "../core/phonecalls/service.ts";
import type { ServerDeps } from "../server.ts";
import type { TalkdeskSettings } from "./talkdesk.ts";

export interface ServeSettings {
  /** Table-name prefix the sync uses (`--tp`). */
  prefix: string;
  talkdesk: TalkdeskSettings;
}

export interface ServeSources {
  /** SHA-256 hashes of the phonecalls tokens allowed now. */
  tokenHashes: () => Promise<readonly string[]>;
  checkpoints: ServerDeps["checkpoints"];
  /** Checks beyond the target database for `/readyz` (the state store, say). */
  ready?: () => Promise<void>;
  onError: (error: unknown) => void;
}

export function serverDeps(dialect: Dialect, settings: ServeSettings, sources: ServeSources): { deps: ServerDeps; phoneIndex: PhoneIndex } {
  const mapping: MappingFile | undefined = settings.talkdesk.mapping;
  const { service, contacts } = openPhonecallService(dialect, settings.prefix, {
    phoneColumns: (columns) => resolveMapping(columns, mapping).phones,
    settleMs: settings.talkdesk.settleMs,
    onError: sources.onError,
  });
  const deps: ServerDeps = {
    contacts,
    phonecalls: { service, tokenHashes: sources.tokenHashes },
    checkpoints: sources.checkpoints,
    talkdesk: settings.talkdesk,
    ready: async () => {
      await dialect.all("SELECT 1");
      await sources.ready?.();
    },
    onError: sources.onError,
  };
  return { deps, phoneIndex: service.index };
}
