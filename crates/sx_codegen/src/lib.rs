//! sx_codegen — the native back end: lowers a verified [`sx_ir::Module`] to machine code with
//! Cranelift, either in memory ([`jit_run`]) or as a relocatable object file ([`emit_object`])
//! that [`link_executable`] links with the system `cc`.
//!
//! Owns: the translation of sx IR to Cranelift IR ([`translate_function`], shared by the JIT and
//! the object path so both compile identically), symbol/data declaration and relocation, ISA and
//! flag selection for x86_64-linux / aarch64-linux, extern symbol resolution for the JIT
//! (`dlsym`), invoking the system linker, and DWARF debug information for object files
//! ([`emit_object_debug`], module `debuginfo`) and for JIT code, registered with gdb
//! ([`jit_compile_debug`], module `gdb_jit`).
//!
//! Must never: panic on bad input (IR problems, Cranelift verifier failures, unresolvable
//! externs, linker failures are all [`CodegenError`]s); change the memory picture chosen by the
//! layout layer (offsets, sizes and alignments come from the IR verbatim); depend on the front
//! end or on the comptime VM; compile functions that have no body (a referenced body-less
//! function becomes a trapping stub, matching the VM's "call of a function with no body" error).

mod atomics;
mod debuginfo;
mod gdb_jit;

pub use debuginfo::DebugSources;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use cranelift_codegen::ir::{
    self, condcodes, types, AbiParam, BlockArg, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, UserFuncName,
};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, Linkage as ClLinkage, Module as ClModule};
use sx_ir::entity::EntityRef;
use sx_ir::{BinOp, Block, ConvOp, FloatCC, FuncId, InstKind, IntCC, Linkage, RelocTarget, Target, TrapCode, Type, UnOp, Value};

/// A back-end failure (invalid IR, Cranelift verifier/compile error, unresolved symbol, link
/// failure, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodegenError {
    pub message: String,
}

impl CodegenError {
    fn new(message: impl Into<String>) -> CodegenError {
        CodegenError { message: message.into() }
    }
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodegenError {}

type Result<T> = std::result::Result<T, CodegenError>;

fn err<T>(message: impl Into<String>) -> Result<T> {
    Err(CodegenError::new(message))
}

// ---------------------------------------------------------------------------------------------
// ISA construction
// ---------------------------------------------------------------------------------------------

/// How hard the back end optimises (`--opt 0-3`): the IR optimiser of `sx_ir::opt` and
/// Cranelift's `opt_level` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OptLevel {
    /// `--opt 0`: neither (Cranelift `none`): the fastest compile, for debug builds.
    None,
    /// `--opt 1`: the IR as sema lowered it, Cranelift `speed`.
    Speed,
    /// `--opt 2`, the default: the IR optimiser (inlining, self tail calls as loops, three
    /// levels of self-recursion, constant folding, value numbering, loop-invariant hoisting, dead
    /// code), then Cranelift `speed`.
    #[default]
    Optimise,
    /// `--opt 3`: the IR optimiser with twice the inlining limits, then Cranelift
    /// `speed_and_size`.
    Aggressive,
}

impl OptLevel {
    /// The level of `--opt n` (0–3; larger means 3).
    pub fn from_number(n: u8) -> OptLevel {
        match n {
            0 => OptLevel::None,
            1 => OptLevel::Speed,
            2 => OptLevel::Optimise,
            3.. => OptLevel::Aggressive,
        }
    }
    /// The value of Cranelift's `opt_level` setting.
    fn setting(self) -> &'static str {
        match self {
            OptLevel::None => "none",
            OptLevel::Speed | OptLevel::Optimise => "speed",
            OptLevel::Aggressive => "speed_and_size",
        }
    }
    /// The limits of the IR optimiser at this level, `None` when it does not run.
    pub fn ir_config(self) -> Option<sx_ir::opt::OptConfig> {
        let base = sx_ir::opt::OptConfig::default();
        match self {
            OptLevel::None | OptLevel::Speed => None,
            OptLevel::Optimise => Some(base),
            OptLevel::Aggressive => Some(sx_ir::opt::OptConfig {
                inline_small: base.inline_small * 2,
                inline_single: base.inline_single * 2,
                caller_limit: base.caller_limit * 2,
                self_limit: base.self_limit * 2,
                ..base
            }),
        }
    }
}

/// The module the back end compiles at level `opt`: with the IR optimiser, an optimised copy of
/// the code the program reaches (`None`: compile `m` as it is). Code with debug information is
/// not optimised (the optimiser does not maintain debug variables), so `-g` builds stay
/// debuggable; nor is a module that does not verify (the optimiser expects valid IR).
fn optimised_module(m: &sx_ir::Module, opt: OptLevel, debug: bool) -> Option<sx_ir::Module> {
    let config = opt.ir_config()?;
    // Invalid IR is not optimised: it goes to the back end as it is, which reports it.
    if debug || !sx_ir::verify(m).is_empty() {
        return None;
    }
    let mut copy = m.clone();
    let (live, _) = live_code(&copy);
    sx_ir::opt::optimise_module(&mut copy, &live, &config);
    Some(copy)
}

fn shared_flags(pic: bool, opt: OptLevel) -> Result<settings::Flags> {
    let mut b = settings::builder();
    let set = |b: &mut settings::Builder, k: &str, v: &str| {
        b.set(k, v).map_err(|e| CodegenError::new(format!("cranelift setting {}={}: {}", k, v, e)))
    };
    set(&mut b, "opt_level", opt.setting())?;
    set(&mut b, "enable_verifier", "true")?;
    set(&mut b, "is_pic", if pic { "true" } else { "false" })?;
    set(&mut b, "enable_multi_ret_implicit_sret", "true")?;
    set(&mut b, "preserve_frame_pointers", "true")?;
    if !pic {
        // The JIT cannot guarantee short-range reachability of libcalls.
        set(&mut b, "use_colocated_libcalls", "false")?;
    }
    Ok(settings::Flags::new(b))
}

