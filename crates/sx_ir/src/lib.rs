//! The sx intermediate representation: a small, low-level SSA IR.
//!
//! Owns: the [`Module`] data model (functions, static data, extern declarations), the
//! [`builder::FunctionBuilder`] that constructs function bodies, the [`verify()`] checker, the
//! textual printer ([`print()`]) behind `sx ir` and its parser ([`parse()`]; the format is
//! described in [`mod@parse`]), and the operator names both share ([`names`]).
//!
//! The IR is already *lowered*: every value is a scalar ([`Type`]: integers of 8–64 bits and
//! floats); aggregates live in memory (stack slots, static data, heap) and are reached through
//! addresses with explicit byte offsets computed for the target by the layout layer. So the
//! comptime VM and Cranelift consume exactly the same memory picture, which is what makes a
//! comptime-built struct byte-identical to the runtime one.
//!
//! Must never: depend on the front end or on a back end, or carry host-layout assumptions (the
//! pointer width is the module's [`Module::pointer_bytes`]).

pub mod builder;
pub mod cfg;
pub mod debug;
pub mod entity;
pub mod filetest;
pub mod names;
pub mod opt;
pub mod parse;
pub mod print;
pub mod verify;

use entity::EntityVec;
pub use parse::ParseError;
pub use sx_diag::Span;

/// Prints `m` in the text form `sx ir` shows (see [`mod@parse`] for the grammar).
pub fn print(m: &Module) -> String {
    print::print_module(m)
}

/// Reads a module from the text [`print()`] produces (the grammar is in [`mod@parse`]).
pub fn parse(text: &str) -> Result<Module, ParseError> {
    parse::parse_module(text)
}

/// Verifies every function of `m`; the problems found, empty when the module is valid.
pub fn verify(m: &Module) -> Vec<String> {
    verify::verify_module(m)
}

entity!(
    /// A function of a [`Module`].
    FuncId, "fn"
);
entity!(
    /// A static data object (constant or global variable) of a [`Module`].
    DataId, "data"
);
entity!(
    /// An external (C ABI) function declaration.
    ExternId, "extern"
);
entity!(
    /// A basic block of a [`Function`].
    Block, "block"
);
entity!(
    /// An SSA value of a [`Function`].
    Value, "v"
);
entity!(
    /// An instruction of a [`Function`].
    Inst, "i"
);
entity!(
    /// A stack slot (a fixed-size, aligned frame allocation) of a [`Function`].
    Slot, "ss"
);

/// A scalar value type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
}

impl Type {
    /// Size in bytes.
    pub fn bytes(self) -> u32 {
        match self {
            Type::I8 => 1,
            Type::I16 => 2,
            Type::I32 | Type::F32 => 4,
            Type::I64 | Type::F64 => 8,
        }
    }
    /// True for `F32`/`F64`.
    pub fn is_float(self) -> bool {
        matches!(self, Type::F32 | Type::F64)
    }
    /// The integer type of `bytes` bytes (1, 2, 4, 8).
    pub fn int_of_bytes(bytes: u32) -> Option<Type> {
        Some(match bytes {
            1 => Type::I8,
            2 => Type::I16,
            4 => Type::I32,
            8 => Type::I64,
            _ => return None,
        })
    }
}

/// Parameter and return types of a function.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Signature {
    pub params: Vec<Type>,
    pub returns: Vec<Type>,
}

/// Two-operand arithmetic and bitwise operators. Integer operands must have equal types;
/// shift amounts are taken modulo the bit width.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Iadd,
    Isub,
    Imul,
    /// Signed division truncating toward zero. Traps on a zero divisor.
    Sdiv,
    Udiv,
    /// Signed remainder (sign of the dividend). Traps on a zero divisor.
    Srem,
    Urem,
    And,
    Or,
    Xor,
    Shl,
    /// Arithmetic shift right.
    Sshr,
    /// Logical shift right.
    Ushr,
    Fadd,
    Fsub,
    Fmul,
    Fdiv,
}

/// One-operand operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Ineg,
    /// Bitwise not.
    Bnot,
    Fneg,
}

