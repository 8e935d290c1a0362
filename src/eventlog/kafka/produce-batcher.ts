import type { Message, Producer } from 'kafkajs';
import type { AppendResult } from '../event-log.js';

interface Pending {
  readonly topic: string;
  readonly messages: readonly Message[];
  readonly bytes: number;
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Keeps one produce request well under a topic's max.message.bytes unless a single call is larger. */
const MAX_BATCH_BYTES = 1024 * 1024;

/**
 * Group commit for Kafka: appends issued while a produce request is in flight go out together in
 * the next one (kafkajs sends each send() as its own request and has no linger). Offsets come back
 * per partition as a base offset; messages of one partition keep their order, so each record's
 * offset is the base plus its position among that partition's messages in the request.
 */
export class ProduceBatcher {
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly producer: Producer) {}

  send(topic: string, messages: readonly Message[]): Promise<AppendResult[]> {
    const bytes = messages.reduce((n, m) => n + (Buffer.isBuffer(m.value) ? m.value.length : typeof m.value === 'string' ? Buffer.byteLength(m.value) : 0), 0);
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, messages, bytes, resolve, reject });
      this.running ??= new Promise<void>((r) => setImmediate(r)).then(() => this.loop());
    });
  }

  async drain(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.bytes <= MAX_BATCH_BYTES)) bytes += this.queue[n++]!.bytes;
      await this.flush(this.queue.splice(0, n));
    }
    this.running = null;
  }

  private async flush(batch: readonly Pending[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const messages = byTopic.get(p.topic);
      if (messages === undefined) byTopic.set(p.topic, [...p.messages]);
      else for (const message of p.messages) messages.push(message);
    }
    try {
      const metadata = await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      // The next offset of each partition, by topic: the base offset the broker gave, then one per
      // message in the order sent (no key string per message).
      const next = new Map<string, number[]>();
      for (const m of metadata) {
        let offsets = next.get(m.topicName);
        if (offsets === undefined) next.set(m.topicName, (offsets = []));
        offsets[m.partition] = Number(m.baseOffset);
      }
      for (const p of batch) {
        const offsets = next.get(p.topic)!;
        p.resolve(
          p.messages.map((message) => {
            const partition = message.partition!;
            const offset = offsets[partition]!;
            offsets[partition] = offset + 1;
            return { partition, offset };
          }),
        );
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