fn host_isa(opt: OptLevel) -> Result<OwnedTargetIsa> {
    let builder = cranelift_native::builder().map_err(|e| CodegenError::new(format!("host not supported: {}", e)))?;
    builder.finish(shared_flags(false, opt)?).map_err(|e| CodegenError::new(format!("cannot build host ISA: {}", e)))
}

fn target_isa(target: Target, opt: OptLevel) -> Result<OwnedTargetIsa> {
    let triple = match target {
        Target::X86_64Linux => "x86_64-unknown-linux-gnu",
        Target::Aarch64Linux => "aarch64-unknown-linux-gnu",
    };
    let builder = cranelift_codegen::isa::lookup_by_name(triple)
        .map_err(|e| CodegenError::new(format!("target {} not available: {}", target.name(), e)))?;
    builder.finish(shared_flags(true, opt)?).map_err(|e| CodegenError::new(format!("cannot build ISA for {}: {}", target.name(), e)))
}

// ---------------------------------------------------------------------------------------------
// Types and signatures
// ---------------------------------------------------------------------------------------------

fn cl_type(t: Type) -> ir::Type {
    match t {
        Type::I8 => types::I8,
        Type::I16 => types::I16,
        Type::I32 => types::I32,
        Type::I64 => types::I64,
        Type::F32 => types::F32,
        Type::F64 => types::F64,
    }
}

fn cl_sig(isa: &dyn TargetIsa, sig: &sx_ir::Signature) -> ir::Signature {
    let mut s = ir::Signature::new(isa.default_call_conv());
    s.params.extend(sig.params.iter().map(|&t| AbiParam::new(cl_type(t))));
    s.returns.extend(sig.returns.iter().map(|&t| AbiParam::new(cl_type(t))));
    s
}

// ---------------------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------------------

/// The Cranelift-module ids of everything in an sx module.
pub struct Decls {
    /// Per IR function: its module id (None for body-less functions nobody references).
    pub funcs: Vec<Option<cranelift_module::FuncId>>,
    /// Per IR function: true if it must get a trapping stub (referenced but has no body).
    pub stubs: Vec<bool>,
    pub datas: Vec<cranelift_module::DataId>,
    /// Per extern: its module id (None for externs no live function calls).
    pub externs: Vec<Option<cranelift_module::FuncId>>,
}

fn module_err(what: &str, e: cranelift_module::ModuleError) -> CodegenError {
    CodegenError::new(format!("{}: {}", what, e))
}

/// What the program needs: the functions reachable from its entry, its exported functions and
/// the functions static data refers to (through calls, function addresses and data
/// relocations), and the externs those call. Functions only compile-time evaluation used (thunks,
/// compile-time-only helpers and the compiler-API externs they call) are left out. A module
/// without an entry keeps everything.
pub fn live_code(m: &sx_ir::Module) -> (Vec<bool>, Vec<bool>) {
    let mut funcs = vec![m.entry.is_none(); m.funcs.len()];
    let mut externs = vec![m.entry.is_none(); m.externs.len()];
    if m.entry.is_none() {
        return (funcs, externs);
    }
    let mut work: Vec<FuncId> = vec![];
    let mark = |f: FuncId, funcs: &mut Vec<bool>, work: &mut Vec<FuncId>| {
        if let Some(u) = funcs.get_mut(f.index()) {
            if !*u {
                *u = true;
                work.push(f);
            }
        }
    };
    if let Some(e) = m.entry {
        mark(e, &mut funcs, &mut work);
    }
    for (fid, f) in m.funcs.iter() {
        if f.is_defined() && f.linkage == Linkage::Export {
            mark(fid, &mut funcs, &mut work);
        }
    }
    for (_, d) in m.datas.iter() {
        for r in &d.relocs {
            if let RelocTarget::Func(f) = r.target {
                mark(f, &mut funcs, &mut work);
            }
        }
    }
    while let Some(f) = work.pop() {
        let Some(func) = m.funcs.get(f) else { continue };
        // Only the instructions in blocks: a pass may leave removed ones in the table.
        for d in func.blocks.values().flat_map(|b| b.insts.iter().map(|&i| &func.insts[i])) {
            match &d.kind {
                InstKind::Call { func, .. } | InstKind::FuncAddr { func } => mark(*func, &mut funcs, &mut work),
                InstKind::CallExtern { ext, .. } => {
                    if let Some(u) = externs.get_mut(ext.index()) {
                        *u = true;
                    }
                }
                _ => {}
            }
        }
    }
    (funcs, externs)
}

