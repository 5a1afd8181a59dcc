// Mach-O code signature. macOS runs nothing without a valid one on Apple silicon, and Intel Macs kill
// a binary whose signature no longer matches its pages. Bun re-signs darwin-arm64 builds ad hoc, but
// its darwin-x64 build keeps the runtime's original signature, which no longer fits the file it wrote.
// Such a binary gets a fresh ad-hoc signature here, of the form Apple's linker writes (and Bun writes
// for arm64): one CodeDirectory of SHA-256 page hashes, no certificate.
import { createHash } from "node:crypto";

const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CS_ADHOC = 0x2;
const CS_LINKER_SIGNED = 0x20000;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const CS_HASHTYPE_SHA256 = 2;
const SIGNATURE_PAGE = 4096;

interface MachoLayout {
  /** Offsets of the load commands, and where the signature is. */
  signatureCommand: number;
  linkeditCommand: number;
  linkeditFileoff: number;
  textFilesize: number;
  dataoff: number;
  datasize: number;
}

export function machoLayout(file: Buffer): MachoLayout {
  if (file.readUInt32LE(0) !== 0xfeedfacf) throw new Error("not a 64-bit little-endian Mach-O file");
  const layout: Partial<MachoLayout> = {};
  let offset = 32;
  for (let i = 0, n = file.readUInt32LE(16); i < n; i++) {
    const cmd = file.readUInt32LE(offset);
    if (cmd === LC_SEGMENT_64) {
      const name = file.toString("latin1", offset + 8, offset + 24).replace(/\0+$/, "");
      if (name === "__TEXT") layout.textFilesize = Number(file.readBigUInt64LE(offset + 48));
      if (name === "__LINKEDIT") {
        layout.linkeditCommand = offset;
        layout.linkeditFileoff = Number(file.readBigUInt64LE(offset + 40));
      }
    } else if (cmd === LC_CODE_SIGNATURE) {
      layout.signatureCommand = offset;
      layout.dataoff = file.readUInt32LE(offset + 8);
      layout.datasize = file.readUInt32LE(offset + 12);
    }
    offset += file.readUInt32LE(offset + 4);
  }
  const { signatureCommand, linkeditCommand, linkeditFileoff, textFilesize, dataoff, datasize } = layout;
  if (
    signatureCommand === undefined ||
    linkeditCommand === undefined ||
    linkeditFileoff === undefined ||
    textFilesize === undefined ||
    dataoff === undefined ||
    datasize === undefined
  ) {
    throw new Error("no __TEXT, __LINKEDIT or LC_CODE_SIGNATURE");
  }
  return { signatureCommand, linkeditCommand, linkeditFileoff, textFilesize, dataoff, datasize };
}

/** What is wrong with the file's signature, checked as the kernel checks it, or undefined when valid. */
export function machoSignatureProblem(file: Buffer): string | undefined {
  const { dataoff, datasize } = machoLayout(file);
  if (dataoff + datasize !== file.length) return `the signature (${dataoff}+${datasize}) does not end the file (${file.length} bytes)`;
  if (file.readUInt32BE(dataoff) !== CSMAGIC_EMBEDDED_SIGNATURE) return "no embedded signature";
  for (let i = 0, n = file.readUInt32BE(dataoff + 8); i < n; i++) {
    const cd = dataoff + file.readUInt32BE(dataoff + 16 + 8 * i);
    if (file.readUInt32BE(dataoff + 12 + 8 * i) !== 0 || file.readUInt32BE(cd) !== CSMAGIC_CODEDIRECTORY) continue;
    const hashOffset = file.readUInt32BE(cd + 16);
    const slots = file.readUInt32BE(cd + 28);
    const codeLimit = file.readUInt32BE(cd + 32);
    const [hashSize, hashType, , pageShift] = [file[cd + 36], file[cd + 37], file[cd + 38], file[cd + 39]] as number[];
    if (hashType !== CS_HASHTYPE_SHA256 || hashSize !== 32) return `hash type ${hashType} is not SHA-256`;
    if (codeLimit !== dataoff) return `the signature covers ${codeLimit} bytes, the code is ${dataoff}`;
    const page = 2 ** pageShift;
    if (slots !== Math.ceil(codeLimit / page)) return `${slots} page hashes for ${Math.ceil(codeLimit / page)} pages`;
    let bad = 0;
    for (let slot = 0; slot < slots; slot++) {
      const hash = createHash("sha256")
        .update(file.subarray(slot * page, Math.min((slot + 1) * page, codeLimit)))
        .digest();
      const at = cd + hashOffset + slot * hashSize;
      if (!hash.equals(file.subarray(at, at + hashSize))) bad++;
    }
    return bad === 0 ? undefined : `${bad} of ${slots} page hashes do not match`;
  }
  return "no CodeDirectory";
}

