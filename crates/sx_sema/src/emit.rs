//! The emitter (floor 1): the one place that writes IR for a function being lowered. It wraps
//! [`FunctionBuilder`] with the current block and source span, and owns the IR shapes that
//! several constructs share — counted loops, hidden result (sret) arguments, finishing a
//! function (sealing unterminated blocks, then `promote_slots`). It knows IR types and byte
//! sizes only: no [`sx_types::TypeTable`], no diagnostics. Lowering decides; the emitter writes.

use sx_diag::Span;
use sx_ir::builder::FunctionBuilder;
use sx_ir::{BinOp as IB, Block, Function, IntCC, Slot, SlotData, TrapCode, Type as IrType, Value};

/// The end of the scope of a debug variable whose scope is still open while its function is
/// lowered ([`sx_ir::debug::InstRange::end`]); [`Emitter::finish`] turns what is still open then
/// into "the whole function".
pub(crate) const OPEN_SCOPE: sx_ir::Inst = sx_ir::Inst(u32::MAX);

/// The IR of one function under construction.
pub(crate) struct Emitter {
    /// The function being written.
    pub f: Function,
    /// The block new instructions go to (`None` before the entry block exists).
    pub cur: Option<Block>,
    /// The source span attached to new instructions.
    pub span: Option<Span>,
    /// The target's pointer-sized integer type.
    ptr: IrType,
}

/// A loop `for i in 0..count`, as the blocks and slots [`Emitter::counted_loop`] made.
pub(crate) struct CountedLoop {
    /// Holds the index (pointer-sized, counting from 0).
    pub index: Slot,
    /// Increments the index, then re-tests it.
    pub step: Block,
    /// Where control goes once the index reaches the count.
    pub exit: Block,
    head: Block,
}

impl Emitter {
    /// An emitter writing `f` for a target whose pointers are `ptr`.
    pub fn new(f: Function, ptr: IrType) -> Emitter {
        Emitter { f, cur: None, span: None, ptr }
    }

    /// Runs `op` on a builder positioned at the current block, with the current span.
    pub fn b<T>(&mut self, op: impl FnOnce(&mut FunctionBuilder) -> T) -> T {
        let mut b = FunctionBuilder::new(&mut self.f);
        if let Some(c) = self.cur {
            b.switch_to_block(c);
        }
        b.set_span(self.span);
        let r = op(&mut b);
        self.cur = b.current_block();
        r
    }

    /// A new, empty block.
    pub fn new_block(&mut self) -> Block {
        self.f.blocks.push(Default::default())
    }

    /// Continues emitting in `b`.
    pub fn switch(&mut self, b: Block) {
        self.cur = Some(b);
    }

    /// True when the current block already ends in a terminator.
    pub fn terminated(&mut self) -> bool {
        self.b(|b| b.is_terminated())
    }

    /// The target's pointer-sized integer type.
    pub fn ptr_ty(&self) -> IrType {
        self.ptr
    }

    /// An integer constant.
    pub fn iconst(&mut self, ty: IrType, v: i64) -> Value {
        self.b(|b| b.iconst(ty, v))
    }

    /// A stack slot of `size` bytes (at least 1) aligned to `align`.
    pub fn slot(&mut self, size: u64, align: u64) -> Slot {
        let size = size.clamp(1, u32::MAX as u64) as u32;
        let align = align.clamp(1, u32::MAX as u64) as u32;
        self.f.slots.push(SlotData { size, align })
    }

    /// The address of slot `s`.
    pub fn slot_addr(&mut self, s: Slot) -> Value {
        let p = self.ptr;
        self.b(|b| b.stack_addr(s, p))
    }

    /// Jumps to `to` unless the current block is already terminated.
    pub fn jump(&mut self, to: Block) {
        if !self.terminated() {
            self.b(|b| b.jump(to, vec![]));
        }
    }

    /// `base + offset` (no instruction for a zero offset).
    pub fn offset_addr(&mut self, base: Value, offset: i64) -> Value {
        if offset == 0 {
            return base;
        }
        let p = self.ptr;
        let o = self.iconst(p, offset);
        self.b(|b| b.binary(IB::Iadd, base, o))
    }

