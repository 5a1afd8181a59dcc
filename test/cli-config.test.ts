// Flag handling of the original's command line, in-process (the e2e tests run the real binary).
import { describe, expect, test } from "bun:test";
import { inUserTerms, normaliseFlags, routeSubcommand, UsageError, withEnvironment } from "../src/cli/argv.ts";
import { checkMappingFile } from "../src/core/talkdesk/contact-mapping.ts";
import { redact, addSecret } from "../src/cli/logger.ts";
import { parseStartDate, parseSyncConfig, SYNC_FLAGS } from "../src/cli/sync-config.ts";

describe("argv", () => {
  test("flat flags of the original mean the sync subcommand", () => {
    const commands = ["sync", "simulate", "demo"];
    expect(routeSubcommand(["--a", "db_sync"], commands)).toEqual(["sync", "--a", "db_sync"]);
    expect(routeSubcommand(["-a", "db_sync"], commands)).toEqual(["sync", "-a", "db_sync"]);
    expect(routeSubcommand(["simulate", "--port", "1"], commands)).toEqual(["simulate", "--port", "1"]);
  });

  test("one or two dashes, = or a space", () => {
    expect(normaliseFlags(["-c", "X", "--ct=Y", "-fm", "updates_only", "-v"], SYNC_FLAGS)).toEqual([
      "--c",
      "X",
      "--ct=Y",
      "--fm",
      "updates_only",
      "--v",
    ]);
  });

  test("a value that starts with a dash belongs to its flag", () => {
    expect(normaliseFlags(["--tp", "-x"], SYNC_FLAGS)).toEqual(["--tp", "-x"]);
  });

  test("`--v true` is read as --v=true, as a pflag user means it", () => {
    expect(normaliseFlags(["--v", "true", "--c", "X"], SYNC_FLAGS)).toEqual(["--v=true", "--c", "X"]);
  });

  test("unknown flags and missing values are refused loudly", () => {
    expect(() => normaliseFlags(["--campaign", "X"], SYNC_FLAGS)).toThrow(UsageError);
    expect(() => normaliseFlags(["--campaign", "X"], SYNC_FLAGS)).toThrow("unknown flag --campaign");
    expect(() => normaliseFlags(["--c"], SYNC_FLAGS)).toThrow("--c needs a value");
    expect(() => normaliseFlags(["--no-c", "X"], SYNC_FLAGS)).toThrow("unknown flag");
  });

  test("a mistyped flag is named without its value, which may be a token", () => {
    expect(() => normaliseFlags(["--CT=SECRET-TOKEN-123"], SYNC_FLAGS)).toThrow(/^unknown flag --CT \(/);
  });

  test("DBSYNC_<FLAG> fills what the command line left out (the original looked for DBSYNC<FLAG>); the command line wins", () => {
    const env = { DBSYNC_CT: "from-env", DBSYNC_C: "ENVCAMP", DBSYNC_API_URL: "http://x", DBSYNC_V: "1", DIALFIRE_TP: "dfire_" };
    expect(withEnvironment({ c: "CLI" }, SYNC_FLAGS, env)).toMatchObject({
      c: "CLI",
      ct: "from-env",
      "api-url": "http://x",
      v: true,
      tp: "dfire_",
    });
    expect(() => withEnvironment({}, SYNC_FLAGS, { DBSYNC_V: "maybe" })).toThrow("DBSYNC_V must be true or false");
    expect(() => withEnvironment({}, SYNC_FLAGS, { DIALFIRE_V: "maybe" })).toThrow("DIALFIRE_V must be true or false");
  });
});

describe("sync config", () => {
  const base = { a: "db_sync", c: "CAMP", ct: "token" };

  test("defaults of the original", () => {
    const config = parseSyncConfig(base);
    expect(config).toMatchObject({
      workers: 32,
      logLevel: 4,
      tablePrefix: "",
      intervalSeconds: 60,
      webhook: { rate: 5, burst: 10, attempts: 10, retryWaitSeconds: 1, timeoutSeconds: 30, signingKey: undefined },
    });
    expect(config.filterMode).toBeUndefined();
  });

  test("clear messages for missing or invalid values", () => {
    expect(() => parseSyncConfig({ c: "X", ct: "Y" })).toThrow("the mode (--a) is required");
    expect(() => parseSyncConfig({ ...base, a: "db_sink" })).toThrow("invalid mode --a db_sink");
    expect(() => parseSyncConfig({ ...base, c: " " })).toThrow("campaign ID (--c) is required");
    expect(() => parseSyncConfig({ ...base, ct: undefined })).toThrow("Sync Client token (--ct) is required");
    expect(() => parseSyncConfig({ ...base, fm: "humans" })).toThrow("invalid filter mode --fm humans");
    expect(() => parseSyncConfig({ ...base, w: "many" })).toThrow("--w must be a whole number");
    expect(() => parseSyncConfig({ ...base, w: "0" })).toThrow("--w must be at least 1");
    expect(() => parseSyncConfig({ ...base, interval: "-1" })).toThrow("--interval must be a number of seconds");
    expect(() => parseSyncConfig({ ...base, tp: "x; drop table" })).toThrow("--tp may contain");
    expect(() => parseSyncConfig({ ...base, s: "yesterday" })).toThrow("--s must be a date like 2018-02-01");
    expect(() => parseSyncConfig({ ...base, s: "2018-02-30" })).toThrow("--s must be a date like 2018-02-01");
    expect(() => parseSyncConfig({ ...base, interval: "9999999" })).toThrow("--interval must be at most 86400");
    expect(() => parseSyncConfig({ ...base, relist: "48" })).toThrow("--relist must be at most 24");
  });

  test("filters and prefixes", () => {
    const config = parseSyncConfig({ ...base, fm: "hi_updates_only", fp: "fc_,qc_" });
    expect(config.filterMode).toBe("hi_updates_only");
    expect(config.taskPrefixes).toEqual(["fc_", "qc_"]);
    expect(config.taskPrefixesRaw).toBe("fc_,qc_");
  });

  test("start dates in the shapes the original accepted, as UTC", () => {
    expect(parseStartDate("2018-02-01").toISOString()).toBe("2018-02-01T00:00:00.000Z");
    expect(parseStartDate("2018-02-01T15:04:05").toISOString()).toBe("2018-02-01T15:04:05.000Z");
    expect(parseStartDate("2018-02-01T15:04:05.5Z").toISOString()).toBe("2018-02-01T15:04:05.500Z");
    expect(parseStartDate("2018-02-01T15:04:05+02:00").toISOString()).toBe("2018-02-01T13:04:05.000Z");
    expect(parseStartDate("2024-02-29").toISOString()).toBe("2024-02-29T00:00:00.000Z");
    expect(() => parseStartDate("2018-13-01")).toThrow();
  });
});

test("secrets and URL passwords never reach the output (the original logged the database URL with its password)", () => {
  addSecret("tok-123456");
  expect(redact("token tok-123456 in postgres://user:p%40ss@host/db")).toBe("token *** in postgres://user:***@host/db");
});

describe("webhook flags", () => {
  const base = { a: "webhook", c: "CAMP", ct: "token", url: "https://example.com/api/transactions/" };
  const secret = `whsec_${Buffer.from("sixteen+ bytes of key").toString("base64")}`;

  test("the receiver URL is required and must be absolute http(s); its value is never echoed", () => {
    expect(parseSyncConfig(base).url).toBe("https://example.com/api/transactions/");
    expect(() => parseSyncConfig({ ...base, url: undefined })).toThrow("webhook mode needs --url");
    expect(() => parseSyncConfig({ ...base, url: "example.com/hook" })).toThrow("--url in webhook mode must be");
    expect(() => parseSyncConfig({ ...base, url: "ftp://example.com/" })).toThrow("(not ftp:)");
    expect(() => parseSyncConfig({ ...base, url: "user:pass-secret@host" })).not.toThrow("pass-secret");
  });

  test("rate, burst, attempts, waits and the secret", () => {
    const config = parseSyncConfig({
      ...base,
      wr: "20",
      retries: "3",
      "retry-wait": "0.5",
      "webhook-timeout": "5",
      "webhook-secret": secret,
    });
    expect(config.webhook).toMatchObject({ rate: 20, burst: 40, attempts: 3, retryWaitSeconds: 0.5, timeoutSeconds: 5, secret });
    expect(config.webhook.signingKey).toEqual(new Uint8Array(Buffer.from("sixteen+ bytes of key")));
    expect(parseSyncConfig({ ...base, wr: "0", wb: "7" }).webhook).toMatchObject({ rate: 5, burst: 7 });
  });

  test("bad values name their flag", () => {
    expect(() => parseSyncConfig({ ...base, retries: "0" })).toThrow("--retries must be at least 1");
    expect(() => parseSyncConfig({ ...base, retries: "ten" })).toThrow("--retries must be a whole number");
    expect(() => parseSyncConfig({ ...base, "retry-wait": "-1" })).toThrow("--retry-wait must be a number of seconds");
    expect(() => parseSyncConfig({ ...base, "webhook-timeout": "0" })).toThrow("--webhook-timeout must be more than 0");
    expect(() => parseSyncConfig({ ...base, "webhook-secret": "short" })).toThrow("--webhook-secret: the webhook secret must be whsec_");
  });

  test("in the database modes --url stays a database URL", () => {
    expect(parseSyncConfig({ ...base, a: "db_init", url: "file:x.db" }).url).toBe("file:x.db");
  });
});

describe("messages in the user's terms", () => {
  test("a value from the environment is named by its variable, one from the command line by its flag", () => {
    withEnvironment({ c: "X" }, SYNC_FLAGS, { DIALFIRE_INTERVAL: "abc", DBSYNC_URL: "postgres://h:x/db" });
    expect(inUserTerms("--interval must be a number of seconds")).toBe("DIALFIRE_INTERVAL must be a number of seconds");
    expect(inUserTerms("--url: bad port; --c is fine; --interval-x is another flag")).toBe(
      "DBSYNC_URL: bad port; --c is fine; --interval-x is another flag",
    );
    withEnvironment({}, SYNC_FLAGS, {});
    expect(inUserTerms("--interval must be a number of seconds")).toBe("--interval must be a number of seconds");
  });

  test("a switch takes only true or false as its value", () => {
    expect(normaliseFlags(["--v=0", "--p=yes"], SYNC_FLAGS)).toEqual(["--v=false", "--p=true"]);
    expect(() => normaliseFlags(["--v=maybe"], SYNC_FLAGS)).toThrow('--v must be true or false (got "maybe")');
  });

  test("--api-url must be an absolute http(s) URL", () => {
    const base = { a: "db_init", c: "CAMP", ct: "token" };
    expect(parseSyncConfig({ ...base, "api-url": "http://127.0.0.1:18461" }).apiUrl).toBe("http://127.0.0.1:18461");
    expect(() => parseSyncConfig({ ...base, "api-url": "127.0.0.1:18461" })).toThrow("--api-url must start with http:// or https://");
    expect(() => parseSyncConfig({ ...base, "api-url": "ftp://x" })).toThrow("--api-url must be an http:// or https:// URL, not ftp:");
    const withPassword = (() => {
      try {
        parseSyncConfig({ ...base, "api-url": "http://user:pw-secret@h:port/" });
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(withPassword).toStartWith("--api-url is not a valid URL");
    expect(withPassword).not.toContain("pw-secret");
  });

  test("a Talkdesk mapping file's faults name the key and what it takes, never a validator's words", () => {
    const cases: [unknown, string][] = [
      [
        { bogus: "x" },
        'unknown key "bogus"; the keys are name, company, title, emails, phones, photo_url, address, websites, twitter, url',
      ],
      [{ name: 5 }, 'name: must be a column name or a list of column names, e.g. "Handy" or ["$phone", "Handy"]'],
      [{ phones: ["$phone", null] }, 'phones: must be a column name or a list of column names, e.g. "Handy" or ["$phone", "Handy"]'],
      [{ url: 5 }, "url: must be a link containing {id}"],
      [{ url: "https://crm/x" }, "url: must contain {id}"],
      ["text", 'must be a JSON object like {"phones": ["$phone", "Handy"]}'],
      [null, 'must be a JSON object like {"phones": ["$phone", "Handy"]}'],
    ];
    for (const [value, error] of cases) expect(checkMappingFile(value)).toEqual({ error });
    expect(checkMappingFile({ phones: "Handy", url: "https://crm/{id}" })).toEqual({
      mapping: { phones: ["Handy"], url: "https://crm/{id}" },
    });
  });
});
