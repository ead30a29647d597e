//! Parameters and locals in DWARF: the IR's debug types become type entries (base, pointer,
//! structure, array and enumeration types, each written once per module), and each debug
//! variable a `DW_TAG_formal_parameter` or `DW_TAG_variable` whose location is its stack slot,
//! an offset from the frame pointer Cranelift keeps (`preserve_frame_pointers`). Variables with
//! a scope narrower than their function go into `DW_TAG_lexical_block`s covering the machine
//! code of the instructions lowered in that scope, so a shadowing name hides the outer one only
//! where it is visible.

use std::collections::HashMap;

use cranelift_codegen::ir::SourceLoc;
use cranelift_codegen::MachBufferFrameLayout;
use gimli::write::{Address, AttributeValue, DwarfUnit, Expression, FileId, Range, RangeList, UnitEntryId};
use sx_ir::debug::{DebugType, DebugTypeId, DebugTypeKind, DebugVarKind, InstRange, ScalarEncoding};
use sx_ir::entity::{EntityRef, EntityVec};
use sx_ir::Target;

/// Where a slot lives: its offset from the frame pointer, per IR slot of a function (from
/// Cranelift's frame layout: slots are measured from the bottom of the frame, the frame pointer
/// sits `frame_to_fp_offset` above it).
pub(crate) fn slot_frame_offsets(frame: &MachBufferFrameLayout, slots: usize) -> Vec<i64> {
    (0..slots)
        .map(|i| {
            let slot = cranelift_codegen::ir::StackSlot::from_u32(i as u32);
            i64::from(frame.stackslots[slot].offset) - i64::from(frame.frame_to_fp_offset)
        })
        .collect()
}

/// A name as a DWARF string, which cannot hold NUL bytes (the compiler's hidden names start
/// with one): they are left out.
pub(crate) fn dwarf_string(name: &str) -> Vec<u8> {
    name.bytes().filter(|&b| b != 0).collect()
}

/// `DW_AT_frame_base`: the frame pointer register.
pub(crate) fn frame_base(target: Target) -> Expression {
    let mut e = Expression::new();
    e.op_reg(match target {
        Target::X86_64Linux => gimli::X86_64::RBP,
        Target::Aarch64Linux => gimli::AArch64::X29,
    });
    e
}

/// The type entries written so far, by debug type.
#[derive(Default)]
pub(crate) struct TypeDies {
    dies: HashMap<DebugTypeId, UnitEntryId>,
}

