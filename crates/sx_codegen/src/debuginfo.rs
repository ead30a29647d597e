//! DWARF debug information for object files (`sx build -g`), written with gimli: one compile
//! unit with a line table (one sequence per function, from the source locations Cranelift
//! reports per machine instruction), a `DW_TAG_subprogram` per function under its sx name, and
//! its parameters and locals with their types (module [`vars`]).
//!
//! Source locations: while translating, every IR instruction with a span sets Cranelift's
//! source location to its instruction index plus one ([`inst_srcloc`]); location zero is the
//! function's own declaration ([`decl_srcloc`]). Addresses are relocations against the function
//! symbols of the object.

use std::collections::HashMap;

use cranelift_codegen::ir::SourceLoc;
use cranelift_object::ObjectProduct;
use gimli::write::{
    Address, AttributeValue, DwarfUnit, EndianVec, FileId, LineProgram, LineString, Range, RangeList, RelocateWriter, Relocation,
    RelocationTarget, Sections, UnitEntryId,
};
use gimli::{Encoding, Format, LineEncoding, LittleEndian, SectionId};
use object::write::{Object, SymbolId};
use object::{RelocationEncoding, RelocationFlags, RelocationKind, SectionKind};
use sx_diag::{SourceMap, Span};
use sx_ir::entity::EntityRef;
use sx_ir::{FuncId, Inst};

use crate::{CodegenError, Result};

mod vars;

pub(crate) use vars::slot_frame_offsets;

/// The source location of a function's prologue: its declaration.
pub(crate) fn decl_srcloc() -> SourceLoc {
    SourceLoc::new(0)
}

/// The source location Cranelift carries for the code of IR instruction `inst`.
pub(crate) fn inst_srcloc(inst: Inst) -> SourceLoc {
    SourceLoc::new(inst.index() as u32 + 1)
}

/// Where the source files of a module live, for its debug information.
pub struct DebugSources<'a> {
    /// The files the module's spans point into.
    pub sources: &'a SourceMap,
    /// The directory relative file paths are relative to (`DW_AT_comp_dir`).
    pub comp_dir: String,
}

/// The machine code of one compiled function, as far as debug information needs it.
pub(crate) struct FnCode {
    /// The IR function.
    pub func: FuncId,
    /// Its function in the Cranelift module (names its symbol in the object).
    pub id: cranelift_module::FuncId,
    /// Code size in bytes.
    pub size: u32,
    /// `(start, end, location)` code ranges, sorted by start, relative to the function.
    pub locs: Vec<(u32, u32, SourceLoc)>,
    /// Per IR slot, its offset from the frame pointer (`None` when Cranelift gave no frame
    /// layout: the variables are then left out).
    pub slots: Option<Vec<i64>>,
}

/// A section being written, with the relocations gimli asked for.
#[derive(Clone)]
struct RelocSection {
    writer: EndianVec<LittleEndian>,
    relocations: Vec<Relocation>,
}

impl RelocateWriter for RelocSection {
    type Writer = EndianVec<LittleEndian>;
    fn writer(&self) -> &Self::Writer {
        &self.writer
    }
    fn writer_mut(&mut self) -> &mut Self::Writer {
        &mut self.writer
    }
    fn relocate(&mut self, relocation: Relocation) {
        self.relocations.push(relocation);
    }
}

impl Default for RelocSection {
    fn default() -> Self {
        RelocSection { writer: EndianVec::new(LittleEndian), relocations: Vec::new() }
    }
}

fn dwarf_err(e: gimli::write::Error) -> CodegenError {
    CodegenError::new(format!("writing debug information: {}", e))
}

/// The name a function has in sx source: its symbol without the `.N` suffix lowering adds.
fn sx_name(symbol: &str) -> &str {
    match symbol.rsplit_once('.') {
        Some((base, n)) if !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => symbol,
    }
}

/// A string usable in the line program (gimli rejects empty strings and NUL bytes).
fn line_string(s: &str) -> Option<LineString> {
    (!s.is_empty() && !s.contains('\0')).then(|| LineString::String(s.as_bytes().to_vec()))
}

