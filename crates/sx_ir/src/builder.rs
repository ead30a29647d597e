//! [`FunctionBuilder`]: appends blocks, parameters and instructions to a [`Function`].

use crate::*;

/// Builds the body of one function. Instructions go to the *current* block; once a block has a
/// terminator, further instructions (dead code) are dropped into a fresh unreachable block so the
/// function stays well formed.
pub struct FunctionBuilder<'f> {
    pub func: &'f mut Function,
    current: Option<Block>,
    span: Option<Span>,
}

impl<'f> FunctionBuilder<'f> {
    /// Starts building `func` (which may already have blocks).
    pub fn new(func: &'f mut Function) -> Self {
        FunctionBuilder { func, current: None, span: None }
    }
    /// Sets the source span attached to the next instructions.
    pub fn set_span(&mut self, span: Option<Span>) {
        self.span = span;
    }
    /// The span currently attached to new instructions.
    pub fn span(&self) -> Option<Span> {
        self.span
    }
    /// Creates an empty block.
    pub fn create_block(&mut self) -> Block {
        self.func.blocks.push(BlockData::default())
    }
    /// Adds a parameter of type `ty` to `block`.
    pub fn append_block_param(&mut self, block: Block, ty: Type) -> Value {
        let n = self.func.blocks[block].params.len() as u32;
        let v = self.func.values.push(ValueData { ty, def: ValueDef::Param(block, n) });
        self.func.blocks[block].params.push(v);
        v
    }
    /// Makes `block` the insertion point.
    pub fn switch_to_block(&mut self, block: Block) {
        self.current = Some(block);
    }
    /// The insertion block.
    pub fn current_block(&self) -> Option<Block> {
        self.current
    }
    /// True when the current block already ends in a terminator (code here is dead).
    pub fn is_terminated(&self) -> bool {
        match self.current {
            None => true,
            Some(b) => self.func.blocks[b].insts.last().map(|&i| self.func.insts[i].kind.is_terminator()).unwrap_or(false),
        }
    }
    /// Adds a stack slot.
    pub fn create_slot(&mut self, size: u32, align: u32) -> Slot {
        self.func.slots.push(SlotData { size, align: align.max(1) })
    }
    /// Appends an instruction producing results of `result_types`.
    pub fn ins(&mut self, kind: InstKind, result_types: &[Type]) -> Vec<Value> {
        if self.is_terminated() {
            let b = self.create_block();
            self.switch_to_block(b);
        }
        let block = self.current.expect("current block");
        let inst = self.func.insts.next_key();
        let results: Vec<Value> = result_types
            .iter()
            .enumerate()
            .map(|(i, &ty)| self.func.values.push(ValueData { ty, def: ValueDef::Result(inst, i as u32) }))
            .collect();
        self.func.insts.push(InstData { kind, results: results.clone(), span: self.span });
        self.func.blocks[block].insts.push(inst);
        results
    }
    fn ins1(&mut self, kind: InstKind, ty: Type) -> Value {
        self.ins(kind, &[ty])[0]
    }
    /// Type of `v`.
    pub fn ty(&self, v: Value) -> Type {
        self.func.values[v].ty
    }