/// Integer comparisons; the result is an `I8` holding 0 or 1.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IntCC {
    Eq,
    Ne,
    Slt,
    Sle,
    Sgt,
    Sge,
    Ult,
    Ule,
    Ugt,
    Uge,
}

/// Float comparisons; `Eq`, `Lt`, `Le`, `Gt`, `Ge` are ordered (false with NaN), `Ne` is
/// unordered (true with NaN). The result is an `I8` holding 0 or 1.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FloatCC {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Conversions between scalar types. The target type is the instruction's result type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConvOp {
    /// Sign-extend to a wider integer.
    Sext,
    /// Zero-extend to a wider integer.
    Uext,
    /// Truncate to a narrower integer.
    Trunc,
    /// f32 → f64.
    FPromote,
    /// f64 → f32.
    FDemote,
    /// Float → signed integer, truncating toward zero, saturating.
    FToS,
    /// Float → unsigned integer, truncating toward zero, saturating.
    FToU,
    /// Signed integer → float.
    SToF,
    /// Unsigned integer → float.
    UToF,
    /// Reinterpret the bits as a same-sized type.
    Bitcast,
}

/// The memory ordering of an atomic instruction (the C11 orderings without `consume`). A back
/// end may implement an ordering by a stronger one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOrdering {
    /// Atomicity only, no ordering of other accesses.
    Relaxed,
    /// Later accesses stay after this load (or fence).
    Acquire,
    /// Earlier accesses stay before this store (or fence).
    Release,
    /// Both `Acquire` and `Release` (read-modify-writes and fences).
    AcqRel,
    /// `AcqRel` plus one total order of all `SeqCst` operations.
    SeqCst,
}

impl AtomicOrdering {
    /// True when a load may have this ordering (not `Release` or `AcqRel`); this also holds the
    /// failure ordering of a compare-and-swap.
    pub fn valid_for_load(self) -> bool {
        !matches!(self, AtomicOrdering::Release | AtomicOrdering::AcqRel)
    }
    /// True when a store may have this ordering (not `Acquire` or `AcqRel`).
    pub fn valid_for_store(self) -> bool {
        !matches!(self, AtomicOrdering::Acquire | AtomicOrdering::AcqRel)
    }
    /// True when a fence may have this ordering (not `Relaxed`).
    pub fn valid_for_fence(self) -> bool {
        self != AtomicOrdering::Relaxed
    }
}

/// The operator of an atomic read-modify-write: the value stored is `op(old, operand)`, the
/// result is `old`. Integer operands only.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RmwOp {
    /// Wrapping addition.
    Add,
    /// Wrapping subtraction.
    Sub,
    And,
    Or,
    Xor,
    /// Signed minimum.
    Smin,
    /// Signed maximum.
    Smax,
    /// Unsigned minimum.
    Umin,
    /// Unsigned maximum.
    Umax,
    /// Exchange: store the operand.
    Xchg,
}

/// Why a `Trap` instruction stops the program.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TrapCode {
    /// Reached code that the front end proved unreachable (e.g. after a `noreturn` call).
    Unreachable,
    /// An explicit runtime check failed (bounds, null unwrap, …).
    User(u16),
}