/// Builds the DWARF of one module and adds it to an object product.
struct DebugBuilder<'a> {
    m: &'a sx_ir::Module,
    src: &'a DebugSources<'a>,
    dwarf: DwarfUnit,
    /// Line-program file of each source file, filled on first use.
    files: HashMap<sx_diag::FileId, FileId>,
    /// The object symbols the DWARF addresses refer to (`Address::Symbol` indices).
    symbols: Vec<SymbolId>,
    /// The type entries written so far.
    types: vars::TypeDies,
}

impl<'a> DebugBuilder<'a> {
    fn new(m: &'a sx_ir::Module, src: &'a DebugSources<'a>) -> Result<Self> {
        let address_size = match m.target {
            sx_ir::Target::X86_64Linux | sx_ir::Target::Aarch64Linux => 8,
        };
        let encoding = Encoding { format: Format::Dwarf32, version: 4, address_size };
        let mut dwarf = DwarfUnit::new(encoding);
        let root_path = if src.sources.is_empty() { "<module>" } else { src.sources.file(sx_diag::FileId::default()).path.as_str() };
        let comp_dir = line_string(&src.comp_dir).unwrap_or_else(|| LineString::String(b"/".to_vec()));
        let root_file = line_string(root_path).unwrap_or_else(|| LineString::String(b"<module>".to_vec()));
        dwarf.unit.line_program = LineProgram::new(encoding, LineEncoding::default(), comp_dir, None, root_file, None);
        let root = dwarf.unit.root();
        let producer = dwarf.strings.add(format!("sx {}", env!("CARGO_PKG_VERSION")));
        let name = dwarf.strings.add(root_path);
        let dir = dwarf.strings.add(src.comp_dir.as_str());
        let entry = dwarf.unit.get_mut(root);
        entry.set(gimli::DW_AT_producer, AttributeValue::StringRef(producer));
        entry.set(gimli::DW_AT_language, AttributeValue::Language(gimli::DW_LANG_C99));
        entry.set(gimli::DW_AT_name, AttributeValue::StringRef(name));
        entry.set(gimli::DW_AT_comp_dir, AttributeValue::StringRef(dir));
        entry.set(gimli::DW_AT_low_pc, AttributeValue::Address(Address::Constant(0)));
        Ok(DebugBuilder { m, src, dwarf, files: HashMap::new(), symbols: Vec::new(), types: vars::TypeDies::default() })
    }

    /// The line-program file and 1-based line and column of `span`.
    fn locate(&mut self, span: Span) -> Option<(FileId, u64, u64)> {
        let loaded = u32::try_from(self.src.sources.len()).ok()?;
        if span.file >= sx_diag::FileId(loaded) {
            return None;
        }
        let file = self.src.sources.file(span.file);
        let (line, col) = file.line_col(span.lo);
        let id = match self.files.get(&span.file) {
            Some(&id) => id,
            None => {
                let dir = self.dwarf.unit.line_program.default_directory();
                let id = self.dwarf.unit.line_program.add_file(line_string(&file.path)?, dir, None);
                self.files.insert(span.file, id);
                id
            }
        };
        Some((id, u64::from(line), u64::from(col)))
    }

    /// The span Cranelift source location `loc` stands for in function `f`.
    fn span_of(&self, f: &sx_ir::Function, loc: SourceLoc) -> Option<Span> {
        if loc.is_default() {
            return None;
        }
        match loc.bits().checked_sub(1) {
            None => f.span,
            Some(i) => f.insts.get(Inst::new(i as usize)).and_then(|d| d.span),
        }
    }

    /// Adds the line sequence and the subprogram of one function whose code starts at `start`.
    fn add_function(&mut self, code: &FnCode, start: Address) {
        let f = &self.m.funcs[code.func];
        let decl = f.span.and_then(|s| self.locate(s));
        // The line table: a row wherever the (file, line) changes. The declaration's row covers
        // the prologue; the first body row is marked as the end of the prologue (where gdb puts
        // a breakpoint on the function).
        let mut rows = decl.map(|d| vec![(0u32, d)]).unwrap_or_default();
        for &(lo, _, loc) in &code.locs {
            if let Some(at) = self.span_of(f, loc).and_then(|s| self.locate(s)) {
                rows.push((lo, at));
            }
        }
        if !rows.is_empty() {
            self.add_line_sequence(start, code.size, &rows, usize::from(decl.is_some()));
        }
        let subprogram = self.add_subprogram(f, start, code.size, decl);
        if let Some(slots) = &code.slots {
            let decls: Vec<Option<(FileId, u64)>> =
                f.debug_vars.iter().map(|v| v.span.and_then(|s| self.locate(s)).map(|(file, line, _)| (file, line))).collect();
            let frame = vars::FnFrame { start, locs: &code.locs, slots };
            vars::add_variables(&mut self.dwarf, &mut self.types, self.m, f, subprogram, &frame, &decls);
        }
    }