/// Declares every function, extern and data object of `m` in `module`.
pub fn declare_module<M: ClModule>(module: &mut M, m: &sx_ir::Module) -> Result<Decls> {
    let isa = module.isa();
    let extern_syms: std::collections::HashSet<&str> = m.externs.values().map(|e| e.symbol.as_str()).collect();
    let (live, live_externs) = live_code(m);
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut sigs = Vec::new();
    for (_, f) in m.funcs.iter() {
        sigs.push(cl_sig(isa, &f.sig));
    }
    let ext_sigs: Vec<ir::Signature> = m
        .externs
        .values()
        .map(|e| {
            let mut s = cl_sig(isa, &e.sig);
            for b in &e.byval {
                if let Some(p) = s.params.get_mut(b.param as usize) {
                    *p = AbiParam::special(p.value_type, ir::ArgumentPurpose::StructArgument(b.size));
                }
            }
            s
        })
        .collect();

    let mut funcs = Vec::new();
    let mut stubs = Vec::new();
    for ((fid, f), sig) in m.funcs.iter().zip(&sigs) {
        let defined = f.is_defined();
        if !live[fid.index()] {
            funcs.push(None);
            stubs.push(false);
            continue;
        }
        let exported = defined && f.linkage == Linkage::Export;
        // Local symbols must not capture references to a same-named C extern.
        let mut name = if f.name.is_empty() { format!("__sx_fn{}", fid.index()) } else { f.name.clone() };
        if !exported && (extern_syms.contains(name.as_str()) || taken.contains(&name)) {
            let base = name.clone();
            let mut n = 0;
            while extern_syms.contains(name.as_str()) || taken.contains(&name) {
                name = format!("{}.sx{}", base, n);
                n += 1;
            }
        }
        taken.insert(name.clone());
        let linkage = if exported { ClLinkage::Export } else { ClLinkage::Local };
        let id = module.declare_function(&name, linkage, sig).map_err(|e| module_err(&format!("declaring function `{}`", f.name), e))?;
        funcs.push(Some(id));
        stubs.push(!defined);
    }

    let mut externs = Vec::new();
    for ((e, sig), &live) in m.externs.values().zip(&ext_sigs).zip(&live_externs) {
        if !live {
            externs.push(None);
            continue;
        }
        let id = module
            .declare_function(&e.symbol, ClLinkage::Import, sig)
            .map_err(|err| module_err(&format!("declaring extern `{}`", e.symbol), err))?;
        externs.push(Some(id));
    }

    let mut datas = Vec::new();
    for (did, d) in m.datas.iter() {
        if let Some(symbol) = d.name.strip_prefix(sx_ir::EXTERN_DATA_PREFIX) {
            let id = module
                .declare_data(symbol, ClLinkage::Import, d.writable, false)
                .map_err(|e| module_err(&format!("declaring extern data `{}`", symbol), e))?;
            datas.push(id);
            continue;
        }
        let base = if d.name.is_empty() { format!("__sx_data{}", did.index()) } else { d.name.clone() };
        let mut name = base.clone();
        let mut n = 0;
        while extern_syms.contains(name.as_str()) || taken.contains(&name) {
            name = format!("{}.{}", base, n);
            n += 1;
        }
        taken.insert(name.clone());
        let id = module
            .declare_data(&name, ClLinkage::Local, d.writable, false)
            .map_err(|e| module_err(&format!("declaring data `{}`", d.name), e))?;
        datas.push(id);
    }
    Ok(Decls { funcs, stubs, datas, externs })
}

