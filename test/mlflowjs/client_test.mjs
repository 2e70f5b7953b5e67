// Drives an MLflow-compatible tracking server with the third-party npm client
// "mlflow" (Yuhsak/mlflow, pinned in package.json) and checks every answer.
//
//   MLFLOW_TRACKING_URI=http://127.0.0.1:5000 node client_test.mjs
//
// It prints one line per check and ends with "N passed, M failed"; the exit
// status is 1 when a check failed. internal/compat/mlflowjs_test.go runs it
// against a freshly started `posml server`.
//
// The client is old (written against MLflow 1.x) and has gaps and bugs. Where
// it has a typed method, the method is used. Where it has none
// (experiments/get-by-name, experiments/search, delete-experiment-tag) or a
// broken one (setExperimentTag drops the "/" of its path), the check goes
// through the client's own generic request method, req(method, path, params),
// which sends requests the same way the typed methods do. Artifacts are
// uploaded with a plain HTTP PUT, as MLflow's Python client does, since this
// client can only list them.

import assert from 'node:assert/strict';
import MLflow from 'mlflow';

const uri = (process.env.MLFLOW_TRACKING_URI || '').replace(/\/+$/, '');
if (!/^https?:\/\//.test(uri)) {
  process.stderr.write('MLFLOW_TRACKING_URI must be set to the server, e.g. http://127.0.0.1:5000\n');
  process.exit(2);
}

// The client console.logs every POST body. Keep the last few to show when a
// check fails, instead of flooding the output.
const sent = [];
console.log = (...args) => {
  sent.push(args.join(' '));
  if (sent.length > 5) sent.shift();
};

const client = new MLflow({ endpoint: uri });
const { Experiments, Runs, Metrics, Artifacts } = client;

let passed = 0;
let failed = 0;
const out = (s) => process.stdout.write(s + '\n');

