/** Byte-level tokenizer: UTF-8 bytes are the tokens (vocabulary 256), so any text round-trips exactly. */
export interface Tokenizer {
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 256;
  encode(text: string): Int32Array {
    return Int32Array.from(utf8.encode(text));
  }
  decode(ids: ArrayLike<number>): string {
    return utf8Decoder.decode(Uint8Array.from(ids as ArrayLike<number>));
  }
}
