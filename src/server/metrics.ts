// Counters of the server and the sync's progress in the Prometheus text format.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { Checkpoint, CheckpointKey } from "../core/state/state.ts";

export class Metrics {
  private readonly requests = new Map<string, number>();
  phonecallsCreated = 0;
  talkdeskPages = 0;

  private readonly aborts = new Map<string, number>();

  request(route: string, status: number): void {
    const key = `${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  /** A request whose client hung up before its answer: no status was given to anyone. */
  clientAbort(route: string): void {
    this.aborts.set(route, (this.aborts.get(route) ?? 0) + 1);
  }

  /** The exposition text; checkpoints give the last sync time and lag per campaign and mode. */
  render(checkpoints: readonly (CheckpointKey & Checkpoint)[], now = Date.now()): string {
    const lines: string[] = [
      "# HELP dbsync_http_requests_total HTTP requests answered, by route and status.",
      "# TYPE dbsync_http_requests_total counter",
    ];
    for (const [key, n] of [...this.requests].sort()) {
      const [route, status] = key.split("\u0000");
      lines.push(`dbsync_http_requests_total{route="${label(route ?? "")}",status="${status}"} ${n}`);
    }
    lines.push(
      "# HELP dbsync_http_client_aborts_total Requests whose client closed the connection before the answer, by route.",
      "# TYPE dbsync_http_client_aborts_total counter",
    );
    for (const [route, n] of [...this.aborts].sort()) lines.push(`dbsync_http_client_aborts_total{route="${label(route)}"} ${n}`);
    lines.push(
      "# HELP dbsync_phonecalls_created_total Phonecalls created (duplicates not counted).",
      "# TYPE dbsync_phonecalls_created_total counter",
      `dbsync_phonecalls_created_total ${this.phonecallsCreated}`,
      "# HELP dbsync_talkdesk_pages_total Pages of contacts served to Talkdesk.",
      "# TYPE dbsync_talkdesk_pages_total counter",
      `dbsync_talkdesk_pages_total ${this.talkdeskPages}`,
      "# HELP dbsync_sync_last_checkpoint_timestamp_seconds When a sync last saved its checkpoint.",
      "# TYPE dbsync_sync_last_checkpoint_timestamp_seconds gauge",
    );
    const synced = checkpoints.filter((c) => !c.mode.includes("origin"));
    for (const c of synced) lines.push(`dbsync_sync_last_checkpoint_timestamp_seconds{${labels(c)}} ${seconds(Date.parse(c.updatedAt))}`);
    lines.push("# HELP dbsync_sync_lag_seconds How far the sync's checkpoint is behind now.", "# TYPE dbsync_sync_lag_seconds gauge");
    for (const c of synced) lines.push(`dbsync_sync_lag_seconds{${labels(c)}} ${seconds(now - Date.parse(c.value))}`);
    return `${lines.join("\n")}\n`;
  }
}

/** The target as a short hash: its URL (host, user, database) is nobody's business on /metrics. */
function labels(c: CheckpointKey): string {
  const target = bytesToHex(sha256(utf8ToBytes(c.target))).slice(0, 8);
  return `campaign="${label(c.campaign)}",mode="${label(c.mode)}",target="${target}"`;
}

function seconds(ms: number): string {
  return Number.isFinite(ms) ? (ms / 1000).toFixed(3) : "NaN";
}

/** Label values escaped as the text format requires. */
function label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