    /// Adds one function's rows `(offset, (file, line, column))` to the line program, from
    /// `start` for `size` bytes; the `first_body_row`th row emitted ends the prologue.
    fn add_line_sequence(&mut self, start: Address, size: u32, rows: &[(u32, (FileId, u64, u64))], first_body_row: usize) {
        self.dwarf.unit.line_program.begin_sequence(Some(start));
        let mut last: Option<(FileId, u64)> = None;
        let mut emitted = 0usize;
        for &(offset, (file, line, col)) in rows {
            if last == Some((file, line)) {
                continue;
            }
            last = Some((file, line));
            let row = self.dwarf.unit.line_program.row();
            row.address_offset = u64::from(offset);
            row.file = file;
            row.line = line;
            row.column = col;
            row.is_statement = true;
            row.prologue_end = emitted == first_body_row;
            self.dwarf.unit.line_program.generate_row();
            emitted += 1;
        }
        self.dwarf.unit.line_program.end_sequence(u64::from(size));
    }

    fn add_subprogram(&mut self, f: &sx_ir::Function, start: Address, size: u32, decl: Option<(FileId, u64, u64)>) -> UnitEntryId {
        let root = self.dwarf.unit.root();
        let id = self.dwarf.unit.add(root, gimli::DW_TAG_subprogram);
        let name = self.dwarf.strings.add(vars::dwarf_string(sx_name(&f.name)));
        let entry = self.dwarf.unit.get_mut(id);
        entry.set(gimli::DW_AT_name, AttributeValue::StringRef(name));
        entry.set(gimli::DW_AT_external, AttributeValue::Flag(f.linkage == sx_ir::Linkage::Export));
        entry.set(gimli::DW_AT_low_pc, AttributeValue::Address(start));
        entry.set(gimli::DW_AT_high_pc, AttributeValue::Udata(u64::from(size)));
        entry.set(gimli::DW_AT_frame_base, AttributeValue::Exprloc(vars::frame_base(self.m.target)));
        if let Some((file, line, _)) = decl {
            entry.set(gimli::DW_AT_decl_file, AttributeValue::FileIndex(Some(file)));
            entry.set(gimli::DW_AT_decl_line, AttributeValue::Udata(line));
        }
        id
    }

    /// Gives the compile unit its code `ranges`.
    fn set_unit_ranges(&mut self, ranges: Vec<Range>) {
        let list = self.dwarf.unit.ranges.add(RangeList(ranges));
        let root = self.dwarf.unit.root();
        self.dwarf.unit.get_mut(root).set(gimli::DW_AT_ranges, AttributeValue::RangeListRef(list));
    }

