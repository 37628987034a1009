/**
 * The sequence tasks (asr, lm, synthetic): their hooks on tiny corpora built in temp directories, a
 * short training that improves each task's metric, the eval.bias policy, and the config errors that
 * keep a run from starting with data or a model that cannot work.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, Rng } from '@sigattn/common';
import { decodeTranscript, IGNORE, prepareTextCorpus, taskVocab } from '@sigattn/data';
import { initBackend } from '@sigattn/kernel-core';
import { AdamW, createModelFromSpec, trainStep, type Batch, type ZooModel } from '@sigattn/model-zoo';
import { runConfigSchema, type RunConfig } from '../src/config/run-config.js';
import { runExperiment } from '../src/experiment.js';
import { asrTask, nEvalOf } from '../src/tasks/asr.js';
import { lmTask } from '../src/tasks/lm.js';
import { answerBatch, inputLength, syntheticTask } from '../src/tasks/synthetic.js';
import type { Task, TaskContext } from '../src/tasks/task.js';
import { tempDirs } from './fixtures.js';

const temps = tempDirs();
beforeAll(() => initBackend('wasm'));
afterAll(temps.cleanup);

/** A unit's config as the runner resolves it: the run schema's defaults, then the task's data schema. */
function config<D>(task: Task<D>, tree: Record<string, unknown>): RunConfig {
  const cfg = runConfigSchema.parse({ name: 't', task: task.name, ...tree }, '') as RunConfig;
  return { ...cfg, data: task.dataSchema.parse(cfg.data, 'data') };
}

/** A unit's context after the runner's checks (checkData, checkConfig), which run before anything is written. */
function context<D>(task: Task<D>, tree: Record<string, unknown>, logs: string[] = []): TaskContext {
  const cfg = config(task, tree);
  task.checkData(cfg.data);
  task.checkConfig?.(cfg);
  return { cfg, seed: cfg.seed, log: (l) => logs.push(l) };
}

/** The runner's loop, reduced: trainStep over the task's batches, disposing every batch. */
async function train<D>(task: Task<D>, data: D, ctx: TaskContext, model: ZooModel, epochs: number): Promise<number[]> {
  const opt = new AdamW(model.trainableEntries(), { lr: ctx.cfg.train.lr, weightDecay: 0 });
  const losses: number[] = [];
  const total = task.stepsPerEpoch(data, ctx) * epochs;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for await (const batch of task.trainBatches(data, ctx, epoch)) {
      losses.push(await trainStep(model, batch, opt, { step: losses.length, totalSteps: total }));
      tf.dispose(batch as tf.TensorContainer);
    }
  }
  opt.dispose();
  return losses;
}

const lmModel = (over: Record<string, unknown> = {}) => ({
  name: 'lm', vocab: 64, contextLength: 16, dim: 32, depth: 1, heads: 2, mlpRatio: 2, positions: 'alibi',
  attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'rmsnorm', causal: true }, ...over,
});

