import { anthropicLargeBody, buildConversation } from './bench/lib/large-context.ts';
import { stringifyToBytes } from './src/protocols/json-pieces.ts';
const body = JSON.parse(anthropicLargeBody(buildConversation(400 * 1024), 'm')(1));
const msgs = body.messages;
function t(name: string, fn: () => unknown, n = 100) { for (let i = 0; i < 10; i++) fn(); const c0 = process.cpuUsage(); for (let i = 0; i < n; i++) fn(); const u = process.cpuUsage(c0); console.log(name.padEnd(30), ((u.user+u.system)/n).toFixed(1), 'µs'); }
for (let r=0;r<2;r++){
t('JSON.stringify', () => JSON.stringify(body));
t('Buffer.from(JSON.stringify)', () => Buffer.from(JSON.stringify(body)));
t('stringifyToBytes', () => stringifyToBytes(body));
t('stringify msgs each', () => { for (const m of msgs) JSON.stringify(m); });
t('stringify+from msgs each', () => { for (const m of msgs) Buffer.from(JSON.stringify(m)); });
const texts = msgs.map((m: any) => typeof m.content === 'string' ? m.content : m.content[0].text);
t('stringify texts', () => { for (const s of texts) JSON.stringify(s); });
const ascii = texts.map((s: string) => s.replace(/[^\x00-\x7f]/g, '?'));
t('stringify ascii texts', () => { for (const s of ascii) JSON.stringify(s); });
}