/// Defines the contents (bytes + relocations) of every data object.
fn define_datas<M: ClModule>(module: &mut M, m: &sx_ir::Module, decls: &Decls) -> Result<()> {
    for (did, d) in m.datas.iter() {
        if d.name.starts_with(sx_ir::EXTERN_DATA_PREFIX) {
            continue; // defined by C
        }
        let mut desc = DataDescription::new();
        let mut bytes = d.bytes.clone();
        if bytes.is_empty() {
            bytes.push(0); // zero-sized objects still need a distinct address
        }
        desc.define(bytes.into_boxed_slice());
        desc.set_align(u64::from(d.align.max(1)).next_power_of_two());
        for r in &d.relocs {
            match r.target {
                RelocTarget::Data(t) => {
                    let id = *decls.datas.get(t.index()).ok_or_else(|| CodegenError::new("relocation to missing data"))?;
                    let gv = module.declare_data_in_data(id, &mut desc);
                    desc.write_data_addr(r.offset, gv, r.addend);
                }
                RelocTarget::Func(t) => {
                    if r.addend != 0 {
                        return err(format!(
                            "data `{}`: relocation to a function with non-zero addend {} is not supported",
                            d.name, r.addend
                        ));
                    }
                    let id =
                        decls.funcs.get(t.index()).copied().flatten().ok_or_else(|| CodegenError::new("relocation to missing function"))?;
                    let fr = module.declare_func_in_data(id, &mut desc);
                    desc.write_function_addr(r.offset, fr);
                }
            }
        }
        module.define_data(decls.datas[did.index()], &desc).map_err(|e| module_err(&format!("defining data `{}`", d.name), e))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Function translation
// ---------------------------------------------------------------------------------------------

/// Blocks reachable from the entry, in reverse postorder (so definitions in dominating blocks
/// are translated before their uses).
fn reverse_postorder(f: &sx_ir::Function) -> Vec<Block> {
    let n = f.blocks.len();
    let mut seen = vec![false; n];
    let mut post = Vec::new();
    let Some(entry) = f.entry() else { return post };
    let succs = |b: Block| -> Vec<Block> {
        match f.blocks[b].insts.last().map(|&i| &f.insts[i].kind) {
            Some(InstKind::Jump { dest, .. }) => vec![*dest],
            Some(InstKind::Branch { then_dest, else_dest, .. }) => vec![*else_dest, *then_dest],
            _ => vec![],
        }
    };
    // Iterative DFS.
    let mut stack: Vec<(Block, Vec<Block>)> = vec![(entry, succs(entry))];
    seen[entry.index()] = true;
    while let Some((b, rest)) = stack.last_mut() {
        if let Some(s) = rest.pop() {
            if s.index() < n && !seen[s.index()] {
                seen[s.index()] = true;
                let ss = succs(s);
                stack.push((s, ss));
            }
        } else {
            post.push(*b);
            stack.pop();
        }
    }
    post.reverse();
    post
}

struct Tx<'a, 'b, M: ClModule> {
    module: &'a mut M,
    decls: &'a Decls,
    f: &'a sx_ir::Function,
    b: FunctionBuilder<'b>,
    vals: Vec<Option<ir::Value>>,
    blocks: Vec<Option<ir::Block>>,
    slots: Vec<ir::StackSlot>,
    func_refs: HashMap<cranelift_module::FuncId, ir::FuncRef>,
    data_gvs: HashMap<cranelift_module::DataId, ir::GlobalValue>,
    ptr: ir::Type,
}

impl<'a, 'b, M: ClModule> Tx<'a, 'b, M> {
    fn v(&self, v: Value) -> Result<ir::Value> {
        self.vals
            .get(v.index())
            .copied()
            .flatten()
            .ok_or_else(|| CodegenError::new(format!("{}: {} used where its definition does not dominate", self.f.name, v)))
    }
    fn vs(&self, vs: &[Value]) -> Result<Vec<ir::Value>> {
        vs.iter().map(|&v| self.v(v)).collect()
    }
    fn ty(&self, v: Value) -> Type {
        self.f.value_type(v)
    }
    fn block(&self, b: Block) -> Result<ir::Block> {
        self.blocks.get(b.index()).copied().flatten().ok_or_else(|| CodegenError::new(format!("{}: branch to unknown {}", self.f.name, b)))
    }
    fn block_args(&self, args: &[Value]) -> Result<Vec<BlockArg>> {
        Ok(self.vs(args)?.into_iter().map(BlockArg::Value).collect())
    }
    fn func_ref(&mut self, id: cranelift_module::FuncId) -> ir::FuncRef {
        if let Some(&r) = self.func_refs.get(&id) {
            return r;
        }
        let r = self.module.declare_func_in_func(id, self.b.func);
        self.func_refs.insert(id, r);
        r
    }
    fn module_func(&self, f: FuncId) -> Result<cranelift_module::FuncId> {
        self.decls
            .funcs
            .get(f.index())
            .copied()
            .flatten()
            .ok_or_else(|| CodegenError::new(format!("{}: reference to missing {}", self.f.name, f)))
    }
    /// Coerces an integer value to the pointer type (zero-extending or truncating).
    fn coerce_int(&mut self, v: ir::Value, from: Type, to: ir::Type) -> Result<ir::Value> {
        if from.is_float() {
            return err(format!("{}: float used where an integer is required", self.f.name));
        }
        let fb = cl_type(from).bits();
        Ok(if fb == to.bits() {
            v
        } else if fb < to.bits() {
            self.b.ins().uextend(to, v)
        } else {
            self.b.ins().ireduce(to, v)
        })
    }

    fn translate(mut self) -> Result<()> {
        let f = self.f;
        let order = reverse_postorder(f);
        // Create all reachable blocks with their parameters up front.
        for &blk in &order {
            let cb = self.b.create_block();
            self.blocks[blk.index()] = Some(cb);
            for &p in &f.blocks[blk].params {
                let pv = self.b.append_block_param(cb, cl_type(self.ty(p)));
                self.vals[p.index()] = Some(pv);
            }
        }
        for (s, sd) in f.slots.iter() {
            let align = sd.align.max(1).next_power_of_two();
            let ss = self.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, sd.size, align.trailing_zeros() as u8));
            debug_assert_eq!(self.slots.len(), s.index());
            self.slots.push(ss);
        }
        // A separate Cranelift entry block: the IR entry block may be a branch target.
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        let params = self.b.block_params(entry).to_vec();
        let ir_entry = order.first().copied().ok_or_else(|| CodegenError::new("function has no entry block"))?;
        let target = self.block(ir_entry)?;
        let args: Vec<BlockArg> = params.into_iter().map(BlockArg::Value).collect();
        self.b.set_srcloc(debuginfo::decl_srcloc());
        self.b.ins().jump(target, &args);

        for &blk in &order {
            let cb = self.block(blk)?;
            self.b.switch_to_block(cb);
            for &inst in &f.blocks[blk].insts {
                if f.insts[inst].span.is_some() {
                    self.b.set_srcloc(debuginfo::inst_srcloc(inst));
                }
                self.inst(inst)?;
            }
        }
        self.b.seal_all_blocks();
        let cfg = self.module.target_config();
        self.b.finalize(cfg);
        Ok(())
    }

    fn set_results(&mut self, inst: sx_ir::Inst, values: &[ir::Value]) -> Result<()> {
        let d = &self.f.insts[inst];
        if d.results.len() != values.len() {
            return err(format!("{}: {} has {} results but the lowering produced {}", self.f.name, inst, d.results.len(), values.len()));
        }
        for (&r, &v) in d.results.iter().zip(values) {
            let want = cl_type(self.f.value_type(r));
            let got = self.b.func.dfg.value_type(v);
            if want != got {
                return err(format!("{}: {} result {} is {} but Cranelift produced {}", self.f.name, inst, r, want, got));
            }
            self.vals[r.index()] = Some(v);
        }
        Ok(())
    }

    fn inst(&mut self, inst: sx_ir::Inst) -> Result<()> {
        let kind = &self.f.insts[inst].kind;
        let fname = &self.f.name;
        let ptr = self.ptr;
        let single = |s: &mut Self, v: ir::Value| s.set_results(inst, &[v]);
        match kind {
            InstKind::Iconst { ty, imm } => {
                if ty.is_float() {
                    return err(format!("{}: iconst of float type", fname));
                }
                let bits = ty.bytes() * 8;
                let masked = if bits == 64 { *imm } else { (*imm as u64 & ((1u64 << bits) - 1)) as i64 };
                let v = self.b.ins().iconst(cl_type(*ty), masked);
                single(self, v)
            }
            InstKind::Fconst { ty, value } => {
                let v = match ty {
                    Type::F32 => self.b.ins().f32const(*value as f32),
                    Type::F64 => self.b.ins().f64const(*value),
                    _ => return err(format!("{}: fconst of integer type", fname)),
                };
                single(self, v)
            }
            InstKind::Binary { op, a, b } => {
                let (x, y) = (self.v(*a)?, self.v(*b)?);
                let ins = self.b.ins();
                let v = match op {
                    BinOp::Iadd => ins.iadd(x, y),
                    BinOp::Isub => ins.isub(x, y),
                    BinOp::Imul => ins.imul(x, y),
                    // Zero divisors and MIN / -1 trap natively, like the VM reports them.
                    BinOp::Sdiv => ins.sdiv(x, y),
                    BinOp::Udiv => ins.udiv(x, y),
                    BinOp::Srem => ins.srem(x, y),
                    BinOp::Urem => ins.urem(x, y),
                    BinOp::And => ins.band(x, y),
                    BinOp::Or => ins.bor(x, y),
                    BinOp::Xor => ins.bxor(x, y),
                    // Cranelift takes shift amounts modulo the bit width, as the IR specifies.
                    BinOp::Shl => ins.ishl(x, y),
                    BinOp::Sshr => ins.sshr(x, y),
                    BinOp::Ushr => ins.ushr(x, y),
                    BinOp::Fadd => ins.fadd(x, y),
                    BinOp::Fsub => ins.fsub(x, y),
                    BinOp::Fmul => ins.fmul(x, y),
                    BinOp::Fdiv => ins.fdiv(x, y),
                };
                single(self, v)
            }
            InstKind::Unary { op, a } => {
                let x = self.v(*a)?;
                let is_float = self.ty(*a).is_float();
                let v = match op {
                    UnOp::Ineg if !is_float => self.b.ins().ineg(x),
                    UnOp::Bnot if !is_float => self.b.ins().bnot(x),
                    UnOp::Fneg if is_float => self.b.ins().fneg(x),
                    _ => return err(format!("{}: {:?} on {:?}", fname, op, self.ty(*a))),
                };
                single(self, v)
            }
            InstKind::Icmp { cc, a, b } => {
                let (x, y) = (self.v(*a)?, self.v(*b)?);
                use condcodes::IntCC as C;
                let c = match cc {
                    IntCC::Eq => C::Equal,
                    IntCC::Ne => C::NotEqual,
                    IntCC::Slt => C::SignedLessThan,
                    IntCC::Sle => C::SignedLessThanOrEqual,
                    IntCC::Sgt => C::SignedGreaterThan,
                    IntCC::Sge => C::SignedGreaterThanOrEqual,
                    IntCC::Ult => C::UnsignedLessThan,
                    IntCC::Ule => C::UnsignedLessThanOrEqual,
                    IntCC::Ugt => C::UnsignedGreaterThan,
                    IntCC::Uge => C::UnsignedGreaterThanOrEqual,
                };
                let v = self.b.ins().icmp(c, x, y);
                single(self, v)
            }
            InstKind::Fcmp { cc, a, b } => {
                let (x, y) = (self.v(*a)?, self.v(*b)?);
                use condcodes::FloatCC as C;
                let c = match cc {
                    FloatCC::Eq => C::Equal,
                    FloatCC::Ne => C::NotEqual, // unordered or not equal
                    FloatCC::Lt => C::LessThan,
                    FloatCC::Le => C::LessThanOrEqual,
                    FloatCC::Gt => C::GreaterThan,
                    FloatCC::Ge => C::GreaterThanOrEqual,
                };
                let v = self.b.ins().fcmp(c, x, y);
                single(self, v)
            }
            InstKind::Convert { op, a, to } => {
                let x = self.v(*a)?;
                let v = self.convert(*op, x, self.ty(*a), *to)?;
                single(self, v)
            }
            InstKind::Select { cond, a, b } => {
                let (c, x, y) = (self.v(*cond)?, self.v(*a)?, self.v(*b)?);
                if self.ty(*cond).is_float() {
                    return err(format!("{}: select condition is a float", fname));
                }
                let v = self.b.ins().select(c, x, y);
                single(self, v)
            }
            InstKind::Load { ty, addr, offset } => {
                let p = self.v(*addr)?;
                let v = self.b.ins().load(cl_type(*ty), MemFlagsData::new(), p, *offset);
                single(self, v)
            }
            InstKind::Store { addr, offset, value } => {
                let (p, x) = (self.v(*addr)?, self.v(*value)?);
                self.b.ins().store(MemFlagsData::new(), x, p, *offset);
                self.set_results(inst, &[])
            }
            InstKind::StackAddr { slot } => {
                let ss = *self.slots.get(slot.index()).ok_or_else(|| CodegenError::new(format!("{}: missing {}", fname, slot)))?;
                let v = self.b.ins().stack_addr(ptr, ss, 0);
                single(self, v)
            }
            InstKind::DataAddr { data } => {
                let id = *self.decls.datas.get(data.index()).ok_or_else(|| CodegenError::new(format!("{}: missing {}", fname, data)))?;
                let gv = match self.data_gvs.get(&id) {
                    Some(&gv) => gv,
                    None => {
                        let gv = self.module.declare_data_in_func(id, self.b.func);
                        self.data_gvs.insert(id, gv);
                        gv
                    }
                };
                let v = self.b.ins().symbol_value(ptr, gv);
                single(self, v)
            }
            InstKind::FuncAddr { func } => {
                let id = self.module_func(*func)?;
                let fr = self.func_ref(id);
                let v = self.b.ins().func_addr(ptr, fr);
                single(self, v)
            }
            InstKind::Call { func, args } => {
                let id = self.module_func(*func)?;
                let fr = self.func_ref(id);
                let args = self.vs(args)?;
                let call = self.b.ins().call(fr, &args);
                let rs = self.b.inst_results(call).to_vec();
                self.set_results(inst, &rs)
            }
            InstKind::CallExtern { ext, args } => {
                let id = self
                    .decls
                    .externs
                    .get(ext.index())
                    .copied()
                    .flatten()
                    .ok_or_else(|| CodegenError::new(format!("{}: missing {}", fname, ext)))?;
                let fr = self.func_ref(id);
                let args = self.vs(args)?;
                let call = self.b.ins().call(fr, &args);
                let rs = self.b.inst_results(call).to_vec();
                self.set_results(inst, &rs)
            }
            InstKind::CallIndirect { sig, callee, args } => {
                let s = cl_sig(self.module.isa(), sig);
                let sr = self.b.import_signature(s);
                let c = self.v(*callee)?;
                let args = self.vs(args)?;
                let call = self.b.ins().call_indirect(sr, c, &args);
                let rs = self.b.inst_results(call).to_vec();
                self.set_results(inst, &rs)
            }
            InstKind::MemCopy { dst, src, len } => {
                let (d, s, l) = (self.v(*dst)?, self.v(*src)?, self.v(*len)?);
                let l = self.coerce_int(l, self.ty(*len), ptr)?;
                let cfg = self.module.target_config();
                self.b.call_memmove(cfg, d, s, l);
                self.set_results(inst, &[])
            }
            InstKind::MemFill { dst, byte, len } => {
                let (d, c, l) = (self.v(*dst)?, self.v(*byte)?, self.v(*len)?);
                let l = self.coerce_int(l, self.ty(*len), ptr)?;
                let c = self.coerce_int(c, self.ty(*byte), types::I8)?;
                let cfg = self.module.target_config();
                self.b.call_memset(cfg, d, c, l);
                self.set_results(inst, &[])
            }
            InstKind::AtomicLoad { ty, addr, .. } => self.atomic_load(inst, *ty, *addr),
            InstKind::AtomicStore { addr, value, .. } => self.atomic_store(inst, *addr, *value),
            InstKind::AtomicRmw { op, addr, value, .. } => self.atomic_rmw(inst, *op, *addr, *value),
            InstKind::AtomicCas { addr, expected, desired, .. } => self.atomic_cas(inst, *addr, *expected, *desired),
            InstKind::Fence { .. } => self.fence(inst),
            InstKind::Jump { dest, args } => {
                let target = self.block(*dest)?;
                let args = self.block_args(args)?;
                self.b.ins().jump(target, &args);
                Ok(())
            }
            InstKind::Branch { cond, then_dest, then_args, else_dest, else_args } => {
                let c = self.v(*cond)?;
                if self.ty(*cond).is_float() {
                    return err(format!("{}: branch condition is a float", fname));
                }
                let t = self.block(*then_dest)?;
                let e = self.block(*else_dest)?;
                let ta = self.block_args(then_args)?;
                let ea = self.block_args(else_args)?;
                self.b.ins().brif(c, t, &ta, e, &ea);
                Ok(())
            }
            InstKind::Return { values } => {
                let vs = self.vs(values)?;
                self.b.ins().return_(&vs);
                Ok(())
            }
            InstKind::Trap { code } => {
                let c = match code {
                    TrapCode::Unreachable => ir::TrapCode::unwrap_user(1),
                    TrapCode::User(n) => ir::TrapCode::user((*n % 200) as u8 + 2).unwrap_or(ir::TrapCode::unwrap_user(1)),
                };
                self.b.ins().trap(c);
                Ok(())
            }
        }
    }

    fn convert(&mut self, op: ConvOp, x: ir::Value, from: Type, to: Type) -> Result<ir::Value> {
        let fname = &self.f.name;
        let bad = || CodegenError::new(format!("{}: {:?} from {:?} to {:?}", fname, op, from, to));
        let tt = cl_type(to);
        let (fb, tb) = (from.bytes(), to.bytes());
        Ok(match op {
            ConvOp::Sext | ConvOp::Uext | ConvOp::Trunc => {
                if from.is_float() || to.is_float() {
                    return Err(bad());
                }
                if fb == tb {
                    x
                } else if fb > tb {
                    self.b.ins().ireduce(tt, x)
                } else if op == ConvOp::Uext || op == ConvOp::Trunc {
                    self.b.ins().uextend(tt, x)
                } else {
                    self.b.ins().sextend(tt, x)
                }
            }
            ConvOp::FPromote | ConvOp::FDemote => match (from, to) {
                (Type::F32, Type::F64) => self.b.ins().fpromote(tt, x),
                (Type::F64, Type::F32) => self.b.ins().fdemote(tt, x),
                (a, b) if a == b && a.is_float() => x,
                _ => return Err(bad()),
            },
            ConvOp::FToS => {
                if !from.is_float() || to.is_float() {
                    return Err(bad());
                }
                if tb >= 4 {
                    self.b.ins().fcvt_to_sint_sat(tt, x)
                } else {
                    // Saturate through i32, then clamp to the narrow range.
                    let w = self.b.ins().fcvt_to_sint_sat(types::I32, x);
                    let bits = tb * 8;
                    let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
                    let lo = self.b.ins().iconst(types::I32, lo & 0xffff_ffff);
                    let hi = self.b.ins().iconst(types::I32, hi);
                    let w = self.b.ins().smax(w, lo);
                    let w = self.b.ins().smin(w, hi);
                    self.b.ins().ireduce(tt, w)
                }
            }
            ConvOp::FToU => {
                if !from.is_float() || to.is_float() {
                    return Err(bad());
                }
                if tb >= 4 {
                    self.b.ins().fcvt_to_uint_sat(tt, x)
                } else {
                    let w = self.b.ins().fcvt_to_uint_sat(types::I32, x);
                    let hi = self.b.ins().iconst(types::I32, (1i64 << (tb * 8)) - 1);
                    let w = self.b.ins().umin(w, hi);
                    self.b.ins().ireduce(tt, w)
                }
            }
            ConvOp::SToF | ConvOp::UToF => {
                if from.is_float() || !to.is_float() {
                    return Err(bad());
                }
                let signed = op == ConvOp::SToF;
                let x = if fb < 4 {
                    if signed {
                        self.b.ins().sextend(types::I32, x)
                    } else {
                        self.b.ins().uextend(types::I32, x)
                    }
                } else {
                    x
                };
                if signed {
                    self.b.ins().fcvt_from_sint(tt, x)
                } else {
                    self.b.ins().fcvt_from_uint(tt, x)
                }
            }
            ConvOp::Bitcast => {
                if fb != tb {
                    return Err(bad());
                }
                if from == to {
                    x
                } else if !from.is_float() && !to.is_float() {
                    return Err(bad()); // same size, different int types cannot happen
                } else {
                    self.b.ins().bitcast(tt, MemFlagsData::new(), x)
                }
            }
        })
    }
}

