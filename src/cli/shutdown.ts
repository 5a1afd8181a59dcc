// SIGINT/SIGTERM stop the work gracefully (the pipeline finishes its current write and keeps its
// checkpoint); a second signal ends the process at once.
let controller: AbortController | undefined;

export function onShutdown(): AbortSignal {
  if (controller) return controller.signal;
  const current = new AbortController();
  controller = current;
  const stop = (signal: NodeJS.Signals) => {
    if (current.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    process.stderr.write(`\n${signal} received: stopping after the current step (again to force)\n`);
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
