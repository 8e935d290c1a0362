// Acceptance audit, issue 5: "End to end on the embedded default: a function inserts rows into a
// table; a function with a database trigger on that table runs once per row (no setup beyond the
// deploy)". test/e2e/pipeline-embedded enables change capture by hand; here the whole service
// (startService, as `aerofn serve` composes it) gets only the table (AEROFN_INIT_SQL, as an
// application's migration would create it) and two REST deploys.
import { describeEmbeddedTriggerAudit } from './embedded-trigger-audit.js';

describeEmbeddedTriggerAudit('audit: a database trigger on the embedded default needs nothing but the deploy');