describe('synthetic task', () => {
  // Counting is the quickest of the five to learn: a few dozen steps get well above chance.
  const cfgTree = (over: Record<string, unknown> = {}) => ({
    model: lmModel({ vocab: taskVocab(4, 6).size, contextLength: inputLength('count', 4, 6, 3) }),
    data: { task: 'count', symbols: 4, trainLengths: [1, 3], testLengths: [5, 6], testExamples: 64 },
    train: { epochs: 1, batchSize: 32, lr: 0.01, stepsPerEpoch: 50 },
    ...over,
  });
  const copy = (over: Record<string, unknown> = {}) =>
    cfgTree({ model: lmModel({ vocab: taskVocab(4, 6).size, contextLength: 8 }), data: { task: 'copy', symbols: 4, trainLengths: [1, 3], testLengths: [5, 6] }, ...over });

  it('masks the loss to the answer and EOS; batches are seeded by (seed, epoch) and padded to contextLength', async () => {
    const ctx = context(syntheticTask, copy());
    const data = await syntheticTask.load(ctx);
    const [a] = syntheticTask.trainBatches(data, ctx, 0) as Iterable<Batch>;
    const [again] = syntheticTask.trainBatches(data, ctx, 0) as Iterable<Batch>;
    const [next] = syntheticTask.trainBatches(data, ctx, 1) as Iterable<Batch>;
    expect(a.tokens!.shape).toEqual([32, 9]); // contextLength 8 inputs + the last target
    expect(a.lossMask!.shape).toEqual([32, 8]);
    const tokens = await a.tokens!.array();
    const mask = await a.lossMask!.array();
    expect(await again.tokens!.array()).toEqual(tokens);
    expect(await next.tokens!.array()).not.toEqual(tokens);
    for (let r = 0; r < 32; r++) {
      // copy: [BOS, s1..sL, SEP, s1..sL, EOS] — the mask keeps the L answer tokens and the EOS.
      const sep = tokens[r].indexOf(2);
      const L = sep - 1;
      expect(mask[r].reduce((x, y) => x + y, 0)).toBe(L + 1);
      expect(tokens[r].slice(sep + 1, sep + 1 + L)).toEqual(tokens[r].slice(1, sep));
      expect(tokens[r][sep + 1 + L]).toBe(3);
      for (let t = 0; t < 8; t++) expect(mask[r][t]).toBe(t >= sep && t <= sep + L ? 1 : 0);
    }
    tf.dispose([a, again, next] as tf.TensorContainer);
  });

  it('answerBatch: the next token of every scored position is its target', () => {
    const b = { x: Int32Array.from([1, 4, 2, 4, 0, 0]), y: Int32Array.from([IGNORE, IGNORE, 4, 3, IGNORE, IGNORE]), size: 1, seqLen: 6, lengths: Int32Array.from([1]) };
    const { tokens, lossMask } = answerBatch(b);
    expect(Array.from(tokens!.dataSync())).toEqual([1, 4, 2, 4, 3, 0, 0]);
    expect(Array.from(lossMask!.dataSync())).toEqual([0, 0, 1, 1, 0, 0]);
    tf.dispose([tokens!, lossMask!]);
  });

  it('a short training raises answer-token accuracy and exact match at the test lengths and at the training length', async () => {
    const ctx = context(syntheticTask, cfgTree());
    const data = await syntheticTask.load(ctx);
    const model = createModelFromSpec(ctx.cfg.model, 0);
    const before = await syntheticTask.evaluate(model, data, ctx, 0);
    const losses = await train(syntheticTask, data, ctx, model, 1);
    const after = await syntheticTask.evaluate(model, data, ctx, 0);
    expect(Object.keys(after).sort()).toEqual([
      'exact_len_5', 'exact_len_6', 'test_exact_match', 'test_token_accuracy', 'token_acc_len_5', 'token_acc_len_6', 'train_length_exact_match', 'train_length_token_accuracy',
    ]);
    expect(after.test_token_accuracy).toBeCloseTo((after.token_acc_len_5 + after.token_acc_len_6) / 2, 10);
    expect(after.test_exact_match).toBeCloseTo((after.exact_len_5 + after.exact_len_6) / 2, 10);
    // count's answer is one number and the EOS: a right example has both tokens right.
    expect(after.test_token_accuracy).toBeGreaterThanOrEqual(after.test_exact_match);
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]);
    expect(after.train_length_exact_match).toBeGreaterThan(before.train_length_exact_match + 0.3);
    expect(after.test_exact_match).toBeGreaterThan(before.test_exact_match + 0.15);
    expect(after.test_token_accuracy).toBeGreaterThan(before.test_token_accuracy + 0.3);
    model.dispose();
  });

  it('refuses test lengths inside the training range, too few recall keys, a short context, a small vocabulary, learned positions and an endless epoch', () => {
    const check = (data: Record<string, unknown>) => () => syntheticTask.checkData(syntheticTask.dataSchema.parse(data, 'data'));
    expect(check({ trainLengths: [1, 8], testLengths: [8, 16] })).toThrow(/data\.testLengths: every test length must exceed the longest training length 8 .* found 8/);
    expect(check({ task: 'recall', symbols: 8, trainLengths: [1, 4], testLengths: [12] })).toThrow(/data\.symbols: recall with 12 pairs needs 12 distinct keys/);
    expect(() => syntheticTask.dataSchema.parse({ trainLengths: [4, 2] }, 'data')).toThrow(ConfigError);
    const checkConfig = (over: Record<string, unknown>) => () => syntheticTask.checkConfig!(config(syntheticTask, copy(over)));
    expect(checkConfig({ model: lmModel({ vocab: 64, contextLength: 7 }) })).toThrow(/model\.contextLength: the copy task's longest training example \(length 3\) has 8 input tokens, found contextLength 7; set model\.contextLength: 8/);
    expect(checkConfig({ model: lmModel({ vocab: 10, contextLength: 8 }) })).toThrow(/model\.vocab: .* has 15 tokens, found vocab 10; set model\.vocab: 15/);
    expect(checkConfig({ model: lmModel({ vocab: 64, contextLength: 8, positions: 'learned' }) })).toThrow(/model\.positions: the synthetic task evaluates at 14 positions, but a learned position table ends at the training length 8/);
    expect(checkConfig({ train: { epochs: 1, batchSize: 8, lr: 0.01 } })).toThrow(/train\.stepsPerEpoch: .* endless stream/);
  });
});

