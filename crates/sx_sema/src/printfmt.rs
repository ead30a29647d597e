//! `print` / `format`: the compiler-side shim of the library formatter (SUBSET §0.1, §8).
//!
//! The format string must be a compile-time constant; each `{}` renders the next argument by
//! its static type, through small helper functions of our std (`__sx_fmt_*`), into one buffer
//! that is written with a single `write` (print) or copied out (format).

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{BinOp as IB, ConvOp, IntCC, Type as IrType, Value};
use sx_types::TypeKind as TK;

enum Seg {
    Text(String),
    Arg(usize),
}

fn parse_format(f: &str) -> Vec<Seg> {
    let mut out = vec![];
    let mut text = String::new();
    let mut n = 0;
    let b: Vec<char> = f.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '{' && b.get(i + 1) == Some(&'{') {
            text.push('{');
            i += 2;
        } else if c == '}' && b.get(i + 1) == Some(&'}') {
            text.push('}');
            i += 2;
        } else if c == '{' && b.get(i + 1) == Some(&'}') {
            if !text.is_empty() {
                out.push(Seg::Text(std::mem::take(&mut text)));
            }
            out.push(Seg::Arg(n));
            n += 1;
            i += 2;
        } else {
            text.push(c);
            i += 1;
        }
    }
    if !text.is_empty() {
        out.push(Seg::Text(text));
    }
    out
}

impl<'c> FnCx<'c> {
    pub fn print_call(&mut self, is_format: bool, args: &[Arg], span: Span) -> R<TV> {
        let Some(first) = args.first() else {
            return self.err(span, "print needs a format string");
        };
        let fv = self.expr(&first.value, Some(bt::STRING))?;
        let Some(ConstVal::Str(fmt)) = fv.as_const().cloned() else {
            return self.err(first.value.span, "the format string must be a compile-time constant string");
        };
        let mut vals = vec![];
        let mut failed = false;
        for a in &args[1..] {
            match self.recovering(|cx| cx.print_arg(a)) {
                Ok(v) => vals.push((v, a.span)),
                Err(()) => failed = true,
            }
        }
        if failed {
            return Err(());
        }
        let segs = parse_format(&String::from_utf8_lossy(&fmt));
        for s in segs {
            match s {
                Seg::Text(t) => self.emit_text(&t, span)?,
                Seg::Arg(k) => match vals.get(k).cloned() {
                    Some((v, sp)) => self.emit_value(v, sp)?,
                    None => return self.err(first.value.span, format!("format string has more '{{}}' than arguments ({})", vals.len())),
                },
            }
        }
        if is_format {
            let s = self.slot_for(bt::STRING);
            let a = self.slot_addr(s);
            self.call_helper("__sx_fmt_take", vec![a], bt::VOID, span)?;
            Ok(TV { ty: bt::STRING, v: V::Mem(a) })
        } else {
            self.call_helper("__sx_fmt_flush", vec![], bt::VOID, span)?;
            Ok(TV::void())
        }
    }

    /// Lowers one value argument of `print`/`format` to what the format pack holds.
    fn print_arg(&mut self, a: &Arg) -> R<TV> {
        if a.spread || a.name.is_some() {
            return self.err(a.span, "not supported yet: spread or named arguments to print");
        }
        self.value_ctx = true;
        // `xx v` boxes the argument into the `any` the format pack holds: it prints as itself
        // (an enum by its name).
        let value = match &a.value.kind {
            ExprKind::AutoCast(inner) => inner.as_ref(),
            _ => &a.value,
        };
        let v = self.expr(value, None)?;
        let v = if v.as_const().map(|c| c.is_untyped()).unwrap_or(false) { self.coerce(v.clone(), v.ty, a.span)? } else { v };
        match v.v {
            V::Const(ConstVal::Type(_)) | V::Const(ConstVal::Str(_)) => Ok(v),
            _ => {
                let m = self.materialize(v, a.span)?;
                self.spill(m, a.span)
            }
        }
    }

