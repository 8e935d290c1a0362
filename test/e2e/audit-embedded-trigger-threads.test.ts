// The same audit with the pipeline in two stream threads (AEROFN_PIPELINE_THREADS=2,
// docs/pipeline-stream-threads.md): REST lists the records the threads hold, /metrics counts their
// invocations and host calls and merges their topology counters.
import { describeEmbeddedTriggerAudit } from './embedded-trigger-audit.js';

describeEmbeddedTriggerAudit('audit: a database trigger needs nothing but the deploy, with the pipeline in two stream threads', { AEROFN_PIPELINE_THREADS: '2' });
