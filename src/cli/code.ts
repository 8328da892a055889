/**
 * `switchyard code [args…]`: runs Claude Code with ANTHROPIC_BASE_URL pointed
 * at the gateway. The gateway must be running (npm start in another terminal).
 */
import { spawn } from 'node:child_process';

export async function runCode(args: string[]): Promise<number> {
  const base = (process.env.SWITCHYARD_URL ?? `http://127.0.0.1:${process.env.SWITCHYARD_PORT ?? '3456'}`).replace(/\/+$/, '');
  try {
    const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
    if (!health.ok) throw new Error(`HTTP ${health.status}`);
  } catch (err) {
    process.stderr.write(
      `switchyard code: no gateway answers at ${base} (${(err as Error).message}). Start one with 'npm start' (or set SWITCHYARD_URL).\n`,
    );
    return 1;
  }
  // A provider key in this shell is the gateway's business, not Claude Code's: passed on, it
  // would be sent as x-api-key, which the gateway reads before the token below.
  const { ANTHROPIC_API_KEY: _providerKey, ...inherited } = process.env;
  const env = {
    ...inherited,
    ANTHROPIC_BASE_URL: base,
    // Claude Code needs some key; the gateway decides what reaches the provider.
    ANTHROPIC_AUTH_TOKEN: process.env.SWITCHYARD_API_KEY ?? process.env.ANTHROPIC_AUTH_TOKEN ?? 'switchyard',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
  };
  return new Promise((resolvePromise) => {
    const child = spawn('claude', args, { stdio: 'inherit', env });
    child.on('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(
        err.code === 'ENOENT'
          ? "switchyard code: the 'claude' command was not found. Install it with: npm install -g @anthropic-ai/claude-code\n"
          : `switchyard code: ${err.message}\n`,
      );
      resolvePromise(1);
    });
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}
