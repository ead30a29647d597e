//! The C calling convention of `extern` functions (x86-64 System V).
//!
//! Inside sx, an aggregate parameter is passed by address and an aggregate result through a
//! hidden result pointer. C passes a struct of at most 16 bytes *by value* in registers, one
//! register per eightbyte (an SSE register when the eightbyte holds only floats, else a
//! general-purpose one), and returns a larger one through a hidden pointer passed first.
//! Every extern therefore gets a small module function with the sx convention (the function
//! calls and function values use) whose body adapts it to the C prototype: it loads a struct
//! argument's eightbytes, stores the eightbytes of a struct result, and hands a `string` or
//! slice argument to C as a pointer to a NUL-terminated heap copy made for the call (freed when
//! C returns; a C function that keeps the pointer must be given a `cstring` instead).
//!
//! A struct C expects in memory (more than 16 bytes, or not enough argument registers left for
//! all of its eightbytes) is passed by address with a [`sx_ir::ByvalParam`] mark on the extern:
//! Cranelift copies it into the outgoing stack arguments, the VM hands libffi a struct of that
//! size. Otherwise the IR call is a plain scalar call, so the VM (through libffi), the JIT and
//! the object file all make the same C call. SIMD vectors, unions and other non-struct
//! aggregates, and aggregates on targets other than x86-64 are named errors.

use crate::*;
use sx_ir::builder::FunctionBuilder;
use sx_ir::{BinOp, ExternId, Function, Signature, Type, Value};
use sx_types::TypeKind as TK;
use sx_vm::{ForeignSig, ForeignType};

/// How one sx parameter of an extern reaches C.
#[derive(Clone, Debug)]
pub(crate) enum CParam {
    /// A scalar, passed as is.
    Scalar(Type, ForeignType),
    /// A struct of at most 16 bytes: one C argument per eightbyte (`I64` or `F64`).
    Split { size: u64, parts: Vec<(Type, ForeignType)> },
    /// A `string` or slice: a pointer to a NUL-terminated copy of its `elem`-byte elements.
    TerminatedCopy { elem: u64 },
    /// A struct C receives in memory (more than 16 bytes, or too few argument registers left):
    /// its address, from which the call copies `size` bytes onto the stack.
    Memory { size: u64 },
}

/// How an extern's result comes back from C.
#[derive(Clone, Debug)]
pub(crate) enum CResult {
    Void,
    Scalar(Type, ForeignType),
    /// A struct of at most 16 bytes, returned in one or two registers.
    Split {
        size: u64,
        parts: Vec<(Type, ForeignType)>,
    },
    /// A larger struct: C writes it through a pointer passed as the first argument.
    Indirect,
    /// A `string`, `[:0]u8` or `[]u8` (`optional`: `?…` of one): C returns one `char *`, the
    /// sx value is `{pointer, strlen}` (NULL: the empty string, or null for an optional),
    /// written through the result pointer whose `size` bytes are zeroed first.
    CString {
        optional: bool,
        size: u64,
    },
}

/// The C-level shape of an extern signature.
#[derive(Clone, Debug)]
pub(crate) struct CAbi {
    pub params: Vec<CParam>,
    pub ret: CResult,
}

/// General-purpose and SSE argument registers of the System V x86-64 convention.
const INT_ARG_REGS: usize = 6;
const SSE_ARG_REGS: usize = 8;

impl CAbi {
    /// The IR signature of the C function.
    pub(crate) fn c_signature(&self) -> Signature {
        let mut params = vec![];
        if matches!(self.ret, CResult::Indirect) {
            params.push(Type::I64);
        }
        for p in &self.params {
            match p {
                CParam::Scalar(t, _) => params.push(*t),
                CParam::Split { parts, .. } => params.extend(parts.iter().map(|p| p.0)),
                CParam::TerminatedCopy { .. } | CParam::Memory { .. } => params.push(Type::I64),
            }
        }
        let returns = match &self.ret {
            CResult::Void | CResult::Indirect => vec![],
            CResult::Scalar(t, _) => vec![*t],
            CResult::Split { parts, .. } => parts.iter().map(|p| p.0).collect(),
            CResult::CString { .. } => vec![Type::I64],
        };
        Signature { params, returns }
    }

