// One replica in a race for leases, as its own process: opens the state store at argv[2], waits for
// the moment argv[5] (epoch ms, so that every racer starts together), then tries to take each of the
// leases argv[4]-0 … argv[4]-(argv[6]-1) as owner argv[3], and prints the names it got as JSON.
import { openStateStore } from "../../src/state/open.ts";

const [url = "", owner = "", prefix = "", startAt = "0", count = "0"] = process.argv.slice(2);
const store = await openStateStore(url);
await Bun.sleep(Math.max(0, Number(startAt) - Date.now()));
const names = Array.from({ length: Number(count) }, (_, i) => `${prefix}-${i}`);
const got = await Promise.all(names.map(async (name) => ((await store.leases.acquire(name, owner, 60_000)) ? name : undefined)));
await store.close();
console.log(JSON.stringify(got.filter((name) => name !== undefined)));
