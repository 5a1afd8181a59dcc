// A reader that stops reading (`dbsync webhook failed --json | head -1`) closes the pipe, and the
// next write fails with EPIPE, which Bun reports with a stack trace. Output cut short by its reader
// is no failure of ours: there is nobody left to tell anything.
import { stopGracefully } from "./shutdown.ts";

/** 128 + SIGPIPE: what a shell shows for a program its pipe's reader left, and what supervisors restart. */
export const READER_GONE_EXIT = 141;

let stoppedForTheReader = false;

export function endQuietlyWhenTheReaderLeaves(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
      // Whatever else is written there goes nowhere, quietly.
      stream.write = (() => true) as typeof stream.write;
      if (stream !== process.stdout || stoppedForTheReader) return;
      // Work that can stop (a sync, a replay, the server) stops as on SIGTERM: its current write
      // finished and its checkpoint kept. Anything else has nothing left to do.
      if (stopGracefully("the reader of the output has gone")) stoppedForTheReader = true;
      else process.exit(process.exitCode ?? 0);
    });
  }
}

/** Whether running work was stopped because its output's reader left (it then ends with 141). */
export function stoppedBecauseTheReaderLeft(): boolean {
  return stoppedForTheReader;
}
