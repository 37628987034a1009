export { FASHION_MNIST_MANIFEST, verifyFiles, manifestFor, type FileManifest, type FileEntry } from './manifest.js';
export { parseIdx, readIdxFile, encodeIdx, type IdxArray } from './idx.js';
export {
  loadFashionMnist,
  FASHION_MNIST_DEFAULT_PATH,
  FASHION_MNIST_SETUP_HINT,
  FASHION_MNIST_CLASSES,
  type ImageSplit,
  type FashionMnistOptions,
} from './fashion-mnist.js';
export { imageBatches, normalizeImages, channelStats, type ImageBatch, type BatchOptions } from './batches.js';

// images
export { parseCifar10, encodeCifar10, loadCifar10, CIFAR10_CLASSES } from './image/cifar10.js';
export { augmentView, twoViews, SIMCLR_AUGMENT, BYOL_AUGMENT, type AugmentConfig, type TwoViews, type ImageShape } from './image/augment.js';

// speech
export { RealFft } from './speech/fft.js';
export { LogMel, LOGMEL_DEFAULTS, frameCount, melFilterbank, type LogMelOptions } from './speech/logmel.js';
export { Resampler } from './speech/resample.js';
export { parseWav, encodeWav, type Pcm } from './speech/wav.js';
export { createSynthesizer, type Synthesizer, type Voice, type SynthOptions } from './speech/espeak.js';
export { SPEECH_CHARS, CTC_BLANK, normalizeTranscript, encodeTranscript, decodeTranscript } from './speech/transcripts.js';
export {
  prepareSpeechCorpus,
  loadSpeechCorpus,
  speechParams,
  speechCacheMatches,
  makeSpeakers,
  SPEECH_SIZES,
  type SpeechSize,
  type SpeechCorpus,
  type SpeechSplit,
  type SpeechManifest,
  type SpeechCorpusParams,
  type Utterance,
} from './speech/corpus.js';

// text
export { loadKjv, loadTextFiles, splitDocuments, type TextDocument, type TextSplits } from './text/corpus.js';
export { ByteTokenizer, type Tokenizer } from './text/tokenizer.js';
export { BpeTokenizer } from './text/bpe.js';
export { lmBatches, lmEvalSets, type LmBatch, type EvalSet } from './text/lm-batches.js';
export { prepareTextCorpus, loadTextCorpus, textCacheMatches, type TextCorpus, type TextCorpusParams, type TextManifest } from './text/prepare.js';

// synthetic tasks
export { makeExample, taskBatch, collate, lengthGeneralizationSplits, taskVocab, TASKS, IGNORE, type TaskName, type TaskBatch } from './tasks/synthetic.js';
