// Whether a YAML document is an Azure ML batch deployment: apart from deployment.ts so that the
// spec loader can point such a file at `--input` without importing the deployment loader.

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `type: model` (today's files), the batch deployment schema (files from before `type`), or an
 * endpoint and a model without a schema. A job spec or a v2 job has none of these.
 */
export function looksLikeBatchDeployment(doc: unknown): boolean {
  if (!isRecord(doc)) return false;
  if (doc.type === 'model') return true;
  if (typeof doc.$schema === 'string' && /batchDeployment\.schema\.json$/i.test(doc.$schema)) return true;
  return doc.type === undefined && 'endpoint_name' in doc && 'model' in doc;
}