/// An instruction. Non-terminators produce zero or more results (see [`InstData::results`]).
#[derive(Clone, Debug, PartialEq)]
pub enum InstKind {
    /// Integer constant; `imm` is sign- or zero-extended bits, truncated to `ty`.
    Iconst {
        ty: Type,
        imm: i64,
    },
    /// Float constant; `F32` constants hold the f32 value rounded from `value`.
    Fconst {
        ty: Type,
        value: f64,
    },
    Binary {
        op: BinOp,
        a: Value,
        b: Value,
    },
    Unary {
        op: UnOp,
        a: Value,
    },
    Icmp {
        cc: IntCC,
        a: Value,
        b: Value,
    },
    Fcmp {
        cc: FloatCC,
        a: Value,
        b: Value,
    },
    Convert {
        op: ConvOp,
        a: Value,
        to: Type,
    },
    /// `cond != 0 ? a : b`.
    Select {
        cond: Value,
        a: Value,
        b: Value,
    },
    /// Load a `ty` from `addr + offset`.
    Load {
        ty: Type,
        addr: Value,
        offset: i32,
    },
    /// Store `value` at `addr + offset`.
    Store {
        addr: Value,
        offset: i32,
        value: Value,
    },
    /// Address of a stack slot.
    StackAddr {
        slot: Slot,
    },
    /// Address of a static data object.
    DataAddr {
        data: DataId,
    },
    /// Address of a function (for indirect calls).
    FuncAddr {
        func: FuncId,
    },
    /// Direct call of a module function.
    Call {
        func: FuncId,
        args: Vec<Value>,
    },
    /// Call of a C ABI external function.
    CallExtern {
        ext: ExternId,
        args: Vec<Value>,
    },
    /// Call through a function address.
    CallIndirect {
        sig: Signature,
        callee: Value,
        args: Vec<Value>,
    },
    /// Copy `len` bytes from `src` to `dst` (regions may overlap).
    MemCopy {
        dst: Value,
        src: Value,
        len: Value,
    },
    /// Set `len` bytes at `dst` to the low byte of `byte`.
    MemFill {
        dst: Value,
        byte: Value,
        len: Value,
    },
    /// Atomic load of a `ty` from `addr` (aligned to its size). Ordering: not `release` or
    /// `acq_rel`.
    AtomicLoad {
        ty: Type,
        addr: Value,
        order: AtomicOrdering,
    },
    /// Atomic store of `value` at `addr` (aligned to its size). Ordering: not `acquire` or
    /// `acq_rel`.
    AtomicStore {
        addr: Value,
        value: Value,
        order: AtomicOrdering,
    },
    /// Atomically replaces the integer at `addr` by `op(old, value)`; the result is `old`.
    AtomicRmw {
        op: RmwOp,
        addr: Value,
        value: Value,
        order: AtomicOrdering,
    },
    /// Atomic compare-and-swap of the integer at `addr`: when it equals `expected` it becomes
    /// `desired` (ordering `success`), else it is only read (ordering `failure`, which is a valid
    /// load ordering). The result is the value found, so the swap happened exactly when it
    /// equals `expected`.
    AtomicCas {
        addr: Value,
        expected: Value,
        desired: Value,
        success: AtomicOrdering,
        failure: AtomicOrdering,
    },
    /// A memory fence. Ordering: not `relaxed`.
    Fence {
        order: AtomicOrdering,
    },
    /// Terminator: jump to `dest` passing `args` to its parameters.
    Jump {
        dest: Block,
        args: Vec<Value>,
    },
    /// Terminator: `cond != 0` goes to `then_dest`, else to `else_dest`.
    Branch {
        cond: Value,
        then_dest: Block,
        then_args: Vec<Value>,
        else_dest: Block,
        else_args: Vec<Value>,
    },
    /// Terminator: return `values` (matching the signature's returns).
    Return {
        values: Vec<Value>,
    },
    /// Terminator: stop with a trap.
    Trap {
        code: TrapCode,
    },
}

impl InstKind {
    /// True for instructions that end a block.
    pub fn is_terminator(&self) -> bool {
        matches!(self, InstKind::Jump { .. } | InstKind::Branch { .. } | InstKind::Return { .. } | InstKind::Trap { .. })
    }
    /// True for the atomic instructions. They order other threads' view of memory (and all but
    /// the load write it), so an optimisation must not remove, merge or move them, even when
    /// their result is unused.
    pub fn is_atomic(&self) -> bool {
        matches!(
            self,
            InstKind::AtomicLoad { .. }
                | InstKind::AtomicStore { .. }
                | InstKind::AtomicRmw { .. }
                | InstKind::AtomicCas { .. }
                | InstKind::Fence { .. }
        )
    }
    /// The value operands, in order.
    pub fn operands(&self) -> Vec<Value> {
        let mut v = Vec::new();
        self.for_each_operand(|x| v.push(x));
        v
    }