    /// Reserves the caller's result slot of an aggregate-returning call (`size`/`align` bytes)
    /// and pushes its address as the hidden first argument; returns that address.
    pub fn sret_arg(&mut self, size: u64, align: u64, args: &mut Vec<Value>) -> Value {
        let s = self.slot(size, align);
        let a = self.slot_addr(s);
        args.push(a);
        a
    }

    /// The hidden result pointer a function received, stored in slot `sret`.
    pub fn sret_ptr(&mut self, sret: Slot) -> Value {
        let p = self.ptr;
        self.b(|b| {
            let a = b.stack_addr(sret, p);
            b.load(p, a, 0)
        })
    }

    /// Starts `for i in 0..count`: stores the count and a zero index, tests `i < count` in a
    /// loop header, and continues in the loop body. Finish with [`Emitter::end_counted_loop`].
    pub fn counted_loop(&mut self, count: Value) -> CountedLoop {
        let p = self.ptr;
        let count_slot = self.slot(8, 8);
        let index = self.slot(8, 8);
        let (ca, ia) = (self.slot_addr(count_slot), self.slot_addr(index));
        let zero = self.iconst(p, 0);
        self.b(|b| {
            b.store(ca, 0, count);
            b.store(ia, 0, zero);
        });
        let head = self.new_block();
        let body = self.new_block();
        let step = self.new_block();
        let exit = self.new_block();
        self.jump(head);
        self.switch(head);
        let (ca, ia) = (self.slot_addr(count_slot), self.slot_addr(index));
        let (i, n) = self.b(|b| (b.load(p, ia, 0), b.load(p, ca, 0)));
        let c = self.b(|b| b.icmp(IntCC::Slt, i, n));
        self.b(|b| b.branch(c, body, vec![], exit, vec![]));
        self.switch(body);
        CountedLoop { index, step, exit, head }
    }

    /// The current index of a counted loop.
    pub fn loop_index(&mut self, lp: &CountedLoop) -> Value {
        let p = self.ptr;
        let ia = self.slot_addr(lp.index);
        self.b(|b| b.load(p, ia, 0))
    }

    /// Closes a counted loop: falls into its step block, increments the index, jumps back to
    /// the header, and continues after the loop.
    pub fn end_counted_loop(&mut self, lp: CountedLoop) {
        let p = self.ptr;
        self.jump(lp.step);
        self.switch(lp.step);
        let ia = self.slot_addr(lp.index);
        let i = self.b(|b| b.load(p, ia, 0));
        let one = self.iconst(p, 1);
        let i2 = self.b(|b| b.binary(IB::Iadd, i, one));
        self.b(|b| b.store(ia, 0, i2));
        self.jump(lp.head);
        self.switch(lp.exit);
    }

    /// Returns from a `void` function if the current block is still open.
    pub fn ret_if_open(&mut self) {
        if !self.terminated() {
            self.b(|b| b.ret(vec![]));
        }
    }

    /// The finished function: blocks control cannot leave normally end in an `unreachable`
    /// trap, and slots whose address never escapes become SSA values (`promote_slots`).
    pub fn finish(mut self) -> Function {
        self.b(|b| b.seal_unterminated(TrapCode::Unreachable));
        for v in &mut self.f.debug_vars {
            if v.scope.is_some_and(|r| r.end == OPEN_SCOPE) {
                v.scope = None;
            }
        }
        crate::phase_times::time_promote_slots(|| sx_ir::opt::promote_slots(&mut self.f));
        self.f
    }
}

/// Writes a straight-line adapter function (a thunk around one call, the C-ABI wrapper of an
/// extern, the entry point): `body` gets a builder positioned in a fresh entry block and that
/// block's parameters, one per parameter of `f`'s signature.
pub(crate) fn write_adapter<T>(f: &mut Function, span: Option<Span>, body: impl FnOnce(&mut FunctionBuilder, Vec<Value>) -> T) -> T {
    let params = f.sig.params.clone();
    let mut b = FunctionBuilder::new(f);
    b.set_span(span);
    let entry = b.create_block();
    let values: Vec<Value> = params.iter().map(|&t| b.append_block_param(entry, t)).collect();
    b.switch_to_block(entry);
    body(&mut b, values)
}
