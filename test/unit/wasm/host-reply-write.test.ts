import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { journalEntry, mergeJournal, writeHostReply, type HostCallOutcome } from '../../../src/wasm/host-call-bridge.js';
import { channelViews, CHANNEL_BYTES, HostReply, LEN_IN_PORT, LEN_NULL, Slot, SLOT_DATA_BYTES } from '../../../src/wasm/sandbox-protocol.js';

const outcome = (answer: HostCallOutcome['answer'], failure?: string): HostCallOutcome => ({ answer, failure, startedAt: 1, durationMs: 0.5 });

describe('host-call reply writer (the main thread side)', () => {
  const views = channelViews(new SharedArrayBuffer(CHANNEL_BYTES));
  const base = 3 * SLOT_DATA_BYTES;
  const written = (): string => views.text.toString('utf8', base, base + (views.ctrl[Slot.HOST_LEN] as number));
  const noPort = (): void => assert.fail('a reply that fits the slot must not use the port');

  it('writes ASCII, non-ASCII and long answers byte for byte as UTF-8', () => {
    const answers = [
      '{"rows":[{"id":42,"body":"note 42"}],"rowCount":1}',
      '{"rows":[{"body":"café – 東京 😀"}],"rowCount":1}',
      // Non-ASCII only at the end: the ASCII copy gives up there and UTF-8 encoding starts over.
      `{"body":"${'a'.repeat(300)}é"}`,
      JSON.stringify({ rows: Array.from({ length: 200 }, (_, i) => ({ id: i, body: `note ${i}` })) }),
      '',
    ];
    for (const answer of answers) {
      views.data.fill(0x7e, base, base + 16_384); // stale bytes of an earlier, longer reply
      writeHostReply(views, base, outcome(answer), noPort);
      assert.equal(views.ctrl[Slot.HOST_STATUS], HostReply.ANSWER);
      assert.equal(views.ctrl[Slot.HOST_LEN], Buffer.byteLength(answer));
      assert.equal(written(), answer);
    }
  });

  it('writes byte answers, null and failures; an answer too big for the slot goes to the port', () => {
    writeHostReply(views, base, outcome(new Uint8Array([1, 2, 3])), noPort);
    assert.deepEqual([...views.data.subarray(base, base + 3)], [1, 2, 3]);
    writeHostReply(views, base, outcome(null), noPort);
    assert.equal(views.ctrl[Slot.HOST_LEN], LEN_NULL);
    writeHostReply(views, base, outcome(null, 'the database is gone'), noPort);
    assert.equal(views.ctrl[Slot.HOST_STATUS], HostReply.THREW);
    assert.equal(written(), 'the database is gone');
    const posted: unknown[] = [];
    const big = 'x'.repeat(SLOT_DATA_BYTES + 1);
    writeHostReply(views, base, outcome(big), (data) => posted.push(data));
    assert.equal(views.ctrl[Slot.HOST_LEN], LEN_IN_PORT);
    assert.deepEqual(posted, [big]);
  });

  it('makes journal entries from served calls when the result is read, env answers redacted', () => {
    const request = new TextEncoder().encode('"API_KEY"');
    const served = [
      { name: 'db_query' as const, seq: 2, request: new TextEncoder().encode('{"sql":"select 1"}'), outcome: outcome('{"rows":[]}') },
      { name: 'env' as const, seq: 3, request, outcome: outcome('sk_live_123') },
    ];
    const journal = mergeJournal(JSON.stringify([{ seq: 1, fn: 'log', request: 'hi', response: null, startedAt: 1, durationMs: 0 }]), served);
    assert.deepEqual(journal.map((entry) => [entry.seq, entry.fn]), [[1, 'log'], [2, 'db_query'], [3, 'env']]);
    assert.equal(journal[1]?.response, '{"rows":[]}');
    assert.equal(journal[2]?.response, '[redacted]');
    assert.equal(JSON.stringify(journal).includes('sk_live_123'), false);
    assert.deepEqual(journalEntry(served[0]!), journal[1]);
  });
});