    pub fn iconst(&mut self, ty: Type, imm: i64) -> Value {
        self.ins1(InstKind::Iconst { ty, imm }, ty)
    }
    pub fn fconst(&mut self, ty: Type, value: f64) -> Value {
        self.ins1(InstKind::Fconst { ty, value }, ty)
    }
    pub fn binary(&mut self, op: BinOp, a: Value, b: Value) -> Value {
        let ty = self.ty(a);
        self.ins1(InstKind::Binary { op, a, b }, ty)
    }
    pub fn unary(&mut self, op: UnOp, a: Value) -> Value {
        let ty = self.ty(a);
        self.ins1(InstKind::Unary { op, a }, ty)
    }
    pub fn icmp(&mut self, cc: IntCC, a: Value, b: Value) -> Value {
        self.ins1(InstKind::Icmp { cc, a, b }, Type::I8)
    }
    pub fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        self.ins1(InstKind::Fcmp { cc, a, b }, Type::I8)
    }
    pub fn convert(&mut self, op: ConvOp, a: Value, to: Type) -> Value {
        self.ins1(InstKind::Convert { op, a, to }, to)
    }
    pub fn select(&mut self, cond: Value, a: Value, b: Value) -> Value {
        let ty = self.ty(a);
        self.ins1(InstKind::Select { cond, a, b }, ty)
    }
    pub fn load(&mut self, ty: Type, addr: Value, offset: i32) -> Value {
        self.ins1(InstKind::Load { ty, addr, offset }, ty)
    }
    pub fn store(&mut self, addr: Value, offset: i32, value: Value) {
        self.ins(InstKind::Store { addr, offset, value }, &[]);
    }
    pub fn stack_addr(&mut self, slot: Slot, ptr: Type) -> Value {
        self.ins1(InstKind::StackAddr { slot }, ptr)
    }
    pub fn data_addr(&mut self, data: DataId, ptr: Type) -> Value {
        self.ins1(InstKind::DataAddr { data }, ptr)
    }
    pub fn func_addr(&mut self, func: FuncId, ptr: Type) -> Value {
        self.ins1(InstKind::FuncAddr { func }, ptr)
    }
    pub fn call(&mut self, func: FuncId, args: Vec<Value>, returns: &[Type]) -> Vec<Value> {
        self.ins(InstKind::Call { func, args }, returns)
    }
    pub fn call_extern(&mut self, ext: ExternId, args: Vec<Value>, returns: &[Type]) -> Vec<Value> {
        self.ins(InstKind::CallExtern { ext, args }, returns)
    }
    pub fn call_indirect(&mut self, sig: Signature, callee: Value, args: Vec<Value>) -> Vec<Value> {
        let returns = sig.returns.clone();
        self.ins(InstKind::CallIndirect { sig, callee, args }, &returns)
    }
    pub fn memcopy(&mut self, dst: Value, src: Value, len: Value) {
        self.ins(InstKind::MemCopy { dst, src, len }, &[]);
    }
    pub fn memfill(&mut self, dst: Value, byte: Value, len: Value) {
        self.ins(InstKind::MemFill { dst, byte, len }, &[]);
    }
    /// Atomic load of a `ty` from `addr`.
    pub fn atomic_load(&mut self, ty: Type, addr: Value, order: AtomicOrdering) -> Value {
        self.ins1(InstKind::AtomicLoad { ty, addr, order }, ty)
    }
    /// Atomic store of `value` at `addr`.
    pub fn atomic_store(&mut self, addr: Value, value: Value, order: AtomicOrdering) {
        self.ins(InstKind::AtomicStore { addr, value, order }, &[]);
    }
    /// Atomic read-modify-write of the integer at `addr`; returns the old value.
    pub fn atomic_rmw(&mut self, op: RmwOp, addr: Value, value: Value, order: AtomicOrdering) -> Value {
        let ty = self.func.values[value].ty;
        self.ins1(InstKind::AtomicRmw { op, addr, value, order }, ty)
    }
    /// Atomic compare-and-swap of the integer at `addr`; returns the value found.
    pub fn atomic_cas(&mut self, addr: Value, expected: Value, desired: Value, success: AtomicOrdering, failure: AtomicOrdering) -> Value {
        let ty = self.func.values[expected].ty;
        self.ins1(InstKind::AtomicCas { addr, expected, desired, success, failure }, ty)
    }
    /// A memory fence.
    pub fn fence(&mut self, order: AtomicOrdering) {
        self.ins(InstKind::Fence { order }, &[]);
    }
    pub fn jump(&mut self, dest: Block, args: Vec<Value>) {
        self.ins(InstKind::Jump { dest, args }, &[]);
    }
    pub fn branch(&mut self, cond: Value, then_dest: Block, then_args: Vec<Value>, else_dest: Block, else_args: Vec<Value>) {
        self.ins(InstKind::Branch { cond, then_dest, then_args, else_dest, else_args }, &[]);
    }
    pub fn ret(&mut self, values: Vec<Value>) {
        self.ins(InstKind::Return { values }, &[]);
    }
    pub fn trap(&mut self, code: TrapCode) {
        self.ins(InstKind::Trap { code }, &[]);
    }

    /// Ends every block that has no terminator with a trap (used after lowering so that
    /// fallthrough-free dead blocks are well formed).
    pub fn seal_unterminated(&mut self, code: TrapCode) {
        let blocks: Vec<Block> = self.func.blocks.keys().collect();
        for b in blocks {
            let terminated = self.func.blocks[b].insts.last().map(|&i| self.func.insts[i].kind.is_terminator()).unwrap_or(false);
            if !terminated {
                self.current = Some(b);
                self.trap(code);
            }
        }
    }
}