impl TypeDies {
    /// The entry of type `id` of `types` (written under the unit's root on first use).
    pub fn die(&mut self, dwarf: &mut DwarfUnit, types: &EntityVec<DebugTypeId, DebugType>, id: DebugTypeId) -> UnitEntryId {
        if let Some(&die) = self.dies.get(&id) {
            return die;
        }
        let root = dwarf.unit.root();
        let Some(t) = types.get(id) else {
            // The verifier rejects missing types; describe one as nothing in particular.
            let die = dwarf.unit.add(root, gimli::DW_TAG_unspecified_type);
            self.dies.insert(id, die);
            return die;
        };
        let tag = match &t.kind {
            DebugTypeKind::Scalar { .. } => gimli::DW_TAG_base_type,
            DebugTypeKind::Pointer { .. } => gimli::DW_TAG_pointer_type,
            DebugTypeKind::Struct { .. } | DebugTypeKind::Opaque { .. } => gimli::DW_TAG_structure_type,
            DebugTypeKind::Array { .. } => gimli::DW_TAG_array_type,
            DebugTypeKind::Enum { .. } => gimli::DW_TAG_enumeration_type,
        };
        let die = dwarf.unit.add(root, tag);
        // Recorded before the parts, so a type reaching itself through a pointer ends.
        self.dies.insert(id, die);
        if !matches!(t.kind, DebugTypeKind::Pointer { .. } | DebugTypeKind::Array { .. }) {
            let name = dwarf.strings.add(dwarf_string(&t.name));
            dwarf.unit.get_mut(die).set(gimli::DW_AT_name, AttributeValue::StringRef(name));
        }
        match &t.kind {
            DebugTypeKind::Scalar { encoding, size } => {
                let entry = dwarf.unit.get_mut(die);
                entry.set(gimli::DW_AT_encoding, AttributeValue::Encoding(dwarf_encoding(*encoding)));
                entry.set(gimli::DW_AT_byte_size, AttributeValue::Udata(u64::from(*size)));
            }
            DebugTypeKind::Pointer { pointee } => {
                let size = u64::from(dwarf.unit.address_size());
                dwarf.unit.get_mut(die).set(gimli::DW_AT_byte_size, AttributeValue::Udata(size));
                if let Some(p) = pointee {
                    let to = self.die(dwarf, types, *p);
                    dwarf.unit.get_mut(die).set(gimli::DW_AT_type, AttributeValue::UnitRef(to));
                }
            }
            DebugTypeKind::Struct { size, fields } => {
                dwarf.unit.get_mut(die).set(gimli::DW_AT_byte_size, AttributeValue::Udata(*size));
                for f in fields {
                    let ty = self.die(dwarf, types, f.ty);
                    let member = dwarf.unit.add(die, gimli::DW_TAG_member);
                    let name = dwarf.strings.add(dwarf_string(&f.name));
                    let entry = dwarf.unit.get_mut(member);
                    entry.set(gimli::DW_AT_name, AttributeValue::StringRef(name));
                    entry.set(gimli::DW_AT_type, AttributeValue::UnitRef(ty));
                    entry.set(gimli::DW_AT_data_member_location, AttributeValue::Udata(f.offset));
                }
            }
            DebugTypeKind::Opaque { size } => {
                dwarf.unit.get_mut(die).set(gimli::DW_AT_byte_size, AttributeValue::Udata(*size));
            }
            DebugTypeKind::Array { elem, count } => {
                let ty = self.die(dwarf, types, *elem);
                dwarf.unit.get_mut(die).set(gimli::DW_AT_type, AttributeValue::UnitRef(ty));
                let range = dwarf.unit.add(die, gimli::DW_TAG_subrange_type);
                dwarf.unit.get_mut(range).set(gimli::DW_AT_count, AttributeValue::Udata(*count));
            }
            DebugTypeKind::Enum { size, signed: _, variants } => {
                dwarf.unit.get_mut(die).set(gimli::DW_AT_byte_size, AttributeValue::Udata(u64::from(*size)));
                for (name, value) in variants {
                    let e = dwarf.unit.add(die, gimli::DW_TAG_enumerator);
                    let name = dwarf.strings.add(dwarf_string(name));
                    let entry = dwarf.unit.get_mut(e);
                    entry.set(gimli::DW_AT_name, AttributeValue::StringRef(name));
                    entry.set(gimli::DW_AT_const_value, AttributeValue::Sdata(*value));
                }
            }
        }
        die
    }
}

fn dwarf_encoding(e: ScalarEncoding) -> gimli::DwAte {
    match e {
        ScalarEncoding::Signed => gimli::DW_ATE_signed,
        ScalarEncoding::Unsigned => gimli::DW_ATE_unsigned,
        ScalarEncoding::Float => gimli::DW_ATE_float,
        ScalarEncoding::Bool => gimli::DW_ATE_boolean,
        ScalarEncoding::Char => gimli::DW_ATE_unsigned_char,
    }
}

/// One function's machine code and frame, as its variables need them.
pub(crate) struct FnFrame<'a> {
    /// The function's first byte (a relocated address).
    pub start: Address,
    /// `(start, end, location)` code ranges, sorted by start, relative to the function.
    pub locs: &'a [(u32, u32, SourceLoc)],
    /// Per IR slot, its offset from the frame pointer.
    pub slots: &'a [i64],
}