/// Translates the body of `func` (which must be defined) into the empty Cranelift function
/// `clf`, declaring callees and data in `module` as needed. Shared by the JIT and the object
/// paths.
pub fn translate_function<M: ClModule>(
    module: &mut M,
    m: &sx_ir::Module,
    decls: &Decls,
    func: &sx_ir::Function,
    clf: &mut ir::Function,
) -> Result<()> {
    if !func.is_defined() {
        return err(format!("function `{}` has no body", func.name));
    }
    let ptr = cl_type(m.pointer_type());
    if ptr != module.target_config().pointer_type() {
        return err("the module's pointer width does not match the target");
    }
    let mut fctx = FunctionBuilderContext::new();
    let tx = Tx {
        module,
        decls,
        f: func,
        b: FunctionBuilder::new(clf, &mut fctx),
        vals: vec![None; func.values.len()],
        blocks: vec![None; func.blocks.len()],
        slots: Vec::new(),
        func_refs: HashMap::new(),
        data_gvs: HashMap::new(),
        ptr,
    };
    tx.translate()
}

/// A body for a referenced function that has no IR body: it traps if ever called.
fn trap_stub(clf: &mut ir::Function, cfg: cranelift_codegen::isa::TargetFrontendConfig) {
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(clf, &mut fctx);
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.ins().trap(ir::TrapCode::unwrap_user(1));
    b.seal_all_blocks();
    b.finalize(cfg);
}