    /// Calls `f` on every value operand, in the order of [`InstKind::operands`], without
    /// allocating.
    pub fn for_each_operand(&self, mut f: impl FnMut(Value)) {
        use InstKind::*;
        match self {
            Iconst { .. } | Fconst { .. } | StackAddr { .. } | DataAddr { .. } | FuncAddr { .. } | Fence { .. } | Trap { .. } => {}
            Binary { a, b, .. } | Icmp { a, b, .. } | Fcmp { a, b, .. } => {
                f(*a);
                f(*b);
            }
            Unary { a, .. } | Convert { a, .. } | AtomicLoad { addr: a, .. } => f(*a),
            AtomicStore { addr, value, .. } | AtomicRmw { addr, value, .. } => {
                f(*addr);
                f(*value);
            }
            AtomicCas { addr, expected, desired, .. } => {
                f(*addr);
                f(*expected);
                f(*desired);
            }
            Select { cond, a, b } => {
                f(*cond);
                f(*a);
                f(*b);
            }
            Load { addr, .. } => f(*addr),
            Store { addr, value, .. } => {
                f(*addr);
                f(*value);
            }
            Call { args, .. } | CallExtern { args, .. } | Jump { args, .. } | Return { values: args } => args.iter().copied().for_each(f),
            CallIndirect { callee, args, .. } => {
                f(*callee);
                args.iter().copied().for_each(f);
            }
            MemCopy { dst, src, len } | MemFill { dst, byte: src, len } => {
                f(*dst);
                f(*src);
                f(*len);
            }
            Branch { cond, then_args, else_args, .. } => {
                f(*cond);
                then_args.iter().chain(else_args).copied().for_each(f);
            }
        }
    }
}

impl InstKind {
    /// The types of the results this instruction produces in module `m`, given the types of its
    /// operands (`operand_type`); `None` when a needed operand type is unknown or the callee
    /// does not exist.
    pub fn result_types<'m>(&'m self, m: &'m Module, operand_type: impl Fn(Value) -> Option<Type>) -> Option<ResultTypes<'m>> {
        use InstKind::*;
        Some(match self {
            Iconst { ty, .. } | Fconst { ty, .. } | Load { ty, .. } | AtomicLoad { ty, .. } => ResultTypes::One([*ty]),
            Convert { to, .. } => ResultTypes::One([*to]),
            Binary { a, .. } | Unary { a, .. } | Select { a, .. } => ResultTypes::One([operand_type(*a)?]),
            AtomicRmw { value, .. } => ResultTypes::One([operand_type(*value)?]),
            AtomicCas { expected, .. } => ResultTypes::One([operand_type(*expected)?]),
            Icmp { .. } | Fcmp { .. } => ResultTypes::One([Type::I8]),
            StackAddr { .. } | DataAddr { .. } | FuncAddr { .. } => ResultTypes::One([m.pointer_type()]),
            Call { func, .. } => ResultTypes::List(&m.funcs.get(*func)?.sig.returns),
            CallExtern { ext, .. } => ResultTypes::List(&m.externs.get(*ext)?.sig.returns),
            CallIndirect { sig, .. } => ResultTypes::List(&sig.returns),
            Store { .. }
            | MemCopy { .. }
            | MemFill { .. }
            | AtomicStore { .. }
            | Fence { .. }
            | Jump { .. }
            | Branch { .. }
            | Return { .. }
            | Trap { .. } => ResultTypes::List(&[]),
        })
    }