    /// What comptime FFI needs to know about each C-level parameter and result.
    pub(crate) fn foreign_sig(&self) -> ForeignSig {
        let mut params = vec![];
        if matches!(self.ret, CResult::Indirect) {
            params.push(ForeignType::Pointer);
        }
        for p in &self.params {
            match p {
                CParam::Scalar(_, k) => params.push(*k),
                CParam::Split { parts, .. } => params.extend(parts.iter().map(|p| p.1)),
                CParam::TerminatedCopy { elem: 1 } => params.push(ForeignType::CString),
                CParam::TerminatedCopy { .. } | CParam::Memory { .. } => params.push(ForeignType::Pointer),
            }
        }
        let rets = match &self.ret {
            CResult::Void | CResult::Indirect => vec![],
            CResult::Scalar(_, k) => vec![*k],
            CResult::Split { parts, .. } => parts.iter().map(|p| p.1).collect(),
            CResult::CString { .. } => vec![ForeignType::CString],
        };
        ForeignSig { params, rets, variadic: None }
    }

    /// The C parameters (by index into [`CAbi::c_signature`]) passed in memory.
    pub(crate) fn byval(&self) -> Vec<sx_ir::ByvalParam> {
        let mut out = vec![];
        let mut i = matches!(self.ret, CResult::Indirect) as u32;
        for p in &self.params {
            match p {
                CParam::Split { parts, .. } => i += parts.len() as u32,
                CParam::Memory { size } => {
                    out.push(sx_ir::ByvalParam { param: i, size: size.next_multiple_of(8) as u32 });
                    i += 1;
                }
                _ => i += 1,
            }
        }
        out
    }
}

impl Compiler {
    /// Classifies the parameters and result of extern signature `sig` for the C convention;
    /// the error names the first thing C could not be given this way.
    pub(crate) fn c_abi(&self, sig: &FnSig) -> Result<CAbi, String> {
        let (mut ints, mut sses) = (0usize, 0usize);
        let ret = if sig.ret == bt::VOID || sig.ret == bt::NORETURN {
            CResult::Void
        } else if let Some(t) = self.types.scalar(sig.ret) {
            CResult::Scalar(t, self.foreign_type(sig.ret, true))
        } else if let Some(optional) = self.c_string_result(sig.ret) {
            CResult::CString { optional, size: self.types.size_of(sig.ret) }
        } else {
            self.check_c_aggregate(sig.ret, "result")?;
            let size = self.types.size_of(sig.ret);
            if size > 16 {
                ints += 1;
                CResult::Indirect
            } else {
                CResult::Split { size, parts: self.eightbytes(sig.ret)? }
            }
        };
        let mut params = vec![];
        for &t in &sig.params {
            let p = if let Some(s) = self.types.scalar(t) {
                CParam::Scalar(s, self.foreign_type(t, false))
            } else {
                match self.types.kind(t) {
                    TK::String => CParam::TerminatedCopy { elem: 1 },
                    TK::Slice(e) => CParam::TerminatedCopy { elem: self.types.size_of(*e).max(1) },
                    _ => {
                        self.check_c_aggregate(t, "parameter")?;
                        let size = self.types.size_of(t);
                        if size > 16 {
                            CParam::Memory { size }
                        } else {
                            CParam::Split { size, parts: self.eightbytes(t)? }
                        }
                    }
                }
            };
            let (need_int, need_sse) = match &p {
                CParam::Scalar(Type::F32 | Type::F64, _) => (0, 1),
                CParam::Scalar(..) | CParam::TerminatedCopy { .. } => (1, 0),
                CParam::Memory { .. } => (0, 0),
                CParam::Split { parts, .. } => {
                    let s = parts.iter().filter(|p| p.0 == Type::F64).count();
                    (parts.len() - s, s)
                }
            };
            // C passes a struct whose eightbytes do not all fit in the registers left in memory.
            if let CParam::Split { size, .. } = p {
                if ints + need_int > INT_ARG_REGS || sses + need_sse > SSE_ARG_REGS {
                    params.push(CParam::Memory { size });
                    continue;
                }
            }
            ints += need_int;
            sses += need_sse;
            params.push(p);
        }
        Ok(CAbi { params, ret })
    }

    /// For a result type C hands back as one `char *`: whether it is an optional of one.
    fn c_string_result(&self, t: TypeId) -> Option<bool> {
        let bytes = |t: TypeId| match self.types.kind(t) {
            TK::String => true,
            TK::Slice(e) => matches!(self.types.kind(*e), TK::Int { bits: 8, .. }),
            _ => false,
        };
        match self.types.kind(t) {
            TK::Optional(i) if bytes(*i) => Some(true),
            _ if bytes(t) => Some(false),
            _ => None,
        }
    }

