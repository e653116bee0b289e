/**
 * Every timing and size the agent uses that is not an operator's setting, in one place, each with
 * why its value (as memberlist's config.go). The operator's settings (probe interval and timeout,
 * autoclean, ...) are in config/schema.ts; these are the agent's own choices around them.
 * `DEFAULT_TUNING` is what the agent runs with; classes take a `Tuning` in their constructor, so a
 * test or a simulator can run the same code with other values.
 */
export interface Tuning {
  readonly gossip: {
    /** How long a write, leave or removal waits for every member's acknowledgement (the ctl's answer waits this long at most). */
    readonly ackTimeoutMs: number;
    /** Each hop answers this much before the hop before it gives up, so a slow branch is cut, not the whole answer. */
    readonly hopMarginMs: number;
    /** No hop is given less than this to answer, however deep in the spread. */
    readonly minHopBudgetMs: number;
    /** How long a change's id is remembered as seen: far longer than any budget. */
    readonly seenTtlMs: number;
  };
  readonly roles: {
    /**
     * How many cores each replicant links to: two, so that a core that stops leaves every replicant
     * linked (its writes and updates go on through the other) while it links to a third; more would
     * only add links every core carries.
     */
    readonly coreLinks: number;
    /**
     * The most replicant links a core accepts; one more is refused (`full`) and that replicant links to
     * its next core. Replicants pick cores by rendezvous hashing, so each of C cores carries about
     * R x coreLinks / C of R replicants (667 of 1,000 with 3 cores); 1,000 keeps a core's share of a
     * large autoscaling group while bounding what one core's fan-out costs.
     */
    readonly maxReplicantLinks: number;
    /** How long a replicant passes over a core it could not link to, or that refused it as full, while other cores are there. */
    readonly coreTroubleMs: number;
    /** How often a core checks that each replicant linked to it still pings: a silent replicant is judged within 100 ms of its bound (interval + 2 x timeout), well inside the 250 ms the news of a loss is given to spread; a pass over 700 links costs microseconds. */
    readonly replicantCheckMs: number;
  };
  readonly links: {
    /** First retry after a failed dial: quick, since a peer that is starting answers moments later. */
    readonly backoffMinMs: number;
    /** Retries double up to this: a peer that stays away costs a dial every 2 s at most. */
    readonly backoffMaxMs: number;
    /**
     * How long the larger-named side waits for the smaller one to dial a new member link: both
     * learn of the link at about the same moment, and two dials would make one handshake wasted.
     */
    readonly dialDeferMs: number;
    /**
     * Dials in flight at once; the rest wait their turn. A node that learns of a whole cluster at
     * once (a join, a cluster starting together) would otherwise open a handshake to every member in
     * the same moment, and on a machine short of CPU those queue up at the other ends until they
     * time out and are retried, which is work done twice.
     */
    readonly maxDials: number;
    /**
     * A link to a member that is no longer a neighbour is closed after this long: the ring moves
     * while a cluster forms, and a link closed at once may be wanted again a moment later.
     */
    readonly unneededGraceMs: number;
    /** Dial delays are spread over this range of their nominal value, so nodes started together do not retry in step. */
    readonly jitter: readonly [number, number];
    /**
     * A member that stopped answering probes over a link still open (a partition, a vanished host)
     * is dialled afresh from one interval after its suspension, each dial given this long to
     * connect (or 4 round trips of the kept link, if more: one SYN each) and started as far apart
     * (membership/peers.ts, `startHealing`). The kept link carries anything again only at TCP's
     * next retransmission, whose timeout doubled through the cut, while the first SYN after the
     * network returns goes through: a member split off for 2-3 s was shown running again 97-209 ms
     * after the heal instead of 455-678 ms (docs/decisions/0011). A vanished host costs a SYN per
     * interval; a connect that is answered at all (refused, or a handshake that fails) ends them.
     */
    readonly healDialMs: number;
    /**
     * Each heal dial that timed out gives the next a quarter longer, up to `healDialMaxMs`: a path
     * that comes back slower than it was (another route) is still linked within the window, and a
     * long cut costs a SYN a second, not five.
     */
    readonly healDialGrowth: number;
    readonly healDialMaxMs: number;
    /** For this long after the suspension at most; then the usual backoff (a dial every 2 s at most). */
    readonly healDialForMs: number;
  };
  readonly overlay: {
    /** Ring neighbours linked on each side (membership/overlay.ts): up to 2 x 3 + 1 = 7 members is the full mesh. */
    readonly steps: number;
    /** Shortcut links per member beyond the ring: 4 hops across at N = 100 instead of 17. */
    readonly shortcuts: number;
  };
  readonly sync: {
    /** A state changed this recently is sent whole with a sync request, not offered by digest first: likely news to the peer, and a digest would only cost a second round trip. */
    readonly freshStateMs: number;
    /** A sync request's answer: a slow peer, not a lost one, when it takes longer (the prober judges that). */
    readonly requestTimeoutMs: number;
    /**
     * How often a node offers its digest on one of its links (anti-entropy): a change missed on a
     * link that stayed up is repaired within this (times the jitter's top, 18.7 s). An exchange is
     * about 320 bytes on the wire (request and answer, TCP/IP headers included); one per node and
     * interval is 19 B/s, within the 20 B/s an idle node may spend on it.
     */
    readonly antiEntropyIntervalMs: number;
    /** Spread of that interval: nodes started together do not offer in step. */
    readonly antiEntropyJitter: readonly [number, number];
  };
  readonly join: {
    /** A join request's answer: the member asked may itself be busy forming, on a loaded machine. */
    readonly requestTimeoutMs: number;
    /** A discovery probe's `info` on a kept link. */
    readonly infoTimeoutMs: number;
    /** After `cluster join`, how long the ctl's answer waits for links to the new members before reporting status. */
    readonly settleMs: number;
    /** A discovery probe's connection stays open this long: a join through the same node usually follows and then needs no new handshake. */
    readonly probeLinkKeepMs: number;
    /**
     * A member admitting joiners announces them at most this often: a join alone is announced at
     * once, the joins that come within this much after it go together. Each announcement crosses
     * every link of the cluster (N times the overlay's degree frames), and a cluster of N starting
     * together made N of them (1,000 nodes over 2 s: 1,000 floods; spaced by 25 ms, at most 80),
     * while a member learning of a joiner 25 ms later costs nothing: the joiner has the state.
     */
    readonly announceSpacingMs: number;
  };
  readonly maintenance: {
    /** How often autoclean and tombstone collection look: autoclean is counted in minutes or hours, so a second is precise enough. */
    readonly intervalMs: number;
    /** A deleted key's tombstone is kept at least this long, even once every member has seen it: a member that was away for less learns the delete, not the old value. */
    readonly tombstoneMinAgeMs: number;
  };
  readonly autoheal: {
    /** Attempts to rejoin the former cluster after autoclean removed this node while it was cut off. */
    readonly rejoinAttempts: number;
    /** The first wait between rounds of attempts, doubling up to the max. */
    readonly rejoinBackoffMinMs: number;
    readonly rejoinBackoffMaxMs: number;
  };
  readonly discovery: {
    /** Between discovery attempts that found nothing or failed: doubling from min to max. */
    readonly retryMinMs: number;
    readonly retryMaxMs: number;
    /** Once settled, discovery keeps running at this pace so later nodes are found. */
    readonly steadyMs: number;
    /**
     * After boot a node that is alone waits for discovered nodes with smaller names that do not
     * answer yet (still starting), as long as one answered for the first time in the last
     * stableMarginMs (Akka Cluster Bootstrap's stable margin), and at most startupWaitMaxMs. It only
     * saves churn; the ranking converges without it.
     */
    readonly stableMarginMs: number;
    readonly startupWaitMaxMs: number;
    /**
     * Where nodes appear one by one (etcd registrations), a node alone does not pair up with
     * another node alone until the found set has stopped changing for this long: pairs formed
     * around a passing smallest name become islands that merge later, node by node.
     */
    readonly foundStableMs: number;
    /** A node still alone soon after boot (for aloneFastPeriodMs) keeps looking at least this often: its peers are starting too. */
    readonly aloneRetryMaxMs: number;
    readonly aloneFastPeriodMs: number;
    /**
     * In a cluster of several, each found node outside it is looked at by this many running
     * members, not all: 100 members probing a starting node at once kept it from answering any.
     */
    readonly lookers: number;
    /** Round delays are spread over this range, so nodes started together do not look in step. */
    readonly jitter: readonly [number, number];
  };
  readonly health: {
    /** How far back a stall of this process still counts (Lifeguard's local health). */
    readonly windowMs: number;
    /** Lateness up to this is ordinary scheduling and GC noise, already covered by the probe timeout. */
    readonly noiseMs: number;
    /** However starved, a probe is not given longer than this many timeouts. */
    readonly maxStretch: number;
    /** A probe timer this late (ms) means this machine stalled: the answer gets a little longer before the probe counts as failed. */
    readonly lateProbeMs: number;
    readonly lateProbeGraceMs: number;
    /**
     * While links are being made, a timer this often measures how late this process runs
     * (membership/stall-watch.ts): a tenth of the default probe timeout (1 s), fine enough to see
     * a stall before a link's handshake (2 probe timeouts) gives up. The replicant check's tick
     * had this period and kept 100 agents forming on 2 cores free of false down claims.
     */
    readonly watchEveryMs: number;
    /** ... for this long after the last link dialled or accepted: as long as a stall counts (windowMs). */
    readonly watchForMs: number;
  };
  /** Online cookie guessing (transport/handshake-guard.ts): what a source that fails proofs gets. */
  readonly guard: {
    /** Failed proofs a source may make before it is slowed: a node with a stale cookie retries a few times. */
    readonly freeFailures: number;
    /** The first delay before answering such a source; it doubles with each further failure... */
    readonly baseDelayMs: number;
    /** ...up to this. With `maxHandshakesFailing` at once, one source gets at most 2 proofs answered per 10 s. */
    readonly maxDelayMs: number;
    /** A source's failures are forgotten after this long without one. */
    readonly forgetAfterMs: number;
    /** Handshakes at once from a source that has failed proofs (honest sources are not capped by this). */
    readonly maxHandshakesFailing: number;
    /** Handshakes at once from any one source: 32 ctl clients of a load test fit; a flood of them does not. */
    readonly maxHandshakesPerSource: number;
    /** Refusals from a source already logged are counted and logged together this often. */
    readonly reportEveryMs: number;
  };
  readonly transport: {
    /**
     * A handshake that receives nothing for this long is closed. Generous: on a machine starting
     * many nodes at once a peer may take seconds to answer, and a handshake given up is done again.
     */
    readonly handshakeTimeoutMs: number;
    /**
     * A TCP connect, and then a TLS handshake, given up after this unless the dialer says otherwise
     * (links.healDialMs): Linux sends a lost SYN again after 1 s, so a connect gets its second SYN.
     */
    readonly connectTimeoutMs: number;
    /** Requests held for a handler not installed yet: the few a peer sends in its first moment, with room to spare. */
    readonly maxUnserved: number;
    /** An orderly stop waits this long for each `bye` to be written. */
    readonly byeWaitMs: number;
    /** A closed link's socket is destroyed after this long if the peer never closes its end. */
    readonly closeGraceMs: number;
  };
  readonly lookups: {
    /** Each etcd call and the first connection: etcd answers in milliseconds, and a round that fails is retried by discovery's own backoff. */
    readonly etcdDeadlineMs: number;
    /** gRPC's reconnect backoff to etcd, as quick as the link dials (links.backoffMinMs / backoffMaxMs). */
    readonly etcdReconnectMinMs: number;
    readonly etcdReconnectMaxMs: number;
    /** A DNS query and its tries (discovery and host names): 2 s x 2 stays well inside a discovery round. */
    readonly dnsTimeoutMs: number;
    readonly dnsTries: number;
    /** A Kubernetes API request (EndpointSlices): the API server answers in milliseconds when it is well. */
    readonly k8sRequestTimeoutMs: number;
    /** How often certificate files are checked for renewal: a renewed certificate is in use within about a second. */
    readonly tlsWatchIntervalMs: number;
  };
  readonly http: {
    /** A client must send its whole request head within this: a slow or stalled client holds a socket no longer (slowloris). A probe sends it in one packet. */
    readonly headersTimeoutMs: number;
    /** The whole request, body included (the listener reads none): the same bound. */
    readonly requestTimeoutMs: number;
    /** An idle keep-alive connection (Prometheus reuses its own) is closed after this: longer than a 1 s probe period, shorter than anything that piles up. */
    readonly keepAliveTimeoutMs: number;
    /** How often Node.js checks the two timeouts above (its default, 30 s, would let a slow client stay 30 s). */
    readonly timeoutCheckMs: number;
    /** Request heads larger than this are answered 431: a probe or a scrape sends a few hundred bytes. */
    readonly maxHeaderBytes: number;
    /** Connections open at once; more are refused: a flood costs a bounded amount of memory, and the cluster's own port is another listener. */
    readonly maxConnections: number;
    /** How often the cluster page asks for the cluster's state: a second, so a stopped member shows within the detection bound plus a second. */
    readonly pageRefreshMs: number;
  };
  readonly observe: {
    /** Membership events kept for the page and `/api/v1/cluster`: a screenful, enough to see what just happened. */
    readonly eventsKept: number;
  };
  readonly ctl: {
    /** `muster ctl`'s wait for its node's answer: longer than any operation's own bound (a join's 15 s). */
    readonly requestTimeoutMs: number;
  };
  readonly store: {
    /** What was learned from other members (they hold it too) is saved within this long: saving after every change was 9 % of CPU while 100 nodes formed. */
    readonly saveSoonMs: number;
    /** The log of changes is folded into a new snapshot once it is longer than the snapshot and than this: small states are not rewritten every few changes. */
    readonly compactMinBytes: number;
  };
  readonly log: {
    /** Log lines kept in memory while stdout is not read; past this, lines are dropped and counted. */
    readonly bufferBytes: number;
    /** How often the count of dropped lines is logged. */
    readonly dropReportMs: number;
    /** More members added or seen running at once than this are logged as one line naming them all (a node joining 100 logged 200 lines). */
    readonly bulkNodes: number;
  };
}

