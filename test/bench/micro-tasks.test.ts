/**
 * The micro-benchmark tasks still do what they claim against the current
 * src (each task's own check: the route taken, the stream translated, the tap
 * finishing). No timing is asserted here; that is the bench's job.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration } from '../../bench/lib/micro-report.ts';
import { routingTasks } from '../../bench/micro/routing.ts';
import { sseTasks } from '../../bench/micro/sse.ts';
import { tapTasks } from '../../bench/micro/tap.ts';
import type { MicroTask } from '../../bench/micro/task.ts';
import { tokenTasks } from '../../bench/micro/tokens.ts';
import { translateTasks } from '../../bench/micro/translate.ts';

describe('micro-benchmark tasks', () => {
  it('each task passes its own check, and ids are unique', async () => {
    const tasks: MicroTask[] = [...(await routingTasks()), ...sseTasks(), ...translateTasks(), ...tokenTasks(), ...tapTasks()];
    assert.ok(tasks.length >= 20, `only ${tasks.length} tasks`);
    assert.equal(new Set(tasks.map((t) => t.id)).size, tasks.length, 'duplicate task ids');
    for (const task of tasks) {
      assert.doesNotThrow(() => {
        task.prepare?.();
        task.verify?.();
      }, task.id);
      assert.notEqual(task.run(), undefined, `${task.id} returns nothing to keep`);
    }
  });

  it('formats durations with a readable unit', () => {
    assert.equal(formatDuration(14.06), '14.1 ns');
    assert.equal(formatDuration(3490), '3.49 µs');
    assert.equal(formatDuration(127_400), '127 µs');
    assert.equal(formatDuration(21_500_000), '21.5 ms');
  });
});