    /// Calls `f` on every value operand (in the order of [`InstKind::operands`]), allowing it
    /// to be replaced.
    pub fn for_each_operand_mut(&mut self, mut f: impl FnMut(&mut Value)) {
        use InstKind::*;
        match self {
            Iconst { .. } | Fconst { .. } | StackAddr { .. } | DataAddr { .. } | FuncAddr { .. } | Fence { .. } | Trap { .. } => {}
            Binary { a, b, .. } | Icmp { a, b, .. } | Fcmp { a, b, .. } => {
                f(a);
                f(b);
            }
            Unary { a, .. } | Convert { a, .. } | AtomicLoad { addr: a, .. } => f(a),
            AtomicStore { addr, value, .. } | AtomicRmw { addr, value, .. } => {
                f(addr);
                f(value);
            }
            AtomicCas { addr, expected, desired, .. } => {
                f(addr);
                f(expected);
                f(desired);
            }
            Select { cond, a, b } => {
                f(cond);
                f(a);
                f(b);
            }
            Load { addr, .. } => f(addr),
            Store { addr, value, .. } => {
                f(addr);
                f(value);
            }
            Call { args, .. } | CallExtern { args, .. } => args.iter_mut().for_each(f),
            CallIndirect { callee, args, .. } => {
                f(callee);
                args.iter_mut().for_each(f);
            }
            MemCopy { dst, src, len } => {
                f(dst);
                f(src);
                f(len);
            }
            MemFill { dst, byte, len } => {
                f(dst);
                f(byte);
                f(len);
            }
            Jump { args, .. } => args.iter_mut().for_each(f),
            Branch { cond, then_args, else_args, .. } => {
                f(cond);
                then_args.iter_mut().for_each(&mut f);
                else_args.iter_mut().for_each(f);
            }
            Return { values } => values.iter_mut().for_each(f),
        }
    }

    /// The outgoing edges of a terminator as `(destination, arguments)` pairs (`then` first);
    /// empty for every other instruction.
    pub fn edges(&self) -> Vec<(Block, &[Value])> {
        use InstKind::*;
        match self {
            Jump { dest, args } => vec![(*dest, args.as_slice())],
            Branch { then_dest, then_args, else_dest, else_args, .. } => {
                vec![(*then_dest, then_args.as_slice()), (*else_dest, else_args.as_slice())]
            }
            Iconst { .. }
            | Fconst { .. }
            | Binary { .. }
            | Unary { .. }
            | Icmp { .. }
            | Fcmp { .. }
            | Convert { .. }
            | Select { .. }
            | Load { .. }
            | Store { .. }
            | StackAddr { .. }
            | DataAddr { .. }
            | FuncAddr { .. }
            | Call { .. }
            | CallExtern { .. }
            | CallIndirect { .. }
            | MemCopy { .. }
            | MemFill { .. }
            | AtomicLoad { .. }
            | AtomicStore { .. }
            | AtomicRmw { .. }
            | AtomicCas { .. }
            | Fence { .. }
            | Return { .. }
            | Trap { .. } => vec![],
        }
    }

    /// [`InstKind::edges`] with the argument lists mutable.
    pub fn edges_mut(&mut self) -> Vec<(Block, &mut Vec<Value>)> {
        use InstKind::*;
        match self {
            Jump { dest, args } => vec![(*dest, args)],
            Branch { then_dest, then_args, else_dest, else_args, .. } => vec![(*then_dest, then_args), (*else_dest, else_args)],
            Iconst { .. }
            | Fconst { .. }
            | Binary { .. }
            | Unary { .. }
            | Icmp { .. }
            | Fcmp { .. }
            | Convert { .. }
            | Select { .. }
            | Load { .. }
            | Store { .. }
            | StackAddr { .. }
            | DataAddr { .. }
            | FuncAddr { .. }
            | Call { .. }
            | CallExtern { .. }
            | CallIndirect { .. }
            | MemCopy { .. }
            | MemFill { .. }
            | AtomicLoad { .. }
            | AtomicStore { .. }
            | AtomicRmw { .. }
            | AtomicCas { .. }
            | Fence { .. }
            | Return { .. }
            | Trap { .. } => vec![],
        }
    }
}

/// An instruction with its results and source span.
#[derive(Clone, Debug)]
pub struct InstData {
    pub kind: InstKind,
    pub results: Vec<Value>,
    /// Source span of the construct this instruction implements (for VM diagnostics).
    pub span: Option<Span>,
}

/// Where a value comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// The `n`th result of an instruction.
    Result(Inst, u32),
    /// The `n`th parameter of a block.
    Param(Block, u32),
}

/// Type and definition of a value.
#[derive(Clone, Debug)]
pub struct ValueData {
    pub ty: Type,
    pub def: ValueDef,
}

/// A basic block: parameters, then instructions ending in one terminator.
#[derive(Clone, Debug, Default)]
pub struct BlockData {
    pub params: Vec<Value>,
    pub insts: Vec<Inst>,
}