export const DEFAULT_TUNING: Tuning = {
  gossip: { ackTimeoutMs: 5000, hopMarginMs: 250, minHopBudgetMs: 500, seenTtlMs: 120_000 },
  roles: { coreLinks: 2, maxReplicantLinks: 1000, coreTroubleMs: 10_000, replicantCheckMs: 100 },
  links: { backoffMinMs: 200, backoffMaxMs: 2000, dialDeferMs: 300, maxDials: 8, unneededGraceMs: 5000, jitter: [0.75, 1.25], healDialMs: 200, healDialGrowth: 1.25, healDialMaxMs: 1000, healDialForMs: 10_000 },
  overlay: { steps: 3, shortcuts: 3 },
  sync: { freshStateMs: 5000, requestTimeoutMs: 5000, antiEntropyIntervalMs: 17_000, antiEntropyJitter: [0.9, 1.1] },
  join: { requestTimeoutMs: 15_000, infoTimeoutMs: 5000, settleMs: 5000, probeLinkKeepMs: 2000, announceSpacingMs: 25 },
  maintenance: { intervalMs: 1000, tombstoneMinAgeMs: 10 * 60_000 },
  autoheal: { rejoinAttempts: 30, rejoinBackoffMinMs: 500, rejoinBackoffMaxMs: 10_000 },
  discovery: {
    retryMinMs: 300,
    retryMaxMs: 10_000,
    steadyMs: 5000,
    stableMarginMs: 3000,
    startupWaitMaxMs: 60_000,
    foundStableMs: 1000,
    aloneRetryMaxMs: 1000,
    aloneFastPeriodMs: 60_000,
    lookers: 2,
    jitter: [0.8, 1.2],
  },
  health: { windowMs: 5000, noiseMs: 200, maxStretch: 8, lateProbeMs: 100, lateProbeGraceMs: 200, watchEveryMs: 100, watchForMs: 5000 },
  guard: { freeFailures: 3, baseDelayMs: 100, maxDelayMs: 10_000, forgetAfterMs: 600_000, maxHandshakesFailing: 2, maxHandshakesPerSource: 64, reportEveryMs: 60_000 },
  transport: { handshakeTimeoutMs: 10_000, connectTimeoutMs: 3000, maxUnserved: 256, byeWaitMs: 500, closeGraceMs: 3000 },
  lookups: { etcdDeadlineMs: 3000, etcdReconnectMinMs: 200, etcdReconnectMaxMs: 2000, dnsTimeoutMs: 2000, dnsTries: 2, k8sRequestTimeoutMs: 5000, tlsWatchIntervalMs: 1000 },
  http: { headersTimeoutMs: 5000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 10_000, timeoutCheckMs: 1000, maxHeaderBytes: 8192, maxConnections: 128, pageRefreshMs: 1000 },
  observe: { eventsKept: 50 },
  ctl: { requestTimeoutMs: 30_000 },
  store: { saveSoonMs: 500, compactMinBytes: 1024 * 1024 },
  log: { bufferBytes: 4 * 1024 * 1024, dropReportMs: 5000, bulkNodes: 3 },
};

