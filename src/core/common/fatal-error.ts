/**
 * An error no retry can mend (a refused token, a state store that cannot be written): a long-running
 * sync stops at once instead of trying the same thing again every cycle. Error classes of that kind
 * extend this one, so that the pipeline recognises them by class, not by their name.
 */
export class FatalError extends Error {}