/// Declares and defines everything of `m` in `module`; with `code`, records each defined
/// function's machine code layout there (for debug information).
fn compile_into<M: ClModule>(module: &mut M, m: &sx_ir::Module, mut code: Option<&mut Vec<debuginfo::FnCode>>) -> Result<Decls> {
    let problems = sx_ir::verify::verify_module(m);
    if !problems.is_empty() {
        return err(format!("invalid IR:\n  {}", problems.join("\n  ")));
    }
    let decls = declare_module(module, m)?;
    define_datas(module, m, &decls)?;
    let mut ctx = module.make_context();
    for (fid, f) in m.funcs.iter() {
        let Some(id) = decls.funcs[fid.index()] else { continue };
        module.clear_context(&mut ctx);
        ctx.func.signature = cl_sig(module.isa(), &f.sig);
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        if decls.stubs[fid.index()] {
            trap_stub(&mut ctx.func, module.target_config());
        } else {
            translate_function(module, m, &decls, f, &mut ctx.func)?;
        }
        if let Err(errors) = cranelift_codegen::verify_function(&ctx.func, module.isa()) {
            let text = cranelift_codegen::print_errors::pretty_verifier_error(&ctx.func, None, errors);
            return err(format!("Cranelift verifier rejected `{}`:\n{}", f.name, text));
        }
        module.define_function(id, &mut ctx).map_err(|e| match e {
            cranelift_module::ModuleError::Compilation(ce) => CodegenError::new(format!("compiling `{}`: {}", f.name, ce)),
            other => module_err(&format!("defining `{}`", f.name), other),
        })?;
        if let (Some(code), Some(compiled), false) = (code.as_deref_mut(), ctx.compiled_code(), decls.stubs[fid.index()]) {
            let locs = compiled.buffer.get_srclocs_sorted().iter().map(|l| (l.start, l.end, l.loc)).collect();
            let slots = compiled.buffer.frame_layout().map(|frame| debuginfo::slot_frame_offsets(frame, f.slots.len()));
            code.push(debuginfo::FnCode { func: fid, id, size: compiled.code_info().total_size, locs, slots });
        }
    }
    Ok(decls)
}

