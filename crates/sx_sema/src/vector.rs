//! SIMD vectors `Vector(N, T)`: `N` lanes of a number type, laid out like `[N]T` (padded to a
//! power of two). Lowered lane by lane: element-wise `+ - * / %` (a scalar operand is
//! broadcast to every lane), unary `-`, lanes by index `v[i]` or by name (`.x .y .z .w`, also
//! `.r .g .b .a`), `.len`, literals `.[a, b, c]`, and printing as `[a, b, c]`.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

/// The lane a component name selects (`x`/`r` = 0 … `w`/`a` = 3).
pub(crate) fn lane_of(name: &str) -> Option<u64> {
    match name {
        "x" | "r" => Some(0),
        "y" | "g" => Some(1),
        "z" | "b" => Some(2),
        "w" | "a" => Some(3),
        _ => None,
    }
}

impl FnCx<'_> {
    /// The lane count and element type of a vector type.
    pub(crate) fn vector_shape(&self, t: TypeId) -> Option<(u64, TypeId)> {
        match *self.c.types.kind(t) {
            TK::Vector(n, e) => Some((n, e)),
            _ => None,
        }
    }

    /// `Vector(N, T)`: the vector type.
    pub(crate) fn vector_type_call(&mut self, args: &[Arg], span: Span) -> R<TV> {
        let [n, t] = args else { return self.err(span, "'Vector' takes a lane count and an element type: `Vector(4, f32)`") };
        let nv = self.expr(&n.value, Some(bt::I64))?;
        let Some(lanes) = nv.as_const().and_then(crate::consts::count_value) else {
            return self.err(n.value.span, "a Vector lane count must be a compile-time integer");
        };
        if lanes < 1 {
            return self.err(n.value.span, format!("Vector lane count must be at least 1, found {}", lanes));
        }
        let et = self.type_expr(&t.value)?;
        if !self.c.types.is_numeric(et) && et != bt::BOOL {
            return self.err(t.value.span, format!("Vector lanes must be numbers, found '{}'", self.tname(et)));
        }
        let vt = self.c.types.vector(lanes as u64, et);
        Ok(TV::konst(ConstVal::Type(vt)))
    }

    /// The value of lane `i` of the vector at `addr`.
    fn lane_value(&mut self, addr: sx_ir::Value, elem: TypeId, i: u64) -> TV {
        let esz = self.c.types.size_of(elem) as i64;
        let a = self.offset_addr(addr, i as i64 * esz);
        self.load(a, elem)
    }

    /// A vector operand in memory, or a scalar broadcast to every lane.
    fn lane_source(&mut self, v: TV, elem: TypeId, span: Span) -> R<Result<sx_ir::Value, TV>> {
        if self.vector_shape(v.ty).is_some() {
            let m = self.materialize(v, span)?;
            let m = self.spill(m, span)?;
            return match m.v {
                V::Mem(a) => Ok(Ok(a)),
                _ => self.err(span, "a vector value expected"),
            };
        }
        let s = self.coerce(v, elem, span)?;
        Ok(Err(s))
    }

    /// `a op b` where at least one side is a vector: lane by lane.
    pub(crate) fn vector_arith(&mut self, op: BinOp, l: TV, r: TV, span: Span) -> R<TV> {
        let (vt, (n, elem)) = match (self.vector_shape(l.ty), self.vector_shape(r.ty)) {
            (Some(a), Some(b)) => {
                if l.ty != r.ty {
                    let msg = format!("vector operands differ: '{}' and '{}'", self.tname(l.ty), self.tname(r.ty));
                    return self.err(span, msg);
                }
                let _ = b;
                (l.ty, a)
            }
            (Some(a), None) => (l.ty, a),
            (None, Some(b)) => (r.ty, b),
            (None, None) => return self.err(span, "a vector operand expected"),
        };
        let ls = self.lane_source(l, elem, span)?;
        let rs = self.lane_source(r, elem, span)?;
        let out = self.slot_for(vt);
        let oa = self.slot_addr(out);
        let esz = self.c.types.size_of(elem) as i64;
        for i in 0..n {
            let a = match &ls {
                Ok(addr) => self.lane_value(*addr, elem, i),
                Err(s) => s.clone(),
            };
            let b = match &rs {
                Ok(addr) => self.lane_value(*addr, elem, i),
                Err(s) => s.clone(),
            };
            let v = self.arith(op, a, b, span)?;
            let v = self.coerce(v, elem, span)?;
            let dst = self.offset_addr(oa, i as i64 * esz);
            self.store(dst, v, span)?;
        }
        Ok(TV { ty: vt, v: V::Mem(oa) })
    }

    /// A vector of the same type whose lanes are `f` of `v`'s lanes (each result converted to
    /// the element type).
    pub(crate) fn vector_map(&mut self, v: TV, span: Span, mut f: impl FnMut(&mut Self, TV) -> R<TV>) -> R<TV> {
        let Some((n, elem)) = self.vector_shape(v.ty) else { return self.err(span, "a vector operand expected") };
        let vt = v.ty;
        let Ok(src) = self.lane_source(v, elem, span)? else { return self.err(span, "a vector operand expected") };
        let out = self.slot_for(vt);
        let oa = self.slot_addr(out);
        let esz = self.c.types.size_of(elem) as i64;
        for i in 0..n {
            let lane = self.lane_value(src, elem, i);
            let r = f(self, lane)?;
            let r = self.convert(r, elem, span)?;
            let dst = self.offset_addr(oa, i as i64 * esz);
            self.store(dst, r, span)?;
        }
        Ok(TV { ty: vt, v: V::Mem(oa) })
    }

    /// `-v`: every lane negated.
    pub(crate) fn vector_negate(&mut self, v: TV, span: Span) -> R<TV> {
        let Some((_, elem)) = self.vector_shape(v.ty) else { return self.err(span, "a vector operand expected") };
        let zero = if self.c.types.is_float(elem) {
            TV::konst(ConstVal::Float { v: 0.0, ty: Some(elem) })
        } else {
            TV::konst(ConstVal::Int { v: 0, ty: Some(elem) })
        };
        self.vector_arith(BinOp::Sub, zero, v, span)
    }

    /// `v.x` … `v.w` (and `.r .g .b .a`), `v.len`.
    pub(crate) fn vector_member(&mut self, v: TV, name: &Ident, span: Span) -> R<TV> {
        let Some((n, elem)) = self.vector_shape(v.ty) else { return self.err(span, "a vector value expected") };
        if name.name == "len" {
            return Ok(TV::konst(ConstVal::Int { v: n as i128, ty: Some(bt::I64) }));
        }
        let Some(i) = lane_of(&name.name).filter(|i| *i < n) else {
            let msg =
                format!("'{}' has no lane '{}' (lanes are .x .y .z .w or .r .g .b .a, up to its {} lanes)", self.tname(v.ty), name.name, n);
            return self.err(name.span, msg);
        };
        let m = self.materialize(v, span)?;
        let m = self.spill(m, span)?;
        let V::Mem(a) = m.v else { return self.err(span, "a vector value expected") };
        Ok(self.lane_value(a, elem, i))
    }
}
