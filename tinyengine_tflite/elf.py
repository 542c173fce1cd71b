"""Reading a little-endian ELF32 file (an arm-none-eabi object or firmware): sections, loadable segments,
symbols."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

SHF_ALLOC = 0x2
SHT_SYMTAB = 2
SHT_NOBITS = 8
PT_LOAD = 1
STT_OBJECT = 1
STT_FUNC = 2


@dataclass
class ElfSection:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int

    @property
    def alloc(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def nobits(self) -> bool:
        return self.type == SHT_NOBITS


@dataclass
class ElfSymbol:
    name: str
    value: int
    size: int
    type: int           # STT_OBJECT, STT_FUNC, ...
    shndx: int


@dataclass
class ElfSegment:
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int


class Elf32:
    """Sections, PT_LOAD segments and symbols of a little-endian ELF32 file."""

    def __init__(self, path):
        self.path = Path(path)
        self.data = d = self.path.read_bytes()
        if d[:4] != b"\x7fELF" or len(d) < 52 or d[4] != 1 or d[5] != 1:
            raise ValueError(f"{path} is not a little-endian ELF32 file")
        (self.entry, phoff, shoff, _flags, _ehsize, phentsize, phnum, shentsize, shnum,
         shstrndx) = struct.unpack_from("<IIIIHHHHHH", d, 24)
        raw = [struct.unpack_from("<IIIIIIIIII", d, shoff + k * shentsize) for k in range(shnum)]

        def name_at(table_off, off):
            return d[table_off + off:d.index(b"\0", table_off + off)].decode()
        strtab = raw[shstrndx][4] if raw else 0
        self.sections = [ElfSection(name_at(strtab, r[0]), r[1], r[2], r[3], r[4], r[5]) for r in raw]
        self.segments = [ElfSegment(off, vaddr, paddr, filesz, memsz)
                         for p_type, off, vaddr, paddr, filesz, memsz, _fl, _al in
                         (struct.unpack_from("<IIIIIIII", d, phoff + k * phentsize) for k in range(phnum))
                         if p_type == PT_LOAD]
        self.symbols: list[ElfSymbol] = []
        for r in raw:
            if r[1] != SHT_SYMTAB:
                continue
            names = raw[r[6]][4]
            for j in range(r[5] // 16):
                st_name, value, size, info, _other, shndx = struct.unpack_from("<IIIBBH", d, r[4] + j * 16)
                self.symbols.append(ElfSymbol(name_at(names, st_name), value, size, info & 0xF, shndx))

    def symbol(self, name: str) -> ElfSymbol:
        for s in self.symbols:
            if s.name == name:
                return s
        raise KeyError(f"symbol {name!r} is not in {self.path.name}")

    def symbol_table(self) -> dict[str, int]:
        """{name: value} of every named symbol."""
        return {s.name: s.value for s in self.symbols if s.name}

    def load_image(self) -> list[tuple[int, bytes]]:
        """(physical address, bytes) of each loadable segment's file contents."""
        return [(s.paddr, self.data[s.offset:s.offset + s.filesz]) for s in self.segments if s.filesz]
