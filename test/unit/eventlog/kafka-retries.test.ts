import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createTopicRetriable, kafkaErrorType, MAX_TRIES, offsetsRetriable, withBackoff } from '../../../src/eventlog/kafka/kafka-retries.js';

// The errors exactly as kafkajs builds them from a broker's error code (a single-node broker cannot
// be made to answer NOT_LEADER_FOR_PARTITION on demand).
const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => Error };
const { KafkaJSNumberOfRetriesExceeded } = require('kafkajs/src/errors.js') as { KafkaJSNumberOfRetriesExceeded: new (cause: Error, options: { retryCount: number; retryTime: number }) => Error };
const notLeader = (): Error => createErrorFromCode(6);
const unknownTopic = (): Error => createErrorFromCode(3);
const notAuthorized = (): Error => createErrorFromCode(29);
/** What kafkajs throws once its own retries of an error run out. */
const exhausted = (cause: Error): Error => new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 1000 });

/** An operation that throws `errors` in turn, then answers `value`; counts its calls. */
function flaky<T>(errors: Error[], value: T): { run: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    run: async () => {
      const error = errors[calls++];
      if (error !== undefined) throw error;
      return value;
    },
    calls: () => calls,
  };
}

const recordSleeps = (): { sleep: (ms: number) => Promise<void>; slept: number[] } => {
  const slept: number[] = [];
  return { slept, sleep: async (ms) => void slept.push(ms) };
};

describe('Kafka adapter retries', () => {
  it('reads the type of a protocol error, also under the error kafkajs wraps it in when its retries run out', () => {
    assert.equal(kafkaErrorType(notLeader()), 'NOT_LEADER_FOR_PARTITION');
    assert.equal(kafkaErrorType(exhausted(unknownTopic())), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(kafkaErrorType(new Error('socket hang up')), undefined);
    assert.equal(kafkaErrorType(null), undefined);
  });

  it('reads offsets again after NOT_LEADER_FOR_PARTITION, backing off 200 ms, then 400 ms', async () => {
    const op = flaky([notLeader(), notLeader()], 'offsets');
    const { sleep, slept } = recordSleeps();
    assert.equal(await withBackoff(op.run, offsetsRetriable, () => true, sleep), 'offsets');
    assert.equal(op.calls(), 3);
    assert.deepEqual(slept, [200, 400]);
  });

  it('does not read offsets again for an unknown topic (kafkajs has retried it already) or a refusal', async () => {
    for (const error of [exhausted(unknownTopic()), unknownTopic(), notAuthorized()]) {
      const op = flaky([error], 'offsets');
      await assert.rejects(withBackoff(op.run, offsetsRetriable, () => true, recordSleeps().sleep), (thrown) => thrown === error);
      assert.equal(op.calls(), 1, (error as Error).message);
    }
  });

  it('creates a topic again when the new topic is not known yet, but not when the broker refuses', async () => {
    const known = flaky([unknownTopic(), notLeader()], 'created');
    assert.equal(await withBackoff(known.run, createTopicRetriable, () => true, recordSleeps().sleep), 'created');
    assert.equal(known.calls(), 3);
    const refused = flaky([notAuthorized()], 'created');
    await assert.rejects(withBackoff(refused.run, createTopicRetriable, () => true, recordSleeps().sleep), /not authorized/i);
    assert.equal(refused.calls(), 1);
  });

  it(`gives up after ${MAX_TRIES} tries with the last error, the backoff capped at 2 s`, async () => {
    const errors = Array.from({ length: MAX_TRIES + 2 }, () => notLeader());
    const op = flaky(errors, 'never');
    const { sleep, slept } = recordSleeps();
    await assert.rejects(withBackoff(op.run, offsetsRetriable, () => true, sleep), (thrown) => thrown === errors[MAX_TRIES - 1]);
    assert.equal(op.calls(), MAX_TRIES);
    assert.deepEqual(slept, [200, 400, 800, 1600, 2000]);
  });

  it('stops retrying once the log is closed', async () => {
    let open = true;
    const op = flaky([notLeader(), notLeader()], 'offsets');
    const sleep = async (): Promise<void> => {
      open = false;
    };
    await assert.rejects(withBackoff(op.run, offsetsRetriable, () => open, sleep), /leader/i);
    assert.equal(op.calls(), 2);
  });
});
