/**
 * Hot reload: watches a configuration file and reports each new version, or
 * the problems of an invalid edit (the running config then stays in force).
 *
 * The folder is watched, not the file: editors that save by writing a new
 * file and renaming it over the old one (vim, VS Code, `sed -i`) replace the
 * inode, and a watch on the file itself would go quiet after the first save.
 * A symlinked file (dotfiles, a Kubernetes ConfigMap's `..data` swap) changes
 * where the folder watch does not see it: its target is polled as well.
 */
import { lstatSync, readFileSync, stat, statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Env } from './env.ts';
import type { Config } from './schema.ts';
import { ConfigError } from './problems.ts';
import { parseConfig } from './load.ts';

export interface WatchOptions {
  /** Quiet period after the last change event before reloading (ms). */
  debounceMs?: number;
  env?: Env;
}

export interface ConfigWatcher {
  close(): void;
}

export type WatchResult = { config: Config } | { error: ConfigError };

/** How often a symlinked config's target is checked (ms). */
const SYMLINK_POLL_MS = 1000;

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function targetKey(path: string): string {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.mtimeMs}:${st.size}`;
  } catch {
    return 'missing';
  }
}

/** Retries when the file is briefly missing (delete-then-write editors). */
const MISSING_RETRIES = 3;

export function watchConfigFile(file: string, onChange: (result: WatchResult) => void, options: WatchOptions = {}): ConfigWatcher {
  const path = resolve(file);
  const name = basename(path);
  const debounceMs = options.debounceMs ?? 100;
  let lastText: string | undefined;
  try {
    lastText = readFileSync(path, 'utf8');
  } catch {
    lastText = undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let missing = 0;
  let closed = false;

  const schedule = (delay = debounceMs): void => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void reload();
    }, delay);
  };

  const reload = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if (missing < MISSING_RETRIES) {
          missing++;
          schedule();
          return;
        }
        missing = 0;
        lastText = undefined;
        const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
        if (!closed) onChange({ error: new ConfigError([{ path: '(file)', message: `cannot read ${path}: ${code}` }], file) });
        return;
      }
      missing = 0;
      // Editors often emit several events per save, and touch leaves the text as is.
      if (text === lastText || closed) return;
      lastText = text;
      let result: WatchResult;
      try {
        result = { config: parseConfig(text, { env: options.env ?? process.env, baseDir: dirname(path), source: file }) };
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        result = { error };
      }
      onChange(result);
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };

  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
    // Some platforms do not report the name; then any change in the folder counts.
    if (changed === null || changed === name) schedule();
  });
  // stat follows the link: a new target, or an edit to it, shows as a new inode, mtime or size.
  // The first look is synchronous, so a change right after start is not taken for the original.
  let seen = isSymlink(path) ? targetKey(path) : undefined;
  const poller =
    seen === undefined
      ? undefined
      : setInterval(() => {
          stat(path, (error, st) => {
            const key = error === null ? `${st.ino}:${st.mtimeMs}:${st.size}` : 'missing';
            if (key === seen) return;
            seen = key;
            schedule();
          });
        }, SYMLINK_POLL_MS);
  poller?.unref();
  watcher.on('error', (error: NodeJS.ErrnoException) => {
    if (closed) return;
    onChange({ error: new ConfigError([{ path: '(file)', message: `cannot watch ${path}: ${error.code ?? error.message}` }], file) });
  });

  return {
    close(): void {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher.close();
      clearInterval(poller);
    },
  };
}