/**
 * For tests on one machine (memberlist's `DefaultLocalConfig` is the idea): the same design with
 * the waits that only guard against slow networks and large clusters cut, so a test that waits
 * for an unacknowledged write, a settle, an anti-entropy round or a tombstone's collection waits
 * a second, not 5 to 600. Not for production: a loaded machine or a real network needs the defaults.
 * `muster agent --tuning fast` runs with it.
 */
export const FAST_TUNING: Tuning = {
  ...DEFAULT_TUNING,
  gossip: { ...DEFAULT_TUNING.gossip, ackTimeoutMs: 1000, hopMarginMs: 100, minHopBudgetMs: 200 },
  links: { ...DEFAULT_TUNING.links, unneededGraceMs: 1000 },
  roles: { ...DEFAULT_TUNING.roles, coreTroubleMs: 2000 },
  sync: { ...DEFAULT_TUNING.sync, freshStateMs: 1000, requestTimeoutMs: 2000, antiEntropyIntervalMs: 2000 },
  join: { ...DEFAULT_TUNING.join, settleMs: 1000 },
  maintenance: { intervalMs: 200, tombstoneMinAgeMs: 2000 },
  autoheal: { rejoinAttempts: 30, rejoinBackoffMinMs: 100, rejoinBackoffMaxMs: 1000 },
  discovery: { ...DEFAULT_TUNING.discovery, steadyMs: 1000, stableMarginMs: 500, startupWaitMaxMs: 10_000 },
  store: { ...DEFAULT_TUNING.store, saveSoonMs: 50 },
  http: { ...DEFAULT_TUNING.http, headersTimeoutMs: 1000, requestTimeoutMs: 1000, timeoutCheckMs: 250 },
};

/** The profiles `muster agent --tuning` takes. */
export const TUNING_PROFILES = { default: DEFAULT_TUNING, fast: FAST_TUNING } as const;
export type TuningProfile = keyof typeof TUNING_PROFILES;

/** A delay spread over `[lo, hi]` times its nominal value; `fraction` is the runtime's randomness. */
export function jittered(ms: number, [lo, hi]: readonly [number, number], fraction: () => number = Math.random): number {
  return ms * (lo + fraction() * (hi - lo));
}