// ---------------------------------------------------------------------------------------------
// JIT
// ---------------------------------------------------------------------------------------------

mod dl {
    use std::ffi::{c_char, c_int, c_void, CString};

    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
        fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    }
    const RTLD_DEFAULT: *mut c_void = std::ptr::null_mut();
    const RTLD_NOW: c_int = 2;
    const RTLD_GLOBAL: c_int = 0x100;

    /// Looks `name` up in the process (and, failing that, in libm and libc by name).
    pub fn lookup(name: &str) -> Option<*const u8> {
        let c = CString::new(name).ok()?;
        unsafe {
            let p = dlsym(RTLD_DEFAULT, c.as_ptr());
            if !p.is_null() {
                return Some(p as *const u8);
            }
            for lib in ["libm.so.6", "libc.so.6"] {
                let l = CString::new(lib).ok()?;
                let h = dlopen(l.as_ptr(), RTLD_NOW | RTLD_GLOBAL);
                if !h.is_null() {
                    let p = dlsym(h, c.as_ptr());
                    if !p.is_null() {
                        return Some(p as *const u8);
                    }
                }
            }
        }
        None
    }
}

/// Compile `m` in memory and run its entry; returns the exit status (the i32 the entry returned).
pub fn jit_run(m: &sx_ir::Module) -> Result<i32> {
    Ok(jit_compile(m, OptLevel::default())?.run())
}

/// A program compiled in memory by [`jit_compile`], ready to run.
pub struct JitProgram {
    /// Owns the code and data memory.
    module: cranelift_jit::JITModule,
    entry: extern "C" fn() -> i32,
    /// The code of each exported function, by its C symbol.
    exports: Vec<(String, *const u8)>,
}

impl JitProgram {
    /// The code address of the exported function with C symbol `symbol` (for C that calls it).
    pub fn exported_function(&self, symbol: &str) -> Option<*const u8> {
        self.exports.iter().find(|(name, _)| name == symbol).map(|&(_, code)| code)
    }

    /// Runs the entry; returns the exit status (the i32 the entry returned).
    pub fn run(self) -> i32 {
        let status = (self.entry)();
        // The code and data memory is deliberately not freed (`JITModule::free_memory`): the
        // program may have handed JIT function pointers to libc (e.g. `atexit`) that run after
        // we return.
        drop(self.module);
        status
    }
}

/// Compile `m` in memory at optimisation level `opt`, without running it.
pub fn jit_compile(m: &sx_ir::Module, opt: OptLevel) -> Result<JitProgram> {
    jit_compile_debug(m, opt, None)
}