    pub fn emit_text(&mut self, t: impl AsRef<[u8]>, span: Span) -> R<()> {
        let t = t.as_ref();
        if t.is_empty() {
            return Ok(());
        }
        let d = self.c.string_header_data(t);
        let p = self.ptr_ty();
        let a = self.b(|b| b.data_addr(d, p));
        self.call_helper("__sx_fmt_str", vec![a], bt::VOID, span)?;
        Ok(())
    }

    /// Renders one value by its type.
    pub fn emit_value(&mut self, v: TV, span: Span) -> R<()> {
        let ty = v.ty;
        if let Some(c) = v.as_const().cloned() {
            match c {
                ConstVal::Type(t) => {
                    let n = self.tname(t);
                    return self.emit_text(&n, span);
                }
                ConstVal::Str(s) => return self.emit_text(&s, span),
                _ => {}
            }
        }
        let v = self.materialize(v, span)?;
        if matches!(self.c.types.kind(ty), TK::Struct(_) | TK::Enum(_) | TK::Array(..) | TK::Slice(_)) {
            let v = self.spill(v, span)?;
            if let (true, V::Mem(a)) = (self.print_nest.contains(&ty), &v.v) {
                // A value of a type already being printed further out (a recursive type):
                // call the type's printer instead of expanding it again.
                let a = *a;
                match self.c.type_fmt_fn(ty, span)? {
                    Some(f) => {
                        self.b(|b| b.call(f, vec![a], &[]));
                    }
                    None => self.emit_text("<?>", span)?,
                }
                return Ok(());
            }
            self.print_nest.push(ty);
            let r = self.emit_value_of(v, ty, span);
            self.print_nest.pop();
            return r;
        }
        self.emit_value_of(v, ty, span)
    }

    /// `emit_value` of a materialised value.
    fn emit_value_of(&mut self, v: TV, ty: TypeId, span: Span) -> R<()> {
        match self.c.types.kind(ty).clone() {
            TK::Int { signed, .. } => {
                let x = self.scalar(v, span)?;
                let irt = self.e.f.values[x].ty;
                let x = if irt == IrType::I64 {
                    x
                } else {
                    let op = if signed { ConvOp::Sext } else { ConvOp::Uext };
                    self.b(|b| b.convert(op, x, IrType::I64))
                };
                self.call_helper(if signed { "__sx_fmt_int" } else { "__sx_fmt_uint" }, vec![x], bt::VOID, span)?;
            }
            TK::Bool => {
                let x = self.scalar(v, span)?;
                self.call_helper("__sx_fmt_bool", vec![x], bt::VOID, span)?;
            }
            TK::Float { bits } => {
                let x = self.scalar(v, span)?;
                let x = if bits == 32 { self.b(|b| b.convert(ConvOp::FPromote, x, IrType::F64)) } else { x };
                self.call_helper("__sx_fmt_float", vec![x], bt::VOID, span)?;
            }
            TK::String => {
                let V::Mem(a) = v.v else { return Err(()) };
                self.call_helper("__sx_fmt_str", vec![a], bt::VOID, span)?;
            }
            TK::Cstring => {
                let x = self.scalar(v, span)?;
                self.call_helper("__sx_fmt_cstr", vec![x], bt::VOID, span)?;
            }
            TK::Pointer(_) | TK::ManyPointer(_) => {
                let x = self.scalar(v, span)?;
                let name = self.tname(ty);
                let d = self.c.string_header_data(name.as_bytes());
                let p = self.ptr_ty();
                let na = self.b(|b| b.data_addr(d, p));
                self.call_helper("__sx_fmt_ptr", vec![na, x], bt::VOID, span)?;
            }
            TK::Void => {}
            TK::ErrorSet(_) => {
                let x = self.scalar(v, span)?;
                self.fmt_error_value(x, span)?;
            }
            TK::Enum(_) => self.emit_enum(v, ty, span)?,
            TK::Optional(_) => {
                let v = self.spill(v, span)?;
                let (pv, no) = self.split_optional(v, span)?;
                let done = self.new_block();
                self.emit_value(pv, span)?;
                self.jump(done);
                self.switch(no);
                self.emit_text("null", span)?;
                self.jump(done);
                self.switch(done);
            }
            // Untagged unions and tuples have no rendering (as in the reference's `print` walker).
            TK::Struct(_) if self.c.types.struct_of(ty).map(|s| s.is_union || s.tuple).unwrap_or(false) => self.emit_text("<?>", span)?,
            TK::Struct(_) => {
                let V::Mem(a) = v.v else { return Err(()) };
                self.emit_text("{", span)?;
                self.emit_fields(a, ty, &mut true, span)?;
                self.emit_text("}", span)?;
            }
            TK::Array(n, e) | TK::Vector(n, e) => {
                let V::Mem(a) = v.v else { return Err(()) };
                let p = self.ptr_ty();
                let len = self.iconst(p, n as i64);
                self.emit_elements(a, len, e, span)?;
            }
            TK::Slice(e) => {
                let V::Mem(a) = v.v else { return Err(()) };
                let p = self.ptr_ty();
                let pb = self.c.module.pointer_bytes() as i32;
                let (ptr, len) = self.b(|b| (b.load(p, a, 0), b.load(p, a, pb)));
                self.emit_elements(ptr, len, e, span)?;
            }
            TK::TypeType => self.emit_type_value(v, span)?,
            TK::Any => self.emit_any(v, span)?,
            _ => self.emit_text("<?>", span)?,
        }
        Ok(())
    }

