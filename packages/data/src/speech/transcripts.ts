/** Character transcripts for ASR: lowercase letters, apostrophe and space; id 0 is reserved for the CTC blank. */
export const SPEECH_CHARS = " 'abcdefghijklmnopqrstuvwxyz";
export const CTC_BLANK = 0;

/** What the model must output: lowercase, only SPEECH_CHARS, single spaces. */
export function normalizeTranscript(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z' ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** What espeak-ng reads: the sentence with its punctuation (for natural pauses) but nothing it would spell out. */
export function synthText(text: string): string {
  return text.replace(/[^A-Za-z ,.;:?!'-]+/g, ' ').replace(/\s+/g, ' ').trim();
}

export function encodeTranscript(text: string): Int32Array {
  return Int32Array.from(text, (ch) => {
    const i = SPEECH_CHARS.indexOf(ch);
    if (i < 0) throw new RangeError(`transcript character ${JSON.stringify(ch)} is not in SPEECH_CHARS; normalize it with normalizeTranscript first`);
    return i + 1;
  });
}

export function decodeTranscript(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) if (ids[i] !== CTC_BLANK) s += SPEECH_CHARS[ids[i] - 1];
  return s;
}
