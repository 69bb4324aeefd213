// Paths of the job root in an object's debug sections (distcc
// src/fix_debug_info.c): every occurrence of R in the ELF sections named
// .debug* becomes as many `/`, so `R/home/u/x.c` reads `////.../home/u/x.c`,
// the client's path, and nothing moves (the sections keep their sizes).
// Anything that is not a readable ELF file is returned unchanged.

const SHT_NOBITS = 8;
const SHF_COMPRESSED = 0x800;

export function stripRootFromDebugInfo(object: Buffer, root: string): Buffer {
  if (object.length < 64 || object.readUInt32BE(0) !== 0x7f454c46) return object;
  const is64 = object[4] === 2;
  const le = object[5] === 1;
  const u16 = (o: number) => (le ? object.readUInt16LE(o) : object.readUInt16BE(o));
  const u32 = (o: number) => (le ? object.readUInt32LE(o) : object.readUInt32BE(o));
  const word = (o: number) =>
    is64 ? Number(le ? object.readBigUInt64LE(o) : object.readBigUInt64BE(o)) : u32(o);
  try {
    const shoff = word(is64 ? 0x28 : 0x20);
    const shentsize = u16(is64 ? 0x3a : 0x2e);
    const shnum = u16(is64 ? 0x3c : 0x30);
    const shstrndx = u16(is64 ? 0x3e : 0x32);
    const header = (i: number) => {
      const h = shoff + i * shentsize;
      return {
        name: u32(h),
        type: u32(h + 4),
        flags: word(h + 8),
        offset: word(h + (is64 ? 24 : 16)),
        size: word(h + (is64 ? 32 : 20)),
      };
    };
    const names = header(shstrndx);
    const needle = Buffer.from(root);
    const slashes = Buffer.alloc(needle.length, '/');
    const out = Buffer.from(object);
    for (let i = 0; i < shnum; i++) {
      const sh = header(i);
      const nameEnd = object.indexOf(0, names.offset + sh.name);
      const name = object.toString('latin1', names.offset + sh.name, nameEnd);
      if (!name.startsWith('.debug') || sh.type === SHT_NOBITS || sh.flags & SHF_COMPRESSED)
        continue;
      const end = sh.offset + sh.size;
      if (end > object.length) continue;
      for (
        let at = out.indexOf(needle, sh.offset);
        at >= 0 && at + needle.length <= end;
        at = out.indexOf(needle, at + needle.length)
      ) {
        slashes.copy(out, at);
      }
    }
    return out;
  } catch {
    return object;
  }
}