    /// The `name: value` entries of the struct at `a`; the fields of an anonymous struct member
    /// appear inline, an anonymous union member as an unnamed `<?>`.
    fn emit_fields(&mut self, a: Value, ty: TypeId, first: &mut bool, span: Span) -> R<()> {
        let fields = self.c.types.struct_of(ty).map(|s| s.fields.clone()).unwrap_or_default();
        for f in fields {
            let fa = self.offset_addr(a, f.offset as i64);
            let anon = f.name.starts_with(crate::syntax_facts::ANON_PREFIX);
            if anon && !self.c.types.struct_of(f.ty).map(|s| s.is_union).unwrap_or(true) {
                self.emit_fields(fa, f.ty, first, span)?;
                continue;
            }
            let sep = if *first { "" } else { ", " };
            *first = false;
            let prefix = if anon { sep.to_string() } else { format!("{}{}: ", sep, f.name) };
            self.emit_text(&prefix, span)?;
            let fv = self.load(fa, f.ty);
            self.emit_value(fv, span)?;
        }
        Ok(())
    }

    /// `.name`, `.a | .b` (flags), `.name(payload)` (tagged unions).
    fn emit_enum(&mut self, v: TV, ty: TypeId, span: Span) -> R<()> {
        let Some(e) = self.c.types.enum_of(ty).cloned() else { return Ok(()) };
        let irt = self.c.types.scalar(e.backing).unwrap_or(IrType::I64);
        let (tag, addr) = if e.tagged {
            let V::Mem(a) = v.v else { return Err(()) };
            (self.b(|b| b.load(irt, a, 0)), Some(a))
        } else {
            (self.scalar(v, span)?, None)
        };
        let done = self.new_block();
        if e.flags {
            let zero = self.iconst(irt, 0);
            let any = self.e.f.slots.push(sx_ir::SlotData { size: 1, align: 1 });
            let aa = self.slot_addr(any);
            let z8 = self.iconst(IrType::I8, 0);
            self.b(|b| b.store(aa, 0, z8));
            for var in &e.variants {
                if var.value == 0 {
                    continue;
                }
                let bits = self.iconst(irt, var.value as i64);
                let m = self.b(|b| b.binary(IB::And, tag, bits));
                let hit = self.b(|b| b.icmp(IntCC::Eq, m, bits));
                let yes = self.new_block();
                let sep = self.new_block();
                let name = self.new_block();
                let next = self.new_block();
                self.b(|b| b.branch(hit, yes, vec![], next, vec![]));
                self.switch(yes);
                let aa = self.slot_addr(any);
                let seen = self.b(|b| b.load(IrType::I8, aa, 0));
                self.b(|b| b.branch(seen, sep, vec![], name, vec![]));
                self.switch(sep);
                self.emit_text(" | ", span)?;
                self.jump(name);
                self.switch(name);
                self.emit_text(format!(".{}", var.name), span)?;
                let aa = self.slot_addr(any);
                let one = self.iconst(IrType::I8, 1);
                self.b(|b| b.store(aa, 0, one));
                self.jump(next);
                self.switch(next);
            }
            let aa = self.slot_addr(any);
            let seen = self.b(|b| b.load(IrType::I8, aa, 0));
            let none = self.new_block();
            self.b(|b| b.branch(seen, done, vec![], none, vec![]));
            self.switch(none);
            let _ = zero;
            self.emit_text("0", span)?;
            self.jump(done);
            self.switch(done);
            return Ok(());
        }
        for var in &e.variants {
            let val = self.iconst(irt, var.value as i64);
            let hit = self.b(|b| b.icmp(IntCC::Eq, tag, val));
            let yes = self.new_block();
            let next = self.new_block();
            self.b(|b| b.branch(hit, yes, vec![], next, vec![]));
            self.switch(yes);
            self.emit_text(format!(".{}", var.name), span)?;
            if let (Some(pt), Some(a)) = (var.payload, addr) {
                let pa = self.offset_addr(a, e.payload_offset as i64);
                let pv = self.load(pa, pt);
                if pt == bt::STRING {
                    // An empty string payload renders like no payload.
                    let V::Mem(sa) = pv.v else { return Err(()) };
                    let p = self.ptr_ty();
                    let pb = self.c.module.pointer_bytes() as i32;
                    let len = self.b(|b| b.load(p, sa, pb));
                    let z = self.iconst(p, 0);
                    let empty = self.b(|b| b.icmp(IntCC::Eq, len, z));
                    let show = self.new_block();
                    let skip = self.new_block();
                    self.b(|b| b.branch(empty, skip, vec![], show, vec![]));
                    self.switch(show);
                    self.emit_text("(", span)?;
                    self.emit_value(TV { ty: pt, v: V::Mem(sa) }, span)?;
                    self.emit_text(")", span)?;
                    self.jump(skip);
                    self.switch(skip);
                } else {
                    self.emit_text("(", span)?;
                    self.emit_value(pv, span)?;
                    self.emit_text(")", span)?;
                }
            }
            self.jump(done);
            self.switch(next);
        }
        self.emit_text(format!("<{} tag=?>", e.name), span)?;
        self.jump(done);
        self.switch(done);
        Ok(())
    }