/// The code ranges (absolute) of the instructions in `scope`, merged where they touch.
fn scope_ranges(frame: &FnFrame<'_>, scope: InstRange) -> Vec<Range> {
    let (lo, hi) = (scope.start.index() as u64 + 1, scope.end.index() as u64 + 1);
    let mut spans: Vec<(u32, u32)> = Vec::new();
    for &(start, end, loc) in frame.locs {
        let at = u64::from(loc.bits());
        if loc.is_default() || at < lo || at >= hi || start >= end {
            continue;
        }
        match spans.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => spans.push((start, end)),
        }
    }
    let at = |offset: u32| match frame.start {
        Address::Symbol { symbol, addend } => Address::Symbol { symbol, addend: addend + i64::from(offset) },
        Address::Constant(start) => Address::Constant(start + u64::from(offset)),
    };
    spans.into_iter().map(|(s, e)| Range::StartLength { begin: at(s), length: u64::from(e - s) }).collect()
}

/// Writes the parameters and locals of `f` under `subprogram`; `decls` holds each debug
/// variable's declaring file and line.
pub(crate) fn add_variables(
    dwarf: &mut DwarfUnit,
    type_dies: &mut TypeDies,
    m: &sx_ir::Module,
    f: &sx_ir::Function,
    subprogram: UnitEntryId,
    frame: &FnFrame<'_>,
    decls: &[Option<(FileId, u64)>],
) {
    // Scopes, outermost first: an enclosing scope starts no later and ends no earlier.
    let mut scopes: Vec<InstRange> = f.debug_vars.iter().filter_map(|v| v.scope).collect();
    scopes.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    scopes.dedup();
    let mut blocks: HashMap<InstRange, UnitEntryId> = HashMap::new();
    let mut open: Vec<(InstRange, UnitEntryId)> = Vec::new();
    for scope in scopes {
        while open.last().is_some_and(|(outer, _)| !(outer.start <= scope.start && scope.end <= outer.end)) {
            open.pop();
        }
        let ranges = scope_ranges(frame, scope);
        if ranges.is_empty() {
            continue;
        }
        let parent = open.last().map(|&(_, die)| die).unwrap_or(subprogram);
        let block = dwarf.unit.add(parent, gimli::DW_TAG_lexical_block);
        match ranges.as_slice() {
            [Range::StartLength { begin, length }] => {
                let entry = dwarf.unit.get_mut(block);
                entry.set(gimli::DW_AT_low_pc, AttributeValue::Address(*begin));
                entry.set(gimli::DW_AT_high_pc, AttributeValue::Udata(*length));
            }
            _ => {
                let list = dwarf.unit.ranges.add(RangeList(ranges));
                dwarf.unit.get_mut(block).set(gimli::DW_AT_ranges, AttributeValue::RangeListRef(list));
            }
        }
        blocks.insert(scope, block);
        open.push((scope, block));
    }
    for (v, decl) in f.debug_vars.iter().zip(decls) {
        let Some(&offset) = frame.slots.get(v.slot.index()) else { continue };
        let parent = match v.scope {
            None => subprogram,
            Some(scope) => match blocks.get(&scope) {
                Some(&block) => block,
                None => continue, // no code of its scope survived
            },
        };
        let tag = match v.kind {
            DebugVarKind::Param => gimli::DW_TAG_formal_parameter,
            DebugVarKind::Local => gimli::DW_TAG_variable,
        };
        let ty = type_dies.die(dwarf, &m.debug_types, v.ty);
        let die = dwarf.unit.add(parent, tag);
        let name = dwarf.strings.add(dwarf_string(&v.name));
        let mut location = Expression::new();
        location.op_fbreg(offset);
        if v.by_ref {
            location.op_deref();
        }
        let entry = dwarf.unit.get_mut(die);
        entry.set(gimli::DW_AT_name, AttributeValue::StringRef(name));
        entry.set(gimli::DW_AT_type, AttributeValue::UnitRef(ty));
        entry.set(gimli::DW_AT_location, AttributeValue::Exprloc(location));
        if let Some((file, line)) = *decl {
            entry.set(gimli::DW_AT_decl_file, AttributeValue::FileIndex(Some(file)));
            entry.set(gimli::DW_AT_decl_line, AttributeValue::Udata(line));
        }
    }
}
