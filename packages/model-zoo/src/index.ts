export { ParamStore, type Init } from './params.js';
export { readConfig, checkKeys, type Schema, type FieldSpec } from './config.js';
export {
  linear,
  applyLinear,
  norm,
  applyNorm,
  standardize,
  gelu,
  silu,
  embed,
  crossEntropy,
  type Linear,
  type Norm,
  type NormKind,
} from './layers.js';
export { sincos1d, sincos2d, applyRope, type PositionKind, type BlockPositions } from './positions.js';
export {
  createBlock,
  applyBlock,
  applyMlp,
  selfAttention,
  attentionSpec,
  resolveBlockConfig,
  TRANSFORMER_SCHEMA,
  type AttentionConfig,
  type BlockConfig,
  type ResolvedBlockConfig,
  type Block,
  type BlockContext,
  type KvCache,
  type NormPlacement,
  type MlpKind,
  type TransformerConfig,
} from './block.js';
export { PatchEncoder, patchify, type EncoderConfig } from './encoder.js';
export type { Batch, ZooModel } from './model.js';
export { Vit, resolveVitConfig, type VitConfig, type ResolvedVitConfig } from './vit.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { Lars, type LarsOptions } from './optim/lars.js';
export { warmupCosine, type WarmupCosine } from './optim/schedule.js';
export { clipByGlobalNorm, globalNorm } from './optim/clip.js';
export { Ema, emaUpdate, cosineEmaDecay } from './optim/ema.js';
export { paramGroups, isNoDecay, type ParamGroup } from './optim/groups.js';
export type { Optimizer } from './optim/optimizer.js';
export { trainStep, type StepOptions } from './train.js';
export { Mae, resolveMaeConfig, maeMaskSize, drawVisiblePatches, type MaeConfig } from './mae.js';
export { Simclr, resolveSimclrConfig, ntXent, type SimclrConfig } from './simclr.js';
export { Byol, resolveByolConfig, type ByolConfig } from './byol.js';
export { Asr, resolveAsrConfig, conv3x3s2, type AsrConfig } from './asr.js';
export { Lm, resolveLmConfig, type LmConfig, type LmLossOptions } from './lm.js';
export { ClassifierHead, resolveHeadConfig, type FeatureBackbone, type HeadConfig } from './heads.js';
export { ctcLoss, ctcSequence, ctcGreedyDecode } from './ctc.js';
export { cer, wer } from './metrics.js';
export { MODEL_NAMES, createModel, createModelFromSpec, modelSpec, resolveSpec, type ModelName } from './registry.js';