/** The file with its signature replaced by an ad-hoc one over everything before it. */
export function machoAdhocSign(file: Buffer, identifier: string): Buffer {
  const layout = machoLayout(file);
  const codeLimit = layout.dataoff;
  const ident = Buffer.from(`${identifier}\0`, "latin1");
  const slots = Math.ceil(codeLimit / SIGNATURE_PAGE);
  const cdLength = 88 + ident.length + slots * 32;
  const signatureLength = 12 + 8 + cdLength;
  const out = Buffer.alloc(codeLimit + signatureLength);
  file.copy(out, 0, 0, codeLimit);

  // The load commands first: they are on the first page, which is hashed too.
  out.writeUInt32LE(signatureLength, layout.signatureCommand + 12);
  const linkeditSize = codeLimit + signatureLength - layout.linkeditFileoff;
  out.writeBigUInt64LE(BigInt(Math.ceil(linkeditSize / 0x4000) * 0x4000), layout.linkeditCommand + 32); // vmsize
  out.writeBigUInt64LE(BigInt(linkeditSize), layout.linkeditCommand + 48); // filesize

  let at = codeLimit;
  out.writeUInt32BE(CSMAGIC_EMBEDDED_SIGNATURE, at);
  out.writeUInt32BE(signatureLength, at + 4);
  out.writeUInt32BE(1, at + 8); // one blob: the CodeDirectory, at slot 0
  out.writeUInt32BE(0, at + 12);
  out.writeUInt32BE(20, at + 16);
  at += 20;
  const cd = at;
  out.writeUInt32BE(CSMAGIC_CODEDIRECTORY, cd);
  out.writeUInt32BE(cdLength, cd + 4);
  out.writeUInt32BE(0x20400, cd + 8); // version: with execSeg fields
  out.writeUInt32BE(CS_ADHOC | CS_LINKER_SIGNED, cd + 12);
  out.writeUInt32BE(88 + ident.length, cd + 16); // hashOffset
  out.writeUInt32BE(88, cd + 20); // identOffset
  out.writeUInt32BE(0, cd + 24); // no special slots
  out.writeUInt32BE(slots, cd + 28);
  out.writeUInt32BE(codeLimit, cd + 32);
  out.writeUInt8(32, cd + 36); // hash size
  out.writeUInt8(CS_HASHTYPE_SHA256, cd + 37);
  out.writeUInt8(0, cd + 38); // platform
  out.writeUInt8(Math.log2(SIGNATURE_PAGE), cd + 39);
  // spare2, scatterOffset, teamOffset, spare3, codeLimit64 (cd + 40 … 64) stay 0
  out.writeBigUInt64BE(0n, cd + 64); // execSegBase: __TEXT starts the file
  out.writeBigUInt64BE(BigInt(layout.textFilesize), cd + 72);
  out.writeBigUInt64BE(BigInt(CS_EXECSEG_MAIN_BINARY), cd + 80);
  ident.copy(out, cd + 88);
  for (let slot = 0; slot < slots; slot++) {
    createHash("sha256")
      .update(out.subarray(slot * SIGNATURE_PAGE, Math.min((slot + 1) * SIGNATURE_PAGE, codeLimit)))
      .digest()
      .copy(out, cd + 88 + ident.length + slot * 32);
  }
  return out;
}
