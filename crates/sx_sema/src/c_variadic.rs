//! Calls of C-variadic externs: `f :: (n: i32, ..args: []T) -> R extern;`.
//!
//! The extra arguments go to C's `...`, not into a slice: each gets C's default argument
//! promotions (an integer narrower than `int` and `bool` become `int`, `f32` becomes `double`;
//! an untyped integer literal is an `int`, a float literal a `double`). x86-64 System V wants
//! `%al` set to the number of vector registers a variadic call uses, which Cranelift cannot
//! express, and the VM's libffi interface is prepared per signature; so each distinct
//! (symbol, argument types) gets a small C shim with a fixed prototype that makes the variadic
//! call (compiled like a `#source`, see [`c_units`](crate::c_units)). The JIT, the object file
//! and the VM all call the shim as an ordinary C function.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

/// The C spelling and IR type of a scalar sx type C can take, with its comptime FFI kind.
pub(crate) struct CScalar {
    pub c: &'static str,
    pub ir: sx_ir::Type,
    pub foreign: sx_vm::ForeignType,
}

impl Compiler {
    /// `t` as a C scalar, if it is one.
    pub(crate) fn c_scalar(&self, t: TypeId) -> Option<CScalar> {
        let ir = self.types.scalar(t)?;
        let c = match self.types.kind(t) {
            TK::Bool => "_Bool",
            TK::Int { bits: 8, signed: true, .. } => "signed char",
            TK::Int { bits: 8, signed: false, .. } => "unsigned char",
            TK::Int { bits: 16, signed: true, .. } => "short",
            TK::Int { bits: 16, signed: false, .. } => "unsigned short",
            TK::Int { bits: 32, signed: true, .. } => "int",
            TK::Int { bits: 32, signed: false, .. } => "unsigned int",
            TK::Int { bits: 64, signed: true, .. } => "long long",
            TK::Int { bits: 64, signed: false, .. } => "unsigned long long",
            TK::Float { bits: 32 } => "float",
            TK::Float { bits: 64 } => "double",
            TK::Enum(_) => return self.types.enum_of(t).and_then(|e| self.c_scalar(e.backing)),
            TK::Pointer(_) | TK::ManyPointer(_) | TK::Cstring | TK::Func { .. } | TK::Optional(_) => "void *",
            _ => return None,
        };
        Some(CScalar { c, ir, foreign: self.foreign_type(t, false) })
    }
}

impl<'c> FnCx<'c> {
    /// A call of C-variadic extern `fid` (signature `sig`, whose last parameter is the pack).
    pub(crate) fn c_variadic_call(&mut self, fid: FnId, sig: &FnSig, args: &[Arg], span: Span) -> R<TV> {
        let nfixed = sig.params.len().saturating_sub(1);
        let TK::Slice(elem) = self.c.types.kind(sig.params[nfixed]).clone() else {
            return self.err(span, "a C-variadic extern's last parameter must be '..name: []T'");
        };
        if args.len() < nfixed {
            let msg = format!("missing argument '{}' in call to '{}'", sig.param_names[args.len()], self.c.fns[fid].name);
            return self.err(span, msg);
        }
        let mut vals: Vec<(TV, Span)> = vec![];
        let mut copies: Vec<sx_ir::Value> = vec![];
        for (i, a) in args.iter().enumerate() {
            if a.name.is_some() || a.spread {
                return self.err(a.span, "not supported yet: a named or spread argument in a call of a C-variadic extern");
            }
            let v = if i < nfixed {
                let v = self.arg_value(&a.value, sig.params[i])?;
                let v = self.coerce(v, sig.params[i], a.value.span)?;
                match self.c.types.kind(v.ty).clone() {
                    // A string or slice goes to C as a NUL-terminated copy, as for any extern.
                    TK::String => self.terminated_copy(v, 1, &mut copies, a.value.span)?,
                    TK::Slice(e) => {
                        let elem = self.c.types.size_of(e).max(1);
                        self.terminated_copy(v, elem, &mut copies, a.value.span)?
                    }
                    _ => v,
                }
            } else {
                self.c_variadic_extra(&a.value, elem)?
            };
            vals.push((v, a.value.span));
        }
        let mut params = vec![];
        for (v, sp) in &vals {
            match self.c.c_scalar(v.ty) {
                Some(s) => params.push(s),
                None => {
                    let msg =
                        format!("not supported yet: an argument of type '{}' in a call of a C-variadic extern", self.c.types.name(v.ty));
                    return self.err(*sp, msg);
                }
            }
        }
        let ret = if sig.ret == bt::VOID {
            None
        } else {
            match self.c.c_scalar(sig.ret) {
                Some(s) => Some(s),
                None => {
                    let msg = format!("not supported yet: a result of type '{}' of a C-variadic extern", self.c.types.name(sig.ret));
                    return self.err(span, msg);
                }
            }
        };
        let def = &self.c.fns[fid];
        let sym = def.decl.attrs.extern_sym.clone().unwrap_or_else(|| def.name.clone());
        let ext = self.c.c_variadic_shim(&sym, nfixed, &params, ret.as_ref(), span)?;
        let mut irargs = vec![];
        for (v, sp) in vals {
            irargs.push(self.pass_arg_pub(v, sp)?);
        }
        let rets: Vec<sx_ir::Type> = ret.iter().map(|r| r.ir).collect();
        let res = self.b(|b| b.call_extern(ext, irargs, &rets));
        if !copies.is_empty() {
            let free = self.c.module.declare_extern("free", sx_ir::Signature { params: vec![sx_ir::Type::I64], returns: vec![] });
            for buf in copies {
                self.b(|b| b.call_extern(free, vec![buf], &[]));
            }
        }
        Ok(self.call_result_pub(sig.ret, res, None))
    }

