// Small assertions the dialect tests share.
import { expect } from "bun:test";

/** The error a promise rejects with (and that it is of `type`); fails the test when it resolves. */
export async function rejectedWith<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (outcome === undefined) throw new Error("expected a rejection");
  expect(outcome).toBeInstanceOf(type);
  return outcome as E;
}

/** Polls `check` until it holds: for states of a server, instead of sleeping for a guessed time. */
export async function waitFor(what: string, check: () => Promise<boolean>, seconds = 15): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${seconds} s in vain until ${what}`);
    await Bun.sleep(20);
  }
}