/// A stack slot.
#[derive(Clone, Debug)]
pub struct SlotData {
    pub size: u32,
    pub align: u32,
}

/// Visibility of a function or data object in the emitted object file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// Internal to the module.
    Local,
    /// Exported under its name (e.g. the C `main` entry point, `export` functions).
    Export,
}

/// A function body.
#[derive(Clone, Debug)]
pub struct Function {
    /// Symbol name (unique in the module).
    pub name: String,
    pub sig: Signature,
    pub linkage: Linkage,
    pub blocks: EntityVec<Block, BlockData>,
    pub insts: EntityVec<Inst, InstData>,
    pub values: EntityVec<Value, ValueData>,
    pub slots: EntityVec<Slot, SlotData>,
    /// Span of the source declaration.
    pub span: Option<Span>,
    /// The sx variables living in slots, for debug information (empty unless asked for).
    pub debug_vars: Vec<debug::DebugVar>,
}

impl Function {
    /// An empty function (no blocks yet).
    pub fn new(name: impl Into<String>, sig: Signature) -> Function {
        Function {
            name: name.into(),
            sig,
            linkage: Linkage::Local,
            blocks: EntityVec::new(),
            insts: EntityVec::new(),
            values: EntityVec::new(),
            slots: EntityVec::new(),
            span: None,
            debug_vars: Vec::new(),
        }
    }
    /// The entry block (the first block created), if any.
    pub fn entry(&self) -> Option<Block> {
        if self.blocks.is_empty() {
            None
        } else {
            Some(Block(0))
        }
    }
    /// Type of `v`.
    pub fn value_type(&self, v: Value) -> Type {
        self.values[v].ty
    }
    /// True once the function has a body.
    pub fn is_defined(&self) -> bool {
        !self.blocks.is_empty()
    }
}

/// Relocation target inside a data object.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RelocTarget {
    Data(DataId),
    Func(FuncId),
}

/// "Write the address of `target` + `addend` as a pointer at `offset`".
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Reloc {
    pub offset: u32,
    pub target: RelocTarget,
    pub addend: i64,
}

/// A static data object: initial bytes (at the target's layout) plus pointer relocations.
#[derive(Clone, Debug)]
pub struct Data {
    pub name: String,
    pub bytes: Vec<u8>,
    pub align: u32,
    pub relocs: Vec<Reloc>,
    /// Writable (a global variable) or read-only (a constant, a string literal).
    pub writable: bool,
}

/// The name of the read-only one-byte data object that `is_comptime()` reads: 0 in the module
/// (compiled code, and whole programs on the VM), 1 as the VM materialises it for compile-time
/// evaluation. Stage-polymorphic code thus needs no second lowering.
pub const COMPTIME_FLAG_DATA: &str = "__sx_is_comptime";

/// The name prefix of a data object that stands for a C global (`name : T extern;`): the rest
/// of the name is its symbol; the back ends import it instead of defining it (its bytes give
/// the size only), the VM starts from a copy of the host's current bytes.
pub const EXTERN_DATA_PREFIX: &str = "__sx_extern:";

/// The symbol prefix of the out-of-line functions sema generates for inline assembly blocks
/// and naked functions (extern functions of the module, defined by an assembled object): host
/// machine code, which the compile-time VM refuses to call.
pub const ASM_SYMBOL_PREFIX: &str = "__sx_asm_";

/// The base name (before the `.N` suffix sema appends) of a module function with no parameters
/// or results that, when the comptime VM calls it, prints the active comptime call frames to
/// stdout (`trace.print_interpreter_frames`); compiled code runs its empty body.
pub const COMPTIME_FRAMES_FUNC: &str = "__interp_print_frames";

/// A C ABI function resolved by symbol name (libc through the dynamic loader / system linker).
#[derive(Clone, Debug)]
pub struct ExternFunc {
    pub symbol: String,
    pub sig: Signature,
    /// Parameters that C receives as a struct copied onto the stack (System V's MEMORY class):
    /// the IR argument is the struct's address; the call copies `size` bytes.
    pub byval: Vec<ByvalParam>,
}