/// Compile `m` in memory at optimisation level `opt`, without running it; with `debug`, the
/// code's DWARF (lines, functions, variables) is registered through gdb's JIT interface, so a
/// gdb running the compiler sees the program as if it had been built with `-g`.
pub fn jit_compile_debug(m: &sx_ir::Module, opt: OptLevel, debug: Option<&DebugSources<'_>>) -> Result<JitProgram> {
    let entry = m.entry.ok_or_else(|| CodegenError::new("module has no entry function"))?;
    let ef = m.funcs.get(entry).ok_or_else(|| CodegenError::new("entry function does not exist"))?;
    if !ef.is_defined() {
        return err(format!("entry `{}` has no body", ef.name));
    }
    if !ef.sig.params.is_empty() || ef.sig.returns != [Type::I32] {
        return err(format!("entry `{}` must have signature () -> i32", ef.name));
    }
    if m.target != Target::host() {
        return err(format!("cannot JIT a {} module on a {} host", m.target.name(), Target::host().name()));
    }
    let optimised = optimised_module(m, opt, debug.is_some());
    let m = optimised.as_ref().unwrap_or(m);
    // Resolve every extern (and the libcalls we use) up front: cranelift-jit panics on
    // unresolved symbols at finalize time.
    let mut builder = cranelift_jit::JITBuilder::with_isa(host_isa(opt)?, cranelift_module::default_libcall_names());
    let (_, live_externs) = live_code(m);
    let mut wanted: Vec<&str> = m.externs.values().zip(&live_externs).filter(|(_, &l)| l).map(|(e, _)| e.symbol.as_str()).collect();
    wanted.extend(["memmove", "memset"]);
    for name in wanted {
        match dl::lookup(name) {
            Some(p) => {
                builder.symbol(name, p);
            }
            None => return err(format!("cannot resolve extern symbol `{}`", name)),
        }
    }
    builder.symbol_lookup_fn(Box::new(dl::lookup));
    let mut module = cranelift_jit::JITModule::new(builder);
    let mut code = Vec::new();
    let decls = compile_into(&mut module, m, debug.is_some().then_some(&mut code))?;
    module.finalize_definitions().map_err(|e| module_err("finalizing JIT code", e))?;
    if let Some(src) = debug {
        let image = debuginfo::jit_image(m, src, &code, |id| module.get_finalized_function(id) as u64)?;
        gdb_jit::register(image);
    }
    let id = decls.funcs[entry.index()].ok_or_else(|| CodegenError::new("entry was not compiled"))?;
    let code = module.get_finalized_function(id);
    // SAFETY: the entry was compiled with signature () -> i32 and the platform C calling
    // convention; `module` (which owns the code and data) lives in the returned program, so the
    // code outlives every call through this pointer.
    let entry: extern "C" fn() -> i32 = unsafe { std::mem::transmute(code) };
    let exports = m
        .funcs
        .iter()
        .filter(|(_, f)| f.is_defined() && f.linkage == Linkage::Export)
        .filter_map(|(fid, f)| decls.funcs[fid.index()].map(|id| (f.name.clone(), module.get_finalized_function(id))))
        .collect();
    Ok(JitProgram { module, entry, exports })
}

// ---------------------------------------------------------------------------------------------
// Object files and linking
// ---------------------------------------------------------------------------------------------

/// Emit a relocatable object file for `m.target`.
pub fn emit_object(m: &sx_ir::Module) -> Result<Vec<u8>> {
    emit_object_with(m, OptLevel::default())
}

/// Emit a relocatable object file for `m.target` at optimisation level `opt`.
pub fn emit_object_with(m: &sx_ir::Module, opt: OptLevel) -> Result<Vec<u8>> {
    emit_object_debug(m, opt, None)
}

/// Emit a relocatable object file for `m.target` at optimisation level `opt`; with `debug`, it
/// carries DWARF debug information (line tables, functions) and `.eh_frame` unwind tables.
pub fn emit_object_debug(m: &sx_ir::Module, opt: OptLevel, debug: Option<&DebugSources<'_>>) -> Result<Vec<u8>> {
    let optimised = optimised_module(m, opt, debug.is_some());
    let m = optimised.as_ref().unwrap_or(m);
    let isa = target_isa(m.target, opt)?;
    let mut builder = cranelift_object::ObjectBuilder::new(isa, "sx_module", cranelift_module::default_libcall_names())
        .map_err(|e| module_err("creating object builder", e))?;
    builder.unwind_info(debug.is_some());
    let mut module = cranelift_object::ObjectModule::new(builder);
    let mut code = Vec::new();
    compile_into(&mut module, m, debug.is_some().then_some(&mut code))?;
    let mut product = module.finish();
    if let Some(src) = debug {
        debuginfo::add_debug_info(m, src, &code, &mut product)?;
    }
    product.emit().map_err(|e| CodegenError::new(format!("writing object file: {}", e)))
}

/// Write the object to a temp file and link it with the system `cc` into an executable at `out`,
/// passing `extra` to `cc` after the object (libraries and objects the program's externs need).
pub fn link_executable(object: &[u8], out: &Path, extra: &[String]) -> Result<()> {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sx_link_{}_{}", std::process::id(), n));
    std::fs::create_dir_all(&dir).map_err(|e| CodegenError::new(format!("creating {}: {}", dir.display(), e)))?;
    let obj = dir.join("module.o");
    let result = std::fs::write(&obj, object)
        .map_err(|e| CodegenError::new(format!("writing {}: {}", obj.display(), e)))
        .and_then(|_| link_objects(&[obj.clone()], out, extra));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Link object files `objects` with the system `cc` into an executable at `out`, passing
/// `extra` (libraries, flags) after them, and the math library.
pub fn link_objects(objects: &[std::path::PathBuf], out: &Path, extra: &[String]) -> Result<()> {
    let output = std::process::Command::new("cc")
        .args(objects)
        .arg("-o")
        .arg(out)
        .args(extra)
        .arg("-lm")
        .output()
        .map_err(|e| CodegenError::new(format!("running the system linker `cc`: {}", e)))?;
    if !output.status.success() {
        return err(format!(
            "linking {} failed ({}):\n{}{}",
            out.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}
