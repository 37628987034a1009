export { ParamStore, type Init } from './params.js';
export { linear, applyLinear, norm, applyNorm, gelu, type Linear, type Norm, type NormKind } from './layers.js';
export {
  createBlock,
  applyBlock,
  selfAttention,
  attentionSpec,
  type AttentionConfig,
  type BlockConfig,
  type Block,
} from './block.js';
export { Vit, type VitConfig } from './vit.js';