    /// Errors unless `t` is a struct (or array) C can take by value here.
    fn check_c_aggregate(&self, t: TypeId, what: &str) -> Result<(), String> {
        if self.types.target != sx_ir::Target::X86_64Linux {
            return Err(format!(
                "not supported yet: an aggregate {} ('{}') of an extern function on this target (only x86-64 passes structs by value so far)",
                what,
                self.types.name(t)
            ));
        }
        match self.types.kind(t) {
            TK::Struct(_) | TK::Array(..) => Ok(()),
            _ => Err(format!("not supported yet: a {} of type '{}' in an extern function", what, self.types.name(t))),
        }
    }

    /// The System V classes of the eightbytes of the ≤ 16-byte aggregate `t`: `F64` for an
    /// eightbyte holding only floats, else `I64` (a pointer when it is exactly one pointer).
    fn eightbytes(&self, t: TypeId) -> Result<Vec<(Type, ForeignType)>, String> {
        let mut leaves = vec![];
        self.c_leaves(t, 0, &mut leaves)?;
        let size = self.types.size_of(t);
        let mut parts = vec![];
        for k in 0..size.div_ceil(8) {
            let inside: Vec<&(u64, Type, ForeignType)> = leaves.iter().filter(|l| l.0 / 8 == k).collect();
            let all_float = !inside.is_empty() && inside.iter().all(|l| matches!(l.1, Type::F32 | Type::F64));
            let part = match inside.as_slice() {
                _ if all_float => (Type::F64, ForeignType::Float),
                [(_, Type::I64, k @ (ForeignType::Pointer | ForeignType::CString))] => (Type::I64, *k),
                _ => (Type::I64, ForeignType::Int { signed: false }),
            };
            parts.push(part);
        }
        Ok(parts)
    }

    /// The scalar leaves of `t` placed at `base`: (offset, IR type, FFI kind).
    fn c_leaves(&self, t: TypeId, base: u64, out: &mut Vec<(u64, Type, ForeignType)>) -> Result<(), String> {
        if let Some(s) = self.types.scalar(t) {
            if !base.is_multiple_of(s.bytes() as u64) {
                return Err(format!(
                    "not supported yet: a misaligned field of type '{}' in a by-value struct of an extern function",
                    self.types.name(t)
                ));
            }
            out.push((base, s, self.foreign_type(t, false)));
            return Ok(());
        }
        match self.types.kind(t) {
            TK::Struct(_) => {
                let fields: Vec<(TypeId, u64)> =
                    self.types.struct_of(t).map(|s| s.fields.iter().map(|f| (f.ty, f.offset)).collect()).unwrap_or_default();
                for (ft, off) in fields {
                    self.c_leaves(ft, base + off, out)?;
                }
                Ok(())
            }
            TK::Array(n, e) => {
                let stride = self.types.size_of(*e);
                for i in 0..*n {
                    self.c_leaves(*e, base + i * stride, out)?;
                }
                Ok(())
            }
            TK::String | TK::Slice(_) => {
                out.push((base, Type::I64, ForeignType::Pointer));
                out.push((base + 8, Type::I64, ForeignType::Int { signed: true }));
                Ok(())
            }
            _ => Err(format!("not supported yet: a field of type '{}' in a by-value struct of an extern function", self.types.name(t))),
        }
    }