/** Sentences from a small grammar: enough structure that a tiny LM beats its initial perplexity in a few dozen steps. */
function grammarText(chars: number, seed: number): string {
  const rng = new Rng(seed);
  const pick = (words: string[]) => words[rng.int(words.length)];
  const nouns = ['cat', 'dog', 'bird', 'king', 'servant', 'river', 'house', 'field'];
  let text = '';
  while (text.length < chars) {
    text += `The ${pick(nouns)} ${pick(['sat', 'ran', 'slept', 'stood', 'walked'])} ${pick(['on', 'under', 'by', 'near'])} the ${pick(nouns)}${pick(['.', ', and it was good.', '.'])}\n`;
  }
  return text;
}

describe('lm task', () => {
  let corpus = '';
  beforeAll(async () => {
    const dir = temps.make('sigattn-lm-');
    writeFileSync(join(dir, 'grammar.txt'), grammarText(120_000, 1));
    corpus = join(dir, 'cache');
    await prepareTextCorpus({ source: [join(dir, 'grammar.txt')], seed: 0, valid: 0.05, test: 0.05, vocabSize: 300 }, corpus);
  });
  const cfgTree = (over: Record<string, unknown> = {}) => ({
    model: lmModel({ vocab: 300 }),
    data: { path: corpus, vocab: 300, evalWindows: 2 },
    train: { epochs: 1, batchSize: 16, lr: 0.01, stepsPerEpoch: 40, evalBatchSize: 8 },
    ...over,
  });

  it('a missing cache names the command that builds it, unless data.build asks to build it', () => {
    const check = (data: Record<string, unknown>) => () => lmTask.checkData(lmTask.dataSchema.parse(data, 'data'));
    expect(check({ vocab: 777, seed: 99 })).toThrow(DataError);
    expect(check({ vocab: 777, seed: 99 })).toThrow(
      'data.path: no tokenised text corpus at datasets/cache/text/kjv-bpe777-seed99 (no manifest.json); build it with `npx nx run data:prepare-text --vocab=777 --seed=99`, or set data.build: true to build it on the first run',
    );
    expect(check({ path: '/nonexistent/text' })).toThrow(/build it with `npx nx run data:prepare-text --vocab=512 --seed=0 --out=\/nonexistent\/text`/);
    expect(check({ vocab: 777, seed: 99, build: true })).not.toThrow();
    expect(check({ path: corpus })).not.toThrow();
  });

  it('trains on contiguous windows of contextLength + 1 tokens, seeded by (seed, epoch)', async () => {
    const ctx = context(lmTask, cfgTree());
    const data = await lmTask.load(ctx);
    const batches = [...(lmTask.trainBatches(data, ctx, 0) as Iterable<Batch>)];
    expect(batches).toHaveLength(lmTask.stepsPerEpoch(data, ctx));
    expect(batches).toHaveLength(40);
    const rows = (await batches[0].tokens!.array()) as number[][];
    expect(rows).toHaveLength(16);
    for (const row of rows) {
      expect(row).toHaveLength(17);
      const start = data.train.indexOf(row[0]);
      expect(start).toBeGreaterThanOrEqual(0);
      // Windows start at multiples of contextLength (non-overlapping); find this one by its position.
      const k = Array.from({ length: Math.floor(data.train.length / 16) }, (_, i) => i).find((i) => data.train.slice(i * 16, i * 16 + 17).every((t, j) => t === row[j]));
      expect(k).toBeDefined();
    }
    const [again] = lmTask.trainBatches(data, ctx, 0) as Iterable<Batch>;
    const [other] = lmTask.trainBatches(data, ctx, 1) as Iterable<Batch>;
    expect(await again.tokens!.array()).toEqual(rows);
    expect(await other.tokens!.array()).not.toEqual(rows);
    tf.dispose([batches, again, other] as tf.TensorContainer);
  });

  it('a short training lowers the test perplexity at the training length; every multiple is reported, ppl = exp(loss)', async () => {
    const ctx = context(lmTask, cfgTree());
    const data = await lmTask.load(ctx);
    const model = createModelFromSpec(ctx.cfg.model, 0);
    const before = await lmTask.evaluate(model, data, ctx, 0);
    expect(data.evalSets.get(16)!.map((s) => [s.multiple, s.seqLen, s.size])).toEqual([[1, 16, 16], [2, 32, 8], [4, 64, 4], [8, 128, 2]]);
    await train(lmTask, data, ctx, model, 1);
    const after = await lmTask.evaluate(model, data, ctx, 0);
    expect(Object.keys(after).sort()).toEqual(lmTask.metrics.map((m) => m.name).sort());
    for (const m of [1, 2, 4, 8]) expect(after[`ppl_x${m}`]).toBeCloseTo(Math.exp(after[`loss_x${m}`]), 6);
    expect(after.ppl_x1).toBeLessThan(0.5 * before.ppl_x1);
    model.dispose();
  });

  it('eval.bias: eval-length changes a sigmoid model’s scores beyond the training length only; softmax is unaffected', async () => {
    const scores = async (kind: string, bias: string) => {
      const ctx = context(lmTask, cfgTree({ model: lmModel({ vocab: 300, attention: { kind, bias: 'negLogN', qkNorm: 'rmsnorm', causal: true } }), eval: { bias } }));
      const data = await lmTask.load(ctx);
      const model = createModelFromSpec(ctx.cfg.model, 3);
      const r = await lmTask.evaluate(model, data, ctx, 0);
      model.dispose();
      return r;
    };
    const kept = await scores('sigmoid', 'train-length');
    const recomputed = await scores('sigmoid', 'eval-length');
    expect(recomputed.loss_x1).toBe(kept.loss_x1);
    for (const m of [2, 4, 8]) expect(Math.abs(recomputed[`loss_x${m}`] - kept[`loss_x${m}`])).toBeGreaterThan(1e-4);
    expect(await scores('softmax', 'eval-length')).toEqual(await scores('softmax', 'train-length'));
  });

  it('refuses a vocabulary smaller than the corpus’s, learned positions (they end at contextLength) and too few test tokens', () => {
    const check = (over: Record<string, unknown>) => () => lmTask.checkConfig!(config(lmTask, cfgTree(over)));
    expect(check({ model: lmModel({ vocab: 256 }) })).toThrow(/model\.vocab: expected at least 300 \(the BPE vocabulary of .*cache\), found 256; set model\.vocab: 300/);
    expect(check({ model: lmModel({ vocab: 300, positions: 'learned' }) })).toThrow(
      /model\.positions: the lm task evaluates at 128 positions, but a learned position table ends at the training length 16; use alibi, rope, sincos or none/,
    );
    expect(check({ data: { path: corpus, vocab: 300, evalWindows: 1000 } })).toThrow(/data\.evalWindows: 1000 windows of 128 tokens \(×8 model\.contextLength\) need 128001 test tokens/);
  });
});

