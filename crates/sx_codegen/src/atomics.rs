//! The IR's atomic instructions as Cranelift atomics. Cranelift's atomic operations are
//! sequentially consistent, which implements every weaker ordering the IR asks for; they take
//! integers only, so a float load or store moves the integer of the float's size.

use super::*;
use cranelift_codegen::ir::AtomicRmwOp;
use sx_ir::RmwOp;

/// The integer type of `t`'s size.
fn int_type(t: Type) -> ir::Type {
    match t {
        Type::I8 => types::I8,
        Type::I16 => types::I16,
        Type::I32 | Type::F32 => types::I32,
        Type::I64 | Type::F64 => types::I64,
    }
}

/// Cranelift's operator for `op`.
fn rmw_op(op: RmwOp) -> AtomicRmwOp {
    match op {
        RmwOp::Add => AtomicRmwOp::Add,
        RmwOp::Sub => AtomicRmwOp::Sub,
        RmwOp::And => AtomicRmwOp::And,
        RmwOp::Or => AtomicRmwOp::Or,
        RmwOp::Xor => AtomicRmwOp::Xor,
        RmwOp::Smin => AtomicRmwOp::Smin,
        RmwOp::Smax => AtomicRmwOp::Smax,
        RmwOp::Umin => AtomicRmwOp::Umin,
        RmwOp::Umax => AtomicRmwOp::Umax,
        RmwOp::Xchg => AtomicRmwOp::Xchg,
    }
}

impl<M: ClModule> Tx<'_, '_, M> {
    /// `atomic_load.T`: an integer atomic load, reinterpreted as a float for a float `T`.
    pub(crate) fn atomic_load(&mut self, inst: sx_ir::Inst, ty: Type, addr: Value) -> Result<()> {
        let p = self.v(addr)?;
        let loaded = self.b.ins().atomic_load(int_type(ty), MemFlagsData::new(), p);
        let v = if ty.is_float() { self.b.ins().bitcast(cl_type(ty), MemFlagsData::new(), loaded) } else { loaded };
        self.set_results(inst, &[v])
    }

    /// `atomic_store`: a float is stored as the integer with its bits.
    pub(crate) fn atomic_store(&mut self, inst: sx_ir::Inst, addr: Value, value: Value) -> Result<()> {
        let (p, x) = (self.v(addr)?, self.v(value)?);
        let ty = self.ty(value);
        let x = if ty.is_float() { self.b.ins().bitcast(int_type(ty), MemFlagsData::new(), x) } else { x };
        self.b.ins().atomic_store(MemFlagsData::new(), x, p);
        self.set_results(inst, &[])
    }

    /// `atomic_rmw`: the old value.
    pub(crate) fn atomic_rmw(&mut self, inst: sx_ir::Inst, op: RmwOp, addr: Value, value: Value) -> Result<()> {
        let ty = self.ty(value);
        if ty.is_float() {
            return err(format!("{}: atomic_rmw on {}", self.f.name, ty.name()));
        }
        let (p, x) = (self.v(addr)?, self.v(value)?);
        let v = self.b.ins().atomic_rmw(cl_type(ty), MemFlagsData::new(), rmw_op(op), p, x);
        self.set_results(inst, &[v])
    }

    /// `atomic_cas`: the value found.
    pub(crate) fn atomic_cas(&mut self, inst: sx_ir::Inst, addr: Value, expected: Value, desired: Value) -> Result<()> {
        if self.ty(expected).is_float() || self.ty(expected) != self.ty(desired) {
            return err(format!("{}: atomic_cas operands must be integers of one type", self.f.name));
        }
        let (p, e, x) = (self.v(addr)?, self.v(expected)?, self.v(desired)?);
        let v = self.b.ins().atomic_cas(MemFlagsData::new(), p, e, x);
        self.set_results(inst, &[v])
    }

    /// `fence`.
    pub(crate) fn fence(&mut self, inst: sx_ir::Inst) -> Result<()> {
        self.b.ins().fence();
        self.set_results(inst, &[])
    }
}