    /// `[e0, e1, …]` over `len` elements at `base`, as an IR loop.
    fn emit_elements(&mut self, base: Value, len: Value, elem: TypeId, span: Span) -> R<()> {
        self.emit_text("[", span)?;
        let p = self.ptr_ty();
        let bs = self.e.slot(8, 8);
        let ba = self.slot_addr(bs);
        self.b(|b| b.store(ba, 0, base));
        let lp = self.e.counted_loop(len);
        let sep = self.new_block();
        let item = self.new_block();
        let i = self.e.loop_index(&lp);
        let z = self.iconst(p, 0);
        let first = self.b(|b| b.icmp(IntCC::Eq, i, z));
        self.b(|b| b.branch(first, item, vec![], sep, vec![]));
        self.switch(sep);
        self.emit_text(", ", span)?;
        self.jump(item);
        self.switch(item);
        let i = self.e.loop_index(&lp);
        let ba = self.slot_addr(bs);
        let b0 = self.b(|b| b.load(p, ba, 0));
        let esz = self.c.types.size_of(elem) as i64;
        let sz = self.iconst(p, esz);
        let off = self.b(|b| b.binary(IB::Imul, i, sz));
        let ea = self.b(|b| b.binary(IB::Iadd, b0, off));
        let ev = self.load(ea, elem);
        self.emit_value(ev, span)?;
        self.e.end_counted_loop(lp);
        self.emit_text("]", span)
    }
}