describe('asr task', () => {
  let corpus = '';
  const logs: string[] = [];
  const asrModel = (over: Record<string, unknown> = {}) => ({
    name: 'asr', mels: 80, vocab: 29, convChannels: 4, trainFrames: 100, dim: 32, depth: 1, heads: 2, mlpRatio: 2, dropout: 0, positions: 'rope',
    attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'layernorm', causal: false }, ...over,
  });
  const cfgTree = (over: Record<string, unknown> = {}) => ({
    model: asrModel(),
    data: { size: 'tiny', path: corpus },
    train: { epochs: 1, batchSize: 3, lr: 0.01, evalBatchSize: 4 },
    ...over,
  });
  beforeAll(async () => {
    corpus = join(temps.make('sigattn-asr-'), 'speech');
    // data.build makes the missing corpus on the first load (espeak-ng, ~4 s for the tiny preset).
    await asrTask.load(context(asrTask, cfgTree({ data: { size: 'tiny', path: corpus, build: true } }), logs));
  }, 60_000);

  it('a missing corpus names the command that builds it; data.build builds it once, with progress lines', async () => {
    const check = (data: Record<string, unknown>) => () => asrTask.checkData(asrTask.dataSchema.parse(data, 'data'));
    expect(check({ size: 'large', seed: 77 })).toThrow(
      'data.path: no speech corpus at datasets/cache/speech/large-seed77 (no manifest.json); build it with `npx nx run data:prepare-speech --size=large --seed=77`, or set data.build: true to build it on the first run',
    );
    expect(check({ size: 'tiny', path: '/nonexistent/speech' })).toThrow(/`npx nx run data:prepare-speech --size=tiny --seed=0 --out=\/nonexistent\/speech`/);
    expect(check({ size: 'tiny', path: corpus })).not.toThrow();
    expect(check({ size: 'small', path: corpus })).toThrow(/holds a speech corpus of another generator version or parameters than data\.size small, data\.seed 0; rebuild it with `.*--size=small .* --force`/);
    expect(logs[0]).toMatch(/asr: building the tiny speech corpus at .*speech with espeak-ng \(11 utterances\)/);
    expect(logs.at(-1)).toMatch(/^speech corpus: 11\/11 \(100%\)/);
    const again: string[] = [];
    await asrTask.load(context(asrTask, cfgTree({ data: { size: 'tiny', path: corpus, build: true } }), again));
    expect(again).toEqual([]);
  });

  it('trains on normalised, padded features with their CTC targets, in a seeded order', async () => {
    const ctx = context(asrTask, cfgTree());
    const data = await asrTask.load(ctx);
    expect(data.tests.map((t) => [t.suffix, nEvalOf(ctx.cfg, t), t.indices.length])).toEqual([['1_4s', 100, 2], ['4_8s', 200, 2], ['8_16s', 400, 1]]);
    const batches = [...(asrTask.trainBatches(data, ctx, 0) as Iterable<Batch>)];
    expect(batches).toHaveLength(2);
    let sum = 0;
    let frames = 0;
    const seen: string[] = [];
    for (const b of batches) {
      const [B, T, mels] = b.features!.shape;
      expect([B, mels]).toEqual([3, 80]);
      expect(Math.max(...b.featureLengths!)).toBe(T);
      const x = (await b.features!.array()) as number[][][];
      b.featureLengths!.forEach((n, r) => {
        for (let t = 0; t < n; t++) for (const v of x[r][t]) sum += v;
        frames += n;
        for (let t = n; t < T; t++) expect(x[r][t].every((v) => v === 0)).toBe(true);
        seen.push(decodeTranscript(b.targets![r]));
      });
    }
    // Normalised with the training split's own statistics: the mean over all its frames is 0.
    expect(Math.abs(sum / (frames * 80))).toBeLessThan(1e-4);
    expect(seen.sort()).toEqual(data.train.split.utterances.map((u) => u.text).sort());
    const order = async (epoch: number) => Promise.all([...(asrTask.trainBatches(data, ctx, epoch) as Iterable<Batch>)].map((b) => b.targets!.map((t) => t.join(',')).join('|')));
    expect(await order(0)).toEqual(await order(0));
    expect(await order(0)).not.toEqual(await order(3));
    tf.dispose(batches as tf.TensorContainer);
  });

  it('a short training lowers the CTC loss of the held-out 1–4 s speakers; CER and WER come per duration bucket', async () => {
    const ctx = context(asrTask, cfgTree());
    const data = await asrTask.load(ctx);
    const model = createModelFromSpec(ctx.cfg.model, 0);
    const before = await asrTask.evaluate(model, data, ctx, 0);
    await train(asrTask, data, ctx, model, 10);
    const after = await asrTask.evaluate(model, data, ctx, 0);
    expect(Object.keys(after).sort()).toEqual(asrTask.metrics.map((m) => m.name).sort());
    // Six training utterances teach blanks and character frequencies (≈ 0.75× the initial loss), not words.
    expect(after.ctc_loss_1_4s).toBeLessThan(0.85 * before.ctc_loss_1_4s);
    for (const s of ['1_4s', '4_8s', '8_16s']) {
      expect(after[`cer_${s}`]).toBeGreaterThanOrEqual(0);
      expect(after[`wer_${s}`]).toBeGreaterThanOrEqual(0);
    }
    model.dispose();
  }, 60_000);

  it('eval.bias: eval-length leaves the 1–4 s bucket (n_eval = trainFrames) alone and changes the longer ones for sigmoid', async () => {
    const scores = async (bias: string) => {
      const ctx = context(asrTask, cfgTree({ eval: { bias } }));
      const data = await asrTask.load(ctx);
      const model = createModelFromSpec(ctx.cfg.model, 2);
      const r = await asrTask.evaluate(model, data, ctx, 0);
      model.dispose();
      return r;
    };
    const kept = await scores('train-length');
    const recomputed = await scores('eval-length');
    expect(recomputed.ctc_loss_1_4s).toBe(kept.ctc_loss_1_4s);
    expect(Math.abs(recomputed.ctc_loss_4_8s - kept.ctc_loss_4_8s)).toBeGreaterThan(1e-4);
    expect(Math.abs(recomputed.ctc_loss_8_16s - kept.ctc_loss_8_16s)).toBeGreaterThan(1e-4);
  });

  it('refuses mel bins other than the corpus’s, a vocabulary without room for the characters, and webgpu', () => {
    const check = (over: Record<string, unknown>) => () => asrTask.checkConfig!(config(asrTask, cfgTree(over)));
    expect(check({ model: asrModel({ mels: 40 }) })).toThrow(/model\.mels: expected 80 \(the corpus at .* has 80-bin log-mel frames\), found 40/);
    expect(check({ model: asrModel({ vocab: 20 }) })).toThrow(/model\.vocab: expected at least 29 \(the CTC blank and 28 characters\), found 20/);
    expect(check({ backend: 'webgpu' })).toThrow(/backend: the asr task needs cpu or wasm/);
  });
});

