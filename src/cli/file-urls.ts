// Local file URLs as every command reads them.
import { resolve } from "node:path";

/** `file:` paths are made absolute so the checkpoint of a target does not depend on the working directory. */
export function absoluteFileUrl(url: string): string {
  if (url.startsWith("file:") && !url.startsWith("file://")) {
    const [path = "", query] = url.slice(5).split("?");
    return `file:${resolve(path)}${query ? `?${query}` : ""}`;
  }
  if (/^[^:]+\.(db|sqlite|sqlite3)$/i.test(url)) return `file:${resolve(url)}`;
  return url;
}