    /// Builds the sx-convention function (IR signature `irsig`) that calls C function `ext`
    /// as `abi` describes.
    pub(crate) fn build_extern_wrapper(&mut self, name: String, irsig: &Signature, ext: ExternId, abi: &CAbi) -> Function {
        let c_sig = abi.c_signature();
        let mut f = Function::new(name, irsig.clone());
        crate::emit::write_adapter(&mut f, None, |b, mut incoming| {
            let sret = match abi.ret {
                CResult::Split { .. } | CResult::Indirect | CResult::CString { .. } => Some(incoming.remove(0)),
                _ => None,
            };
            let mut args = vec![];
            if let (CResult::Indirect, Some(p)) = (&abi.ret, sret) {
                args.push(p);
            }
            let mut copies = vec![];
            for (p, v) in abi.params.iter().zip(incoming) {
                match p {
                    CParam::Scalar(..) => args.push(v),
                    CParam::Memory { size } => {
                        // The call copies whole eightbytes: pass a padded copy.
                        let padded = size.next_multiple_of(8) as u32;
                        let slot = b.create_slot(padded, 8);
                        let tmp = b.stack_addr(slot, Type::I64);
                        if padded as u64 != *size {
                            let zero = b.iconst(Type::I8, 0);
                            let n = b.iconst(Type::I64, padded as i64);
                            b.memfill(tmp, zero, n);
                        }
                        let n = b.iconst(Type::I64, (*size) as i64);
                        b.memcopy(tmp, v, n);
                        args.push(tmp);
                    }
                    CParam::Split { size, parts } => {
                        let tmp = Self::zeroed_pair(b);
                        let n = b.iconst(Type::I64, (*size) as i64);
                        b.memcopy(tmp, v, n);
                        for (k, (t, _)) in parts.iter().enumerate() {
                            args.push(b.load(*t, tmp, 8 * k as i32));
                        }
                    }
                    CParam::TerminatedCopy { elem } => {
                        let malloc = self.module.declare_extern("malloc", Signature { params: vec![Type::I64], returns: vec![Type::I64] });
                        let ptr = b.load(Type::I64, v, 0);
                        let len = b.load(Type::I64, v, 8);
                        let e = b.iconst(Type::I64, (*elem) as i64);
                        let bytes = b.binary(BinOp::Imul, len, e);
                        let total = b.binary(BinOp::Iadd, bytes, e);
                        let buf = b.call_extern(malloc, vec![total], &[Type::I64])[0];
                        b.memcopy(buf, ptr, bytes);
                        let end = b.binary(BinOp::Iadd, buf, bytes);
                        let zero = b.iconst(Type::I8, 0);
                        b.memfill(end, zero, e);
                        args.push(buf);
                        copies.push(buf);
                    }
                }
            }
            let results = b.call_extern(ext, args, &c_sig.returns);
            if !copies.is_empty() {
                let free = self.module.declare_extern("free", Signature { params: vec![Type::I64], returns: vec![] });
                for buf in copies {
                    b.call_extern(free, vec![buf], &[]);
                }
            }
            match (&abi.ret, sret) {
                (CResult::Split { size, .. }, Some(dst)) => {
                    let tmp = Self::zeroed_pair(b);
                    for (k, &r) in results.iter().enumerate() {
                        b.store(tmp, 8 * k as i32, r);
                    }
                    let n = b.iconst(Type::I64, (*size) as i64);
                    b.memcopy(dst, tmp, n);
                    b.ret(vec![]);
                }
                (CResult::CString { optional, size }, Some(dst)) => {
                    let strlen = self.module.declare_extern("strlen", Signature { params: vec![Type::I64], returns: vec![Type::I64] });
                    Self::c_string_into(b, strlen, results[0], dst, *optional, *size);
                }
                (CResult::Scalar(..), _) => b.ret(results),
                _ => b.ret(vec![]),
            }
        });
        f
    }

    /// Writes the sx value of C string `ptr` to `dst` (see [`CResult::CString`]) and returns.
    fn c_string_into(b: &mut FunctionBuilder, strlen: ExternId, ptr: Value, dst: Value, optional: bool, size: u64) {
        let zero_byte = b.iconst(Type::I8, 0);
        let n = b.iconst(Type::I64, size as i64);
        b.memfill(dst, zero_byte, n);
        let zero = b.iconst(Type::I64, 0);
        let is_null = b.icmp(sx_ir::IntCC::Eq, ptr, zero);
        let (some, done) = (b.create_block(), b.create_block());
        b.branch(is_null, done, vec![], some, vec![]);
        b.switch_to_block(some);
        let len = b.call_extern(strlen, vec![ptr], &[Type::I64])[0];
        b.store(dst, 0, ptr);
        b.store(dst, 8, len);
        if optional {
            // The presence flag follows the 16-byte slice.
            let one = b.iconst(Type::I8, 1);
            b.store(dst, 16, one);
        }
        b.jump(done, vec![]);
        b.switch_to_block(done);
        b.ret(vec![]);
    }

    /// A zeroed 16-byte stack temporary (two eightbytes) and its address.
    fn zeroed_pair(b: &mut FunctionBuilder) -> Value {
        let slot = b.create_slot(16, 8);
        let p = b.stack_addr(slot, Type::I64);
        let zero = b.iconst(Type::I8, 0);
        let n = b.iconst(Type::I64, 16);
        b.memfill(p, zero, n);
        p
    }
}
