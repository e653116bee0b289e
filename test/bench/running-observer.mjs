// Watches one Muster agent's running-member count through its HTTP API, for the bench: started
// inside the agent's network namespace (`ip netns exec ... node running-observer.mjs <url>`), it
// asks every 10 ms and prints `<last not-yet end> <this poll's end> <count>` (epoch ms) whenever
// the count changes. A long-lived observer answers in a few ms where a `muster ctl` per look
// takes about 200 ms to start, which used to be most of the bench's partition-heal figure.
const url = process.argv[2];
// Ends by itself should the bench die without killing it (its parent becomes init), and when
// nobody reads its output any more.
setInterval(() => {
  if (process.ppid === 1) process.exit(0);
}, 500).unref();
process.stdout.on('error', () => process.exit(0));
const EVERY_MS = 10;
let last;
let prevEnd = Date.now();
for (;;) {
  let count = -1;
  try {
    const nodes = await (await fetch(url, { signal: AbortSignal.timeout(1000) })).json();
    count = nodes.filter((n) => n.status === 'running').length;
  } catch {
    // not answering (yet): counted as -1
  }
  const end = Date.now();
  if (count !== last) {
    process.stdout.write(`${prevEnd} ${end} ${count}\n`);
    last = count;
  }
  prevEnd = end;
  await new Promise((r) => setTimeout(r, EVERY_MS));
}