    /// A NUL-terminated heap copy of string or slice `v` (elements of `elem` bytes), as a
    /// `cstring` value; the buffer is added to `copies` to be freed after the call.
    fn terminated_copy(&mut self, v: TV, elem: u64, copies: &mut Vec<sx_ir::Value>, span: Span) -> R<TV> {
        let s = self.slot_for(v.ty);
        let at = self.slot_addr(s);
        self.store(at, v, span)?;
        let i64t = sx_ir::Type::I64;
        let malloc = self.c.module.declare_extern("malloc", sx_ir::Signature { params: vec![i64t], returns: vec![i64t] });
        let buf = self.b(|b| {
            let ptr = b.load(i64t, at, 0);
            let len = b.load(i64t, at, 8);
            let e = b.iconst(i64t, elem as i64);
            let bytes = b.binary(sx_ir::BinOp::Imul, len, e);
            let total = b.binary(sx_ir::BinOp::Iadd, bytes, e);
            let buf = b.call_extern(malloc, vec![total], &[i64t])[0];
            b.memcopy(buf, ptr, bytes);
            let end = b.binary(sx_ir::BinOp::Iadd, buf, bytes);
            let zero = b.iconst(sx_ir::Type::I8, 0);
            b.memfill(end, zero, e);
            buf
        });
        copies.push(buf);
        Ok(TV { ty: bt::CSTRING, v: V::Scalar(buf) })
    }

    /// `xx p` of a NUL-terminated byte pointer (`[*]u8`, `*u8`, `cstring`) to a `string` or
    /// byte slice (`[:0]u8`): `{p, strlen(p)}`, empty for null. `None` for other conversions.
    pub(crate) fn c_string_to_slice(&mut self, tv: &TV, to: TypeId, span: Span) -> R<Option<TV>> {
        let byte = |c: &Compiler, e: TypeId| matches!(c.types.kind(e), TK::Int { bits: 8, .. });
        let from_ok = match self.c.types.kind(tv.ty) {
            TK::ManyPointer(e) | TK::Pointer(e) => byte(self.c, *e),
            TK::Cstring => true,
            _ => false,
        };
        let to_ok = match self.c.types.kind(to) {
            TK::String => true,
            TK::Slice(e) => byte(self.c, *e),
            _ => false,
        };
        if !from_ok || !to_ok {
            return Ok(None);
        }
        let ptr = self.scalar(tv.clone(), span)?;
        let strlen =
            self.c.module.declare_extern("strlen", sx_ir::Signature { params: vec![sx_ir::Type::I64], returns: vec![sx_ir::Type::I64] });
        let len = self.b(|b| {
            let zero = b.iconst(sx_ir::Type::I64, 0);
            let is_null = b.icmp(sx_ir::IntCC::Eq, ptr, zero);
            let (some, done) = (b.create_block(), b.create_block());
            let len = b.append_block_param(done, sx_ir::Type::I64);
            b.branch(is_null, done, vec![zero], some, vec![]);
            b.switch_to_block(some);
            let n = b.call_extern(strlen, vec![ptr], &[sx_ir::Type::I64])[0];
            b.jump(done, vec![n]);
            b.switch_to_block(done);
            len
        });
        self.make_slice(ptr, Some(len), 0, to).map(Some)
    }

    /// One extra argument: converted to the pack's element type when that is a scalar, an
    /// untyped literal made an `int` or `double`, then C's default promotions.
    fn c_variadic_extra(&mut self, e: &Expr, elem: TypeId) -> R<TV> {
        let want = self.c.types.scalar(elem).is_some().then_some(elem);
        let v = self.expr(e, want)?;
        let v = match (&v.v, want) {
            (_, Some(t)) => self.coerce(v, t, e.span)?,
            (V::Const(c), None) if c.is_untyped() => {
                let t = if matches!(c, ConstVal::Float { .. }) { bt::F64 } else { bt::I32 };
                self.coerce(v, t, e.span)?
            }
            _ => v,
        };
        let promoted = match self.c.types.kind(v.ty) {
            TK::Bool => bt::I32,
            TK::Int { bits, .. } if *bits < 32 => bt::I32,
            TK::Float { bits: 32 } => bt::F64,
            _ => v.ty,
        };
        if promoted == v.ty {
            return Ok(v);
        }
        self.convert(v, promoted, e.span)
    }
}