    /// Writes the DWARF sections into `object`, relocated against its function symbols.
    fn finish(mut self, ranges: Vec<Range>, object: &mut Object<'static>) -> Result<()> {
        self.set_unit_ranges(ranges);
        let mut sections = Sections::new(RelocSection::default());
        self.dwarf.write(&mut sections).map_err(dwarf_err)?;
        let mut ids: Vec<(SectionId, object::write::SectionId)> = Vec::new();
        sections.for_each(|id, s| -> Result<()> {
            if !s.writer.slice().is_empty() {
                let segment = object.segment_name(object::write::StandardSegment::Debug).to_vec();
                let section = object.add_section(segment, id.name().as_bytes().to_vec(), SectionKind::Debug);
                object.append_section_data(section, s.writer.slice(), 1);
                ids.push((id, section));
            }
            Ok(())
        })?;
        let section_of = |id: SectionId| ids.iter().find(|(d, _)| *d == id).map(|&(_, s)| s);
        let symbols = &self.symbols;
        sections.for_each(|id, s| -> Result<()> {
            let Some(section) = section_of(id) else { return Ok(()) };
            for r in &s.relocations {
                let symbol = match r.target {
                    RelocationTarget::Symbol(i) => {
                        *symbols.get(i).ok_or_else(|| CodegenError::new("debug relocation to an unknown symbol"))?
                    }
                    RelocationTarget::Section(target) => {
                        let target = section_of(target).ok_or_else(|| CodegenError::new("debug relocation to an empty section"))?;
                        object.section_symbol(target)
                    }
                };
                let flags =
                    RelocationFlags::Generic { kind: RelocationKind::Absolute, encoding: RelocationEncoding::Generic, size: r.size * 8 };
                object
                    .add_relocation(section, object::write::Relocation { offset: r.offset as u64, symbol, addend: r.addend, flags })
                    .map_err(|e| CodegenError::new(format!("debug relocation: {}", e)))?;
            }
            Ok(())
        })
    }
}

/// Adds `.debug_info`, `.debug_abbrev`, `.debug_line`, `.debug_str` and `.debug_ranges` for the
/// compiled functions `code` of `m` to `product`'s object.
pub(crate) fn add_debug_info(m: &sx_ir::Module, src: &DebugSources<'_>, code: &[FnCode], product: &mut ObjectProduct) -> Result<()> {
    let mut b = DebugBuilder::new(m, src)?;
    let mut ranges = Vec::new();
    for c in code {
        let Some((symbol, _)) = product.functions.get(c.id).copied().flatten() else { continue };
        let start = Address::Symbol { symbol: b.symbols.len(), addend: 0 };
        b.symbols.push(symbol);
        b.add_function(c, start);
        ranges.push(Range::StartLength { begin: start, length: u64::from(c.size) });
    }
    b.finish(ranges, &mut product.object)
}

/// An ELF object holding only the DWARF of the functions `code` of `m`, compiled in memory at
/// the addresses `address_of` gives: what gdb's JIT interface reads ([`crate::gdb_jit`]). An
/// empty `.text` section stands for the code (gdb wants one); every address is absolute.
pub(crate) fn jit_image(
    m: &sx_ir::Module,
    src: &DebugSources<'_>,
    code: &[FnCode],
    address_of: impl Fn(cranelift_module::FuncId) -> u64,
) -> Result<Vec<u8>> {
    let mut b = DebugBuilder::new(m, src)?;
    let mut ranges = Vec::new();
    for c in code {
        let start = Address::Constant(address_of(c.id));
        b.add_function(c, start);
        ranges.push(Range::StartLength { begin: start, length: u64::from(c.size) });
    }
    b.set_unit_ranges(ranges);
    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    b.dwarf.write(&mut sections).map_err(dwarf_err)?;
    let arch = match m.target {
        sx_ir::Target::X86_64Linux => object::Architecture::X86_64,
        sx_ir::Target::Aarch64Linux => object::Architecture::Aarch64,
    };
    let mut obj = Object::new(object::BinaryFormat::Elf, arch, object::Endianness::Little);
    let text = obj.segment_name(object::write::StandardSegment::Text).to_vec();
    obj.add_section(text, b".text".to_vec(), SectionKind::Text);
    sections.for_each(|id, s| -> Result<()> {
        if !s.slice().is_empty() {
            let segment = obj.segment_name(object::write::StandardSegment::Debug).to_vec();
            let section = obj.add_section(segment, id.name().as_bytes().to_vec(), SectionKind::Debug);
            obj.append_section_data(section, s.slice(), 1);
        }
        Ok(())
    })?;
    obj.write().map_err(|e| CodegenError::new(format!("writing the debug image: {}", e)))
}

#[cfg(test)]
mod tests {
    use super::sx_name;

    #[test]
    fn sx_names_drop_the_lowering_suffix() {
        assert_eq!(sx_name("add.1"), "add");
        assert_eq!(sx_name("main"), "main");
        assert_eq!(sx_name("Point.len.12"), "Point.len");
        assert_eq!(sx_name("v.x"), "v.x");
        assert_eq!(sx_name(".3"), ".3");
    }
}
