// SIGINT/SIGTERM stop the work gracefully (the pipeline finishes its current write and keeps its
// checkpoint); a second signal ends the process at once.
let controller: AbortController | undefined;

let notice: (line: string) => void = (line) => process.stderr.write(`\n${line}\n`);

/** How the signal's line is written: a JSON log says it as one of its lines. */
export function setShutdownNotice(write: (line: string) => void): void {
  notice = write;
}

export function onShutdown(): AbortSignal {
  if (controller) return controller.signal;
  const current = new AbortController();
  controller = current;
  const stop = (signal: NodeJS.Signals) => {
    if (current.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    notice(`${signal} received: stopping after the current step (again to force)`);
    current.abort(new Error(`stopped by ${signal}`));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return current.signal;
}

/**
 * Stops the work as SIGTERM does, when something runs that listens (false otherwise). Used when the
 * output's reader has gone: nobody is left to see the message, so none is written.
 */
export function stopGracefully(reason: string): boolean {
  if (!controller) return false;
  if (!controller.signal.aborted) controller.abort(new Error(reason));
  return true;
}