/// A by-value struct parameter of an extern, passed in memory (see [`ExternFunc::byval`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ByvalParam {
    /// Index into the signature's parameters (a pointer-typed one).
    pub param: u32,
    /// Bytes copied.
    pub size: u32,
}

/// The result types of an instruction ([`InstKind::result_types`]), without allocating.
#[derive(Clone, Copy, Debug)]
pub enum ResultTypes<'m> {
    /// Exactly one result.
    One([Type; 1]),
    /// A callee's (or no) results.
    List(&'m [Type]),
}

impl ResultTypes<'_> {
    /// The types as a slice.
    pub fn as_slice(&self) -> &[Type] {
        match self {
            ResultTypes::One(t) => t,
            ResultTypes::List(l) => l,
        }
    }
}

/// The target a module is compiled for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Target {
    X86_64Linux,
    Aarch64Linux,
}

impl Target {
    /// The target of the running host (x86_64 unless built for aarch64).
    pub fn host() -> Target {
        if cfg!(target_arch = "aarch64") {
            Target::Aarch64Linux
        } else {
            Target::X86_64Linux
        }
    }
    /// Parses a target's name ([`Target::name`]) or one of the aliases `x86_64`, `aarch64`,
    /// `arm64`.
    pub fn parse(s: &str) -> Option<Target> {
        Target::from_name(s).or(match s {
            "x86_64" => Some(Target::X86_64Linux),
            "aarch64" | "arm64" => Some(Target::Aarch64Linux),
            _ => None,
        })
    }
    /// Pointer width in bytes.
    pub fn pointer_bytes(self) -> u32 {
        8
    }
}

/// A whole compiled program.
#[derive(Clone, Debug)]
pub struct Module {
    pub target: Target,
    pub funcs: EntityVec<FuncId, Function>,
    pub datas: EntityVec<DataId, Data>,
    pub externs: EntityVec<ExternId, ExternFunc>,
    /// The program entry: a function with signature `() -> i32` returning the exit status.
    pub entry: Option<FuncId>,
    /// The types the functions' debug variables have (empty unless debug information was
    /// asked for).
    pub debug_types: EntityVec<debug::DebugTypeId, debug::DebugType>,
}

impl Module {
    /// An empty module for `target`.
    pub fn new(target: Target) -> Module {
        Module {
            target,
            funcs: EntityVec::new(),
            datas: EntityVec::new(),
            externs: EntityVec::new(),
            entry: None,
            debug_types: EntityVec::new(),
        }
    }
    /// Pointer width of the target, in bytes.
    pub fn pointer_bytes(&self) -> u32 {
        self.target.pointer_bytes()
    }
    /// The integer type holding a pointer.
    pub fn pointer_type(&self) -> Type {
        Type::int_of_bytes(self.pointer_bytes()).unwrap_or(Type::I64)
    }
    /// Declares (or finds) an extern function by symbol.
    pub fn declare_extern(&mut self, symbol: &str, sig: Signature) -> ExternId {
        if let Some((id, _)) = self.externs.iter().find(|(_, e)| e.symbol == symbol) {
            return id;
        }
        self.externs.push(ExternFunc { symbol: symbol.to_string(), sig, byval: vec![] })
    }
    /// Declares (or finds) the C function `symbol` whose `byval` parameters are structs passed
    /// in memory.
    pub fn declare_extern_byval(&mut self, symbol: &str, sig: Signature, byval: Vec<ByvalParam>) -> ExternId {
        if let Some((id, _)) = self.externs.iter().find(|(_, e)| e.symbol == symbol) {
            return id;
        }
        self.externs.push(ExternFunc { symbol: symbol.to_string(), sig, byval })
    }
    /// Adds a data object.
    pub fn add_data(&mut self, data: Data) -> DataId {
        self.datas.push(data)
    }
    /// Finds a function by symbol name.
    pub fn func_by_name(&self, name: &str) -> Option<FuncId> {
        self.funcs.iter().find(|(_, f)| f.name == name).map(|(id, _)| id)
    }
}