describe('the experiment configs through the runner', () => {
  const configs = join(import.meta.dirname, '../../../configs/experiments');
  const quiet = { log: () => {} };

  it('synthetic.yaml, shrunk: both variants share the loaded data, train, and report every length', async () => {
    const out = temps.make('sigattn-synthetic-');
    const shrink = [`output=${out}`, 'train.epochs=1', 'train.stepsPerEpoch=3', 'train.batchSize=8', 'data.testExamples=4', 'model.dim=16', 'model.depth=1'];
    const result = await runExperiment(join(configs, 'synthetic.yaml'), { overrides: shrink, ...quiet });
    expect(result.rows.map((r) => [r.variant, r.epoch, r.steps])).toEqual([['softmax', 1, 3], ['sigmoid', 1, 3]]);
    for (const r of result.rows) {
      for (const key of ['test_token_accuracy', 'test_exact_match', 'train_length_token_accuracy', 'token_acc_len_24', 'token_acc_len_32', 'exact_len_24', 'exact_len_32']) {
        expect(typeof r[key], `${r.variant} ${key}`).toBe('number');
      }
    }
    expect(result.table).toMatch(/\| variant \| seeds \| epochs \| answer-token accuracy, mean over test lengths \(%\) \|/);
  });

  it('lm.yaml on a tiny corpus: a model that cannot evaluate stops the run before anything is written', async () => {
    const out = temps.make('sigattn-lm-run-');
    const dir = temps.make('sigattn-lm-corpus-');
    writeFileSync(join(dir, 'grammar.txt'), grammarText(60_000, 2));
    await prepareTextCorpus({ source: [join(dir, 'grammar.txt')], seed: 0, valid: 0.05, test: 0.05, vocabSize: 300 }, join(dir, 'cache'));
    const shrink = [`output=${out}`, `data.path=${join(dir, 'cache')}`, 'data.build=false', 'data.evalWindows=1', 'train.epochs=1', 'train.stepsPerEpoch=2', 'model.contextLength=16', 'model.dim=16', 'model.depth=1'];
    await expect(runExperiment(join(configs, 'lm.yaml'), { overrides: [...shrink, 'model.positions=learned'], ...quiet })).rejects.toThrow(/model\.positions: the lm task evaluates at 128 positions/);
    expect(readdirSync(out)).toEqual([]);
    const result = await runExperiment(join(configs, 'lm.yaml'), { overrides: shrink, variants: ['sigmoid'], ...quiet });
    expect(result.rows).toHaveLength(1);
    for (const m of [1, 2, 4, 8]) expect(Number(result.rows[0][`ppl_x${m}`])).toBeGreaterThan(1);
  });
});
