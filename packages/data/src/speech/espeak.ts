/**
 * espeak-ng speech synthesis. In process through libespeak-ng.so.1 via koffi (hundreds of sentences per second),
 * or one `espeak-ng` process per sentence as a fallback (about 28 per second). Both give mono s16 at 22,050 Hz.
 */
import { execFileSync } from 'node:child_process';
import koffi from 'koffi';
import { DataError } from '@sigattn/common';
import { parseWav } from './wav.js';

export const ESPEAK_HINT = 'install espeak-ng with: tools/setup.sh (Debian packages espeak-ng, libespeak-ng1)';

export interface Voice {
  /** espeak-ng voice name with an optional variant, e.g. 'en-us+f3'. */
  name: string;
  /** Words per minute (espeak default 175). */
  rate: number;
  /** Pitch 0..99 (default 50). */
  pitch: number;
}

export interface Synthesizer {
  readonly kind: 'library' | 'cli';
  readonly sampleRate: number;
  /** Synthesize one sentence; samples in [−1, 1). */
  synth(text: string, voice: Voice): Float32Array;
  close(): void;
}

interface EspeakLib {
  setVoice: (name: string) => number;
  setParameter: (param: number, value: number, relative: number) => number;
  synth: (text: Buffer, size: number, pos: number, posType: number, end: number, flags: number, uid: null, user: null) => number;
  sampleRate: number;
  chunks: Int16Array[];
}

// espeak-ng keeps global state, so the library is initialised once per process and shared.
let shared: EspeakLib | undefined;

function loadLibrary(path: string): EspeakLib {
  if (shared) return shared;
  const lib = koffi.load(path);
  const initialize = lib.func('int espeak_Initialize(int output, int buflength, const char *path, int options)');
  const proto = koffi.proto('int SigattnSynthCallback(int16_t *wav, int numsamples, void *events)');
  const setCallback = lib.func('void espeak_SetSynthCallback(SigattnSynthCallback *cb)');
  const state: EspeakLib = {
    setVoice: lib.func('int espeak_SetVoiceByName(const char *name)'),
    setParameter: lib.func('int espeak_SetParameter(int parameter, int value, int relative)'),
    synth: lib.func(
      'int espeak_Synth(const void *text, size_t size, unsigned int position, int position_type, unsigned int end_position, unsigned int flags, void *uid, void *user_data)',
    ),
    sampleRate: 0,
    chunks: [],
  };
  const rate = initialize(2 /* AUDIO_OUTPUT_SYNCHRONOUS */, 0, null, 0) as number;
  if (rate <= 0) throw new DataError(`${path}: espeak_Initialize failed (returned ${rate}); is espeak-ng-data installed? ${ESPEAK_HINT}`);
  state.sampleRate = rate;
  const cb = koffi.register((wav: unknown, n: number) => {
    // koffi.decode into a typed array copies the chunk out of espeak's buffer, which it reuses
    if (n > 0 && wav !== null) state.chunks.push(koffi.decode(wav, koffi.array('int16_t', n, 'Typed')) as Int16Array);
    return 0;
  }, koffi.pointer(proto));
  setCallback(cb);
  shared = state;
  return state;
}

const concat = (chunks: Int16Array[]): Float32Array => {
  const out = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) for (let i = 0; i < c.length; i++) out[at++] = c[i] / 32768;
  return out;
};

class LibrarySynth implements Synthesizer {
  readonly kind = 'library';
  constructor(private readonly lib: EspeakLib) {}
  get sampleRate(): number {
    return this.lib.sampleRate;
  }
  synth(text: string, voice: Voice): Float32Array {
    const l = this.lib;
    if (l.setVoice(voice.name) !== 0) throw new DataError(`espeak-ng: unknown voice '${voice.name}'; list voices with: espeak-ng --voices=en`);
    l.setParameter(1 /* espeakRATE */, voice.rate, 0);
    l.setParameter(3 /* espeakPITCH */, voice.pitch, 0);
    l.chunks = [];
    const buf = Buffer.from(text + '\0', 'utf8');
    const rc = l.synth(buf, buf.length, 0, 1 /* POS_CHARACTER */, 0, 0 /* espeakCHARS_AUTO */, null, null);
    if (rc !== 0) throw new DataError(`espeak-ng: espeak_Synth failed with code ${rc} for ${JSON.stringify(text.slice(0, 40))}`);
    return concat(l.chunks);
  }
  close(): void {}
}

class CliSynth implements Synthesizer {
  readonly kind = 'cli';
  readonly sampleRate = 22050;
  constructor(private readonly bin: string) {}
  synth(text: string, voice: Voice): Float32Array {
    let out: Buffer;
    try {
      out = execFileSync(this.bin, ['--stdout', '-v', voice.name, '-s', String(voice.rate), '-p', String(voice.pitch), '--', text], {
        maxBuffer: 1 << 28,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      throw new DataError(`${this.bin}: failed (${(err as Error).message.split('\n')[0]}); ${ESPEAK_HINT}`);
    }
    const pcm = parseWav(out, `${this.bin} --stdout`);
    if (pcm.sampleRate !== this.sampleRate) throw new DataError(`${this.bin}: expected ${this.sampleRate} Hz output, found ${pcm.sampleRate} Hz`);
    return pcm.samples;
  }
  close(): void {}
}

export interface SynthOptions {
  /** 'auto' (default) tries the library, then the CLI. */
  backend?: 'auto' | 'library' | 'cli';
  libraryPath?: string;
  cliPath?: string;
}

export function createSynthesizer(opts: SynthOptions = {}): Synthesizer {
  const backend = opts.backend ?? 'auto';
  const libPath = opts.libraryPath ?? 'libespeak-ng.so.1';
  const cliPath = opts.cliPath ?? 'espeak-ng';
  let libErr: Error | undefined;
  if (backend !== 'cli') {
    try {
      return new LibrarySynth(loadLibrary(libPath));
    } catch (err) {
      libErr = err as Error;
      if (backend === 'library') throw new DataError(`${libPath}: cannot load espeak-ng library (${libErr.message}); ${ESPEAK_HINT}`);
    }
  }
  try {
    execFileSync(cliPath, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new DataError(`neither ${libPath} (${libErr?.message ?? 'not tried'}) nor the ${cliPath} command is usable; ${ESPEAK_HINT}`);
  }
  return new CliSynth(cliPath);
}
