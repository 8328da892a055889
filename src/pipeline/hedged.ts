/**
 * One round of a hedging group (issue 3, "Hedging"). The deployments are
 * tried in order, as in plain failover; but when the attempt running alone
 * has no first byte after its hedge delay (the deployment's learned
 * percentile, or the configured delay), a twin of the request starts on the
 * next deployment, if the group's hedge budget allows. The first attempt to
 * produce a first byte takes the response and the other is aborted at once.
 *
 * "First byte" is the first byte the client would receive: a stream's first
 * content event (the relay holds everything before it, so a stream that sent
 * headers or a `message_start` but no content can still lose), or a JSON
 * answer's complete body. Until then nothing reached the client, so either
 * attempt can still win.
 *
 * The loser is not a failure of its deployment: its in-flight slot is
 * released with no outcome, and its entry in `summary.attempts` reads
 * `error: 'hedge_lost'`. The twin's entry has `hedge: true`.
 */
import { GatewayError } from '../errors.ts';
import type { PreparedProvider } from '../providers/index.ts';
import { DENIED, type HedgePolicy, type Ticket } from '../resilience/index.ts';
import {
  ABORTED,
  ANSWERED,
  noteFailure,
  recordAttempt,
  roundMs,
  runAttempt,
  type AttemptOutcome,
  type AttemptRecord,
  type Contender,
  type RequestRun,
  type RoundTally,
} from './attempt.ts';

const HEDGE_DUE = Symbol('hedge due');
const LOST = new GatewayError('SWY_ERR_UPSTREAM_STREAM_ABORTED', 'A hedged attempt answered first.');

type Settled = { racer: Racer; outcome: AttemptOutcome };

/** One attempt in the race. */
class Racer implements Contender {
  readonly controller = new AbortController();
  readonly entry: AttemptRecord;
  readonly sentAt: number;
  readonly #claim: (racer: Racer) => boolean;
  settled = false;
  done!: Promise<Settled>;

  constructor(entry: AttemptRecord, sentAt: number, claim: (racer: Racer) => boolean) {
    this.entry = entry;
    this.sentAt = sentAt;
    this.#claim = claim;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  claim(): boolean {
    return this.#claim(this);
  }
}

/** Resolves true when the request is over (answered, or the client went away). */
export async function hedgedRound(run: RequestRun, order: readonly number[], force: boolean, hedge: HedgePolicy, tally: RoundTally): Promise<boolean> {
  const { group } = run;
  const racers: Racer[] = [];
  let winner: Racer | undefined;
  let next = 0;
  let timer: NodeJS.Timeout | undefined;
  let due: Promise<typeof HEDGE_DUE> | undefined;

  const disarm = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    due = undefined;
  };

  const onClientGone = (): void => {
    for (const r of racers) r.controller.abort(run.signal.reason);
  };
  run.signal.addEventListener('abort', onClientGone, { once: true });

  const claim = (me: Racer): boolean => {
    if (winner !== undefined) return winner === me;
    winner = me;
    disarm();
    const now = performance.now();
    for (const r of racers) {
      // An attempt that already ended (its duration is set before it settles) keeps its own outcome.
      if (r === me || r.settled || r.entry.durationMs !== undefined) continue;
      r.entry.error = 'hedge_lost';
      r.entry.durationMs = roundMs(now - r.sentAt);
      r.controller.abort(LOST);
    }
    return true;
  };

  /** The next deployment in order that lets an attempt through, with its ticket. */
  const nextCandidate = (): { index: number; provider: PreparedProvider; ticket: Ticket } | undefined => {
    while (next < order.length) {
      const index = order[next++]!;
      const provider = run.deps.state.providers.get(group.deployments[index]!.provider.name);
      if (provider === undefined) continue;
      const ticket = group.health[index]!.acquire(force);
      if (ticket === DENIED) continue;
      return { index, provider, ticket };
    }
    return undefined;
  };

  const launch = (candidate: { index: number; provider: PreparedProvider; ticket: Ticket }, isHedge: boolean): Racer => {
    tally.tried = true;
    const sentAt = performance.now();
    const entry = recordAttempt(run.call, group.deployments[candidate.index]!.id, sentAt, isHedge);
    const racer = new Racer(entry, sentAt, claim);
    racer.done = runAttempt(run, candidate.index, candidate.provider, candidate.ticket, entry, sentAt, racer).then((outcome) => {
      racer.settled = true;
      return { racer, outcome };
    });
    racers.push(racer);
    // Running alone: arm the hedge for this deployment's delay.
    const delay = hedge.delayMs(group.health[candidate.index]!.firstByte);
    if (!isHedge && delay !== undefined && next < order.length) {
      due = new Promise((resolve) => {
        timer = setTimeout(resolve, delay, HEDGE_DUE);
        timer.unref();
      });
    }
    return racer;
  };

  try {
    const first = nextCandidate();
    if (first === undefined) return false;
    const pending = new Set<Racer>([launch(first, false)]);
    let over = false;
    while (pending.size > 0) {
      const waits: Array<Promise<{ racer: Racer; outcome: AttemptOutcome } | typeof HEDGE_DUE>> = [];
      for (const r of pending) waits.push(r.done);
      if (due !== undefined) waits.push(due);
      const event = await Promise.race(waits);
      if (event === HEDGE_DUE) {
        disarm();
        if (winner !== undefined || run.signal.aborted) continue;
        const candidate = nextCandidate();
        if (candidate === undefined) continue;
        if (!hedge.budget.take()) {
          // Over the group's hedge share: this request waits for its attempt like an unhedged one.
          group.health[candidate.index]!.release(candidate.ticket, false);
          next--;
          continue;
        }
        pending.add(launch(candidate, true));
        continue;
      }
      const { racer, outcome } = event;
      pending.delete(racer);
      if (outcome === ANSWERED) {
        over = true;
        continue;
      }
      if (outcome === ABORTED) {
        // A loser of the race settles here too; only a client gone ends the request.
        if (run.signal.aborted) over = true;
        continue;
      }
      if (winner !== undefined || over) continue;
      // A twin still running may yet answer, even after a failure that stops the request.
      const stop = noteFailure(run, tally, outcome);
      // Failed before its first byte with nothing else running: fail over to the next deployment.
      if (!stop && pending.size === 0) {
        disarm();
        const candidate = nextCandidate();
        if (candidate !== undefined) pending.add(launch(candidate, false));
      }
    }
    return over || run.signal.aborted;
  } finally {
    disarm();
    run.signal.removeEventListener('abort', onClientGone);
  }
}
