/** Minimal WAV (RIFF PCM s16) reader/writer: enough for espeak-ng's output and for exporting utterances. */
import { DataError } from '@sigattn/common';

export interface Pcm {
  sampleRate: number;
  /** Mono samples in [−1, 1). Multi-channel input is averaged. */
  samples: Float32Array;
}

export function parseWav(buf: Uint8Array, source: string): Pcm {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (o: number): string => String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') {
    throw new DataError(`${source}: expected a RIFF/WAVE header, found ${buf.length < 12 ? `${buf.length} bytes` : JSON.stringify(tag(0) + tag(8))}`);
  }
  let off = 12;
  let rate = 0;
  let channels = 0;
  while (off + 8 <= buf.length) {
    const id = tag(off);
    const size = view.getUint32(off + 4, true);
    if (id === 'fmt ') {
      const format = view.getUint16(off + 8, true);
      channels = view.getUint16(off + 10, true);
      rate = view.getUint32(off + 12, true);
      const bits = view.getUint16(off + 22, true);
      if (format !== 1 || bits !== 16) throw new DataError(`${source}: expected PCM 16-bit WAV, found format ${format} with ${bits} bits; convert it with: sox in.wav -b 16 out.wav`);
    } else if (id === 'data') {
      if (!rate) throw new DataError(`${source}: WAV 'data' chunk before 'fmt ' chunk`);
      // streamed WAVs (espeak-ng --stdout) carry a placeholder size: take what is there
      const bytes = Math.min(size, buf.length - off - 8) & ~1;
      const frames = Math.floor(bytes / 2 / channels);
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let acc = 0;
        for (let c = 0; c < channels; c++) acc += view.getInt16(off + 8 + 2 * (i * channels + c), true);
        samples[i] = acc / channels / 32768;
      }
      return { sampleRate: rate, samples };
    }
    off += 8 + size + (size & 1);
  }
  throw new DataError(`${source}: WAV has no 'data' chunk (truncated file?)`);
}

export function encodeWav(pcm: Pcm): Uint8Array {
  const n = pcm.samples.length;
  const buf = new Uint8Array(44 + 2 * n);
  const v = new DataView(buf.buffer);
  const put = (o: number, s: string): void => [...s].forEach((ch, i) => (buf[o + i] = ch.charCodeAt(0)));
  put(0, 'RIFF');
  v.setUint32(4, 36 + 2 * n, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, pcm.sampleRate, true);
  v.setUint32(28, pcm.sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  put(36, 'data');
  v.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) v.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, Math.round(pcm.samples[i] * 32768))), true);
  return buf;
}