async function check(name, fn) {
  try {
    await fn();
    passed++;
    out(`ok   ${name}`);
  } catch (err) {
    failed++;
    out(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
    for (const body of sent) out(`     last request body: ${body.slice(0, 300)}`);
  }
}

// apiError turns what the client throws on a non-200 answer into
// {status, data}: it wraps JSON.stringify({status, statusText, data}) in an
// Error, twice.
function apiError(err) {
  const text = String(err && err.message).replace(/^(Error: )+/, '');
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not an HTTP error from the client: ${err && err.stack}`);
  }
}

async function rejects(promise, status, errorCode, messagePattern) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    const e = apiError(err);
    assert.equal(e.status, status, `HTTP status of ${JSON.stringify(e)}`);
    if (errorCode) assert.equal(e.data && e.data.error_code, errorCode, `error_code of ${JSON.stringify(e)}`);
    if (messagePattern) assert.match(e.data.message, messagePattern);
    return e;
  }
  throw new Error(`expected HTTP ${status} ${errorCode || ''}, got 200 ${JSON.stringify(result)}`);
}

// Requests the client has no (working) typed method for, sent through its
// generic request method.
const extra = {
  getExperimentByName: (experiment_name) => Experiments.req('get', '/get-by-name', { experiment_name }),
  searchExperiments: (params) => Experiments.req('post', '/search', params),
  searchExperimentsGet: (params) => Experiments.req('get', '/search', params),
  setExperimentTag: (params) => Experiments.req('post', '/set-experiment-tag', params),
  deleteExperimentTag: (params) => Experiments.req('post', '/delete-experiment-tag', params),
};

const tagValue = (tags, key) => (tags || []).find((t) => t.key === key)?.value;
const metricOf = (run, key) => (run.data.metrics || []).find((m) => m.key === key);
const paramOf = (run, key) => tagValue(run.data.params, key);
const runIds = (resp) => (resp.runs || []).map((r) => r.info.run_id).sort();

const unique = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
const expName = `mlflowjs-${unique}`;
let expId;
let runId;
const t0 = Date.now();

// --- experiments -----------------------------------------------------------

await check('experiments: create', async () => {
  const r = await Experiments.create({ name: expName });
  expId = String(r.experiment_id);
  assert.match(expId, /^\d+$/);
});

await check('experiments: create with a taken name is RESOURCE_ALREADY_EXISTS (400)', async () => {
  await rejects(Experiments.create({ name: expName }), 400, 'RESOURCE_ALREADY_EXISTS');
});

await check('experiments: get', async () => {
  const { experiment } = await Experiments.get({ experiment_id: expId });
  assert.equal(String(experiment.experiment_id), expId);
  assert.equal(experiment.name, expName);
  assert.equal(experiment.lifecycle_stage, 'active');
  assert.ok(experiment.artifact_location, 'artifact_location is set');
  assert.ok(Number(experiment.creation_time) >= t0 - 60_000, `creation_time ${experiment.creation_time}`);
});

await check('experiments: get of an unknown id is RESOURCE_DOES_NOT_EXIST (404)', async () => {
  await rejects(Experiments.get({ experiment_id: '987654321' }), 404, 'RESOURCE_DOES_NOT_EXIST');
});

await check('experiments: the default experiment 0 exists', async () => {
  const { experiment } = await Experiments.get({ experiment_id: '0' });
  assert.equal(experiment.name, 'Default');
});

await check('experiments: get-by-name', async () => {
  const { experiment } = await extra.getExperimentByName(expName);
  assert.equal(String(experiment.experiment_id), expId);
});

await check('experiments: get-by-name of an unknown name is RESOURCE_DOES_NOT_EXIST (404)', async () => {
  await rejects(extra.getExperimentByName(`no-such-${unique}`), 404, 'RESOURCE_DOES_NOT_EXIST');
});

await check('experiments: search (POST) by name', async () => {
  const r = await extra.searchExperiments({ filter: `name = '${expName}'`, max_results: 10 });
  assert.deepEqual((r.experiments || []).map((e) => String(e.experiment_id)), [expId]);
});

await check('experiments: search (GET) with LIKE and paging', async () => {
  const second = await Experiments.create({ name: `${expName}-b` });
  const filter = `name LIKE 'mlflowjs-${unique}%'`;
  const p1 = await extra.searchExperimentsGet({ filter, max_results: 1 });
  assert.equal((p1.experiments || []).length, 1);
  assert.ok(p1.next_page_token, 'a first page of 1 out of 2 has a next_page_token');
  const p2 = await extra.searchExperimentsGet({ filter, max_results: 1, page_token: p1.next_page_token });
  assert.equal((p2.experiments || []).length, 1);
  assert.ok(!p2.next_page_token, `the last page has no next_page_token, got ${JSON.stringify(p2.next_page_token)}`);
  const ids = [...p1.experiments, ...p2.experiments].map((e) => String(e.experiment_id)).sort();
  assert.deepEqual(ids, [expId, String(second.experiment_id)].sort());
});

await check('experiments: update (rename)', async () => {
  await Experiments.update({ experiment_id: expId, new_name: `${expName}-renamed` });
  const { experiment } = await Experiments.get({ experiment_id: expId });
  assert.equal(experiment.name, `${expName}-renamed`);
  await Experiments.update({ experiment_id: expId, new_name: expName });
  assert.equal((await Experiments.get({ experiment_id: expId })).experiment.name, expName);
});

await check('experiments: the typed setExperimentTag hits a path that does not exist: ENDPOINT_NOT_FOUND (404)', async () => {
  // The client builds ".../mlflow/experimentsset-experiment-tag".
  await rejects(Experiments.setExperimentTag({ experiment_id: expId, key: 'k', value: 'v' }), 404, 'ENDPOINT_NOT_FOUND');
});

await check('experiments: the removed experiments/list is ENDPOINT_NOT_FOUND (404)', async () => {
  await rejects(Experiments.list(), 404, 'ENDPOINT_NOT_FOUND');
});

await check('experiments: set, overwrite and delete a tag', async () => {
  await extra.setExperimentTag({ experiment_id: expId, key: 'team', value: 'vision' });
  await extra.setExperimentTag({ experiment_id: expId, key: 'team', value: 'nlp\nmulti-line' });
  await extra.setExperimentTag({ experiment_id: expId, key: 'owner', value: 'js' });
  let { experiment } = await Experiments.get({ experiment_id: expId });
  assert.equal(tagValue(experiment.tags, 'team'), 'nlp\nmulti-line');
  assert.equal(tagValue(experiment.tags, 'owner'), 'js');
  const r = await extra.searchExperiments({ filter: `tags.owner = 'js' AND name = '${expName}'` });
  assert.deepEqual((r.experiments || []).map((e) => String(e.experiment_id)), [expId]);
  await extra.deleteExperimentTag({ experiment_id: expId, key: 'owner' });
  ({ experiment } = await Experiments.get({ experiment_id: expId }));
  assert.equal(tagValue(experiment.tags, 'owner'), undefined);
});

await check('experiments: delete and restore', async () => {
  const { experiment_id } = await Experiments.create({ name: `${expName}-doomed` });
  await Experiments.delete({ experiment_id });
  let { experiment } = await Experiments.get({ experiment_id });
  assert.equal(experiment.lifecycle_stage, 'deleted');
  const active = await extra.searchExperiments({ filter: `name = '${expName}-doomed'` });
  assert.equal((active.experiments || []).length, 0, 'ACTIVE_ONLY search hides a deleted experiment');
  const deleted = await extra.searchExperiments({ filter: `name = '${expName}-doomed'`, view_type: 'DELETED_ONLY' });
  assert.deepEqual((deleted.experiments || []).map((e) => String(e.experiment_id)), [String(experiment_id)]);
  await Experiments.restore({ experiment_id });
  ({ experiment } = await Experiments.get({ experiment_id }));
  assert.equal(experiment.lifecycle_stage, 'active');
});

// --- runs ------------------------------------------------------------------

await check('runs: create', async () => {
  const { run } = await Runs.create({
    experiment_id: expId,
    user_id: 'mlflowjs',
    start_time: t0,
    tags: [{ key: 'mlflow.runName', value: 'js-run' }, { key: 'stage', value: 'dev' }],
  });
  runId = run.info.run_id;
  assert.match(runId, /^[0-9a-f]{32}$/);
  assert.equal(run.info.run_uuid, runId);
  assert.equal(String(run.info.experiment_id), expId);
  assert.equal(run.info.user_id, 'mlflowjs');
  assert.equal(run.info.status, 'RUNNING');
  assert.equal(run.info.lifecycle_stage, 'active');
  assert.equal(Number(run.info.start_time), t0);
  assert.equal(run.info.run_name, 'js-run');
  assert.ok(run.info.artifact_uri, 'artifact_uri is set');
  assert.equal(tagValue(run.data.tags, 'stage'), 'dev');
});

await check('runs: get', async () => {
  const { run } = await Runs.get({ run_id: runId });
  assert.equal(run.info.run_id, runId);
  assert.equal(run.info.run_name, 'js-run');
  assert.equal(tagValue(run.data.tags, 'mlflow.runName'), 'js-run');
});

await check('runs: get of an unknown run is RESOURCE_DOES_NOT_EXIST (404)', async () => {
  await rejects(Runs.get({ run_id: '0123456789abcdef0123456789abcdef' }), 404, 'RESOURCE_DOES_NOT_EXIST');
});

await check('runs: log metric; runs/get returns the latest step', async () => {
  await Runs.logMetric({ run_id: runId, key: 'loss', value: 0.9, timestamp: t0, step: 0 });
  await Runs.logMetric({ run_id: runId, key: 'loss', value: 0.25, timestamp: t0 + 2, step: 2 });
  await Runs.logMetric({ run_id: runId, key: 'loss', value: 0.5, timestamp: t0 + 1, step: 1 });
  const { run } = await Runs.get({ run_id: runId });
  const loss = metricOf(run, 'loss');
  assert.equal(loss.value, 0.25);
  assert.equal(Number(loss.step), 2);
  assert.equal(Number(loss.timestamp), t0 + 2);
});

await check('runs: log metric with a bad name is INVALID_PARAMETER_VALUE (400)', async () => {
  await rejects(Runs.logMetric({ run_id: runId, key: 'bad*name', value: 1, timestamp: t0, step: 0 }), 400, 'INVALID_PARAMETER_VALUE', /Invalid metric name/);
});

await check('runs: log param; the same value again is fine, a new one is INVALID_PARAMETER_VALUE', async () => {
  await Runs.logParameter({ run_id: runId, key: 'lr', value: '0.01' });
  await Runs.logParameter({ run_id: runId, key: 'lr', value: '0.01' });
  await rejects(Runs.logParameter({ run_id: runId, key: 'lr', value: '0.02' }), 400, 'INVALID_PARAMETER_VALUE', /Changing param values is not allowed/);
  const { run } = await Runs.get({ run_id: runId });
  assert.equal(paramOf(run, 'lr'), '0.01');
});

await check('runs: set, overwrite and delete a tag', async () => {
  await Runs.setTag({ run_id: runId, key: 'note', value: 'first' });
  await Runs.setTag({ run_id: runId, key: 'note', value: 'second' });
  let { run } = await Runs.get({ run_id: runId });
  assert.equal(tagValue(run.data.tags, 'note'), 'second');
  await Runs.deleteTag({ run_id: runId, key: 'note' });
  ({ run } = await Runs.get({ run_id: runId }));
  assert.equal(tagValue(run.data.tags, 'note'), undefined);
  await rejects(Runs.deleteTag({ run_id: runId, key: 'note' }), 404, 'RESOURCE_DOES_NOT_EXIST');
});

await check('runs: log batch of metrics, params and tags', async () => {
  await Runs.logBatch({
    run_id: runId,
    metrics: [
      { key: 'acc', value: 0.7, timestamp: t0, step: 0 },
      { key: 'acc', value: 0.8, timestamp: t0 + 1, step: 1 },
      { key: 'acc', value: 0.85, timestamp: t0 + 2, step: 2 },
    ],
    params: [{ key: 'model', value: 'mlp' }, { key: 'depth', value: '4' }],
    tags: [{ key: 'batch', value: 'yes' }],
  });
  const { run } = await Runs.get({ run_id: runId });
  assert.equal(metricOf(run, 'acc').value, 0.85);
  assert.equal(paramOf(run, 'model'), 'mlp');
  assert.equal(paramOf(run, 'depth'), '4');
  assert.equal(tagValue(run.data.tags, 'batch'), 'yes');
});

await check('metrics: get history', async () => {
  const { metrics } = await Metrics.getHistory({ run_id: runId, metric_key: 'acc' });
  const points = metrics.map((m) => [Number(m.step), m.value]).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(points, [[0, 0.7], [1, 0.8], [2, 0.85]]);
  assert.ok(metrics.every((m) => m.key === 'acc'));
});

await check('metrics: get history of an unknown key is empty', async () => {
  const r = await Metrics.getHistory({ run_id: runId, metric_key: 'never-logged' });
  assert.deepEqual(r.metrics || [], []);
});

await check('runs: update status and end time', async () => {
  const end = t0 + 5000;
  const { run_info } = await Runs.update({ run_id: runId, status: 'FINISHED', end_time: end });
  assert.equal(run_info.status, 'FINISHED');
  assert.equal(Number(run_info.end_time), end);
  const { run } = await Runs.get({ run_id: runId });
  assert.equal(run.info.status, 'FINISHED');
});

// A small experiment to search: four runs with acc 0.2, 0.4, 0.6, 0.8.
let searchExp;
const searchRuns = {};
await check('runs: search with a metric filter', async () => {
  ({ experiment_id: searchExp } = await Experiments.create({ name: `${expName}-search` }));
  for (const [i, acc] of [0.2, 0.4, 0.6, 0.8].entries()) {
    const { run } = await Runs.create({ experiment_id: searchExp, start_time: t0 + i, tags: [{ key: 'mlflow.runName', value: `r${i}` }] });
    searchRuns[acc] = run.info.run_id;
    await Runs.logBatch({
      run_id: run.info.run_id,
      metrics: [{ key: 'acc', value: acc, timestamp: t0, step: 0 }],
      params: [{ key: 'model', value: i % 2 ? 'mlp' : 'gbm' }],
      tags: [{ key: 'parity', value: i % 2 ? 'odd' : 'even' }],
    });
  }
  const r = await Runs.search({ experiment_ids: [searchExp], filter: 'metrics.acc > 0.5' });
  assert.deepEqual(runIds(r), [searchRuns[0.6], searchRuns[0.8]].sort());
});

await check('runs: search by param and tag, ordered by metric', async () => {
  const r = await Runs.search({ experiment_ids: [searchExp], filter: "params.model = 'mlp' and tags.parity = 'odd'", order_by: ['metrics.acc DESC'] });
  assert.deepEqual(r.runs.map((x) => x.info.run_id), [searchRuns[0.8], searchRuns[0.4]]);
});

await check('runs: search pages with max_results and page_token', async () => {
  const seen = [];
  let token;
  for (let page = 0; page < 10; page++) {
    const r = await Runs.search({ experiment_ids: [searchExp], max_results: 3, page_token: token });
    seen.push(...(r.runs || []).map((x) => x.info.run_id));
    token = r.next_page_token;
    if (!token) break;
  }
  assert.deepEqual(seen.sort(), Object.values(searchRuns).sort());
});

await check('runs: delete and restore; search sees only active runs by default', async () => {
  const victim = searchRuns[0.8];
  await Runs.delete({ run_id: victim });
  let { run } = await Runs.get({ run_id: victim });
  assert.equal(run.info.lifecycle_stage, 'deleted');
  let r = await Runs.search({ experiment_ids: [searchExp], filter: 'metrics.acc > 0.5' });
  assert.deepEqual(runIds(r), [searchRuns[0.6]]);
  r = await Runs.search({ experiment_ids: [searchExp], filter: 'metrics.acc > 0.5', run_view_type: 'DELETED_ONLY' });
  assert.deepEqual(runIds(r), [victim]);
  await Runs.restore({ run_id: victim });
  ({ run } = await Runs.get({ run_id: victim }));
  assert.equal(run.info.lifecycle_stage, 'active');
  r = await Runs.search({ experiment_ids: [searchExp], filter: 'metrics.acc > 0.5', run_view_type: 'ALL' });
  assert.deepEqual(runIds(r), [searchRuns[0.6], victim].sort());
});

await check('runs: writing to a deleted run is INVALID_PARAMETER_VALUE (400)', async () => {
  const { run } = await Runs.create({ experiment_id: searchExp, start_time: t0 });
  await Runs.delete({ run_id: run.info.run_id });
  await rejects(Runs.logMetric({ run_id: run.info.run_id, key: 'x', value: 1, timestamp: t0, step: 0 }), 400, 'INVALID_PARAMETER_VALUE', /must be in the 'active' state/);
});

// --- artifacts -------------------------------------------------------------

await check('artifacts: list of a run without artifacts', async () => {
  const r = await Artifacts.list({ run_id: runId });
  assert.ok(r.root_uri, `root_uri is set: ${JSON.stringify(r)}`);
  assert.deepEqual(r.files || [], []);
});

await check('artifacts: list after uploading through the artifact proxy', async () => {
  const { run } = await Runs.get({ run_id: runId });
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.+)$/.exec(run.info.artifact_uri);
  assert.ok(m, `artifact_uri ${run.info.artifact_uri} is a mlflow-artifacts: URI`);
  const put = async (path, body) => {
    const resp = await fetch(`${uri}/api/2.0/mlflow-artifacts/artifacts/${m[1]}/${path}`, { method: 'PUT', body });
    assert.equal(resp.status, 200, `PUT ${path}: ${await resp.text()}`);
  };
  await put('model/weights.bin', 'hello');
  await put('notes.txt', 'hi\n');

  const root = await Artifacts.list({ run_id: runId });
  const files = (root.files || []).map((f) => [f.path, Boolean(f.is_dir)]).sort();
  assert.deepEqual(files, [['model', true], ['notes.txt', false]]);
  const notes = root.files.find((f) => f.path === 'notes.txt');
  assert.equal(Number(notes.file_size), 3);

  const sub = await Artifacts.list({ run_id: runId, path: 'model' });
  assert.deepEqual((sub.files || []).map((f) => [f.path, Boolean(f.is_dir), Number(f.file_size)]), [['model/weights.bin', false, 5]]);

  const ofFile = await Artifacts.list({ run_id: runId, path: 'notes.txt' });
  assert.deepEqual(ofFile.files || [], [], 'listing a file gives nothing');
});

await check('artifacts: a path escaping the run is INVALID_PARAMETER_VALUE (400)', async () => {
  await rejects(Artifacts.list({ run_id: runId, path: '../../etc' }), 400, 'INVALID_PARAMETER_VALUE', /Invalid path/);
});

out(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
