// Preloaded (`node -r`) by the bench into a process whose start it measures: prints the process's
// CPU time (user + system, all threads, in ms) at the moment its first server listens, then ends
// the process. The same preload goes into bare `node` and the agent, so its own cost counts in both.
'use strict';
const net = require('node:net');
const listen = net.Server.prototype.listen;
let done = false;
net.Server.prototype.listen = function (...args) {
  this.once('listening', () => {
    if (done) return;
    done = true;
    const u = process.cpuUsage();
    process.stderr.write(`cpu-at-listen ${(u.user + u.system) / 1000}\n`);
    process.exit(0);
  });
  return listen.apply(this, args);
};
