/**
 * `npm run bench:profile-summary -- FILE.cpuprofile [--top N]`: the functions and
 * origins (packages, node internals, our files) with the most self time in a
 * V8 CPU profile, e.g. the one `npm run bench -- --profile` keeps.
 */
import { parseArgs } from 'node:util';
import { formatSummary, readProfile, summariseProfile } from './lib/profile.ts';

try {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const top = Number(values.top);
  const file = positionals[0];
  if (file === undefined || !Number.isInteger(top) || top < 1) {
    process.stderr.write('Usage: npm run bench:profile-summary -- FILE.cpuprofile [--top N]\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(`${formatSummary(summariseProfile(readProfile(file)), top)}\n`);
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
