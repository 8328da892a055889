/**
 * Preloaded (`node --import`) into every process the bench starts. The bench
 * talks to its children over an IPC channel; when the bench goes away for any
 * reason, even SIGKILL, the channel closes and the child shuts itself down, so
 * no gateway or mock outlives a run. The channel is unref'd: it never keeps a
 * child alive and carries no traffic, so it costs nothing on the hot path.
 */
const channel = process.channel;
if (channel !== undefined) {
  channel.unref();
  process.once('disconnect', () => {
    // SIGTERM runs the child's own graceful shutdown (and lets --cpu-prof write
    // its profile); the timer is the backstop if that shutdown hangs.
    setTimeout(() => process.exit(1), 5_000).unref();
    process.kill(process.pid, 'SIGTERM');
  });
}
