//! The syntax tree produced by [`crate::parse_file`].
//!
//! An owned tree: every node carries a [`Span`]. Types are ordinary expressions
//! (`[4]i32`, `*T`, `?T`, `List(T)`, `struct {..}`, function types): the checker
//! evaluates them. Constructs whose meaning depends on whether the operand is a
//! type or a value keep a single node (e.g. prefix `*` is [`ExprKind::AddrOf`],
//! which is the pointer type `*T` when `T` is a type).

use sx_diag::Span;

/// A name as written in the source (backtick raw identifiers have the backtick stripped).
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The spelling, without a leading backtick.
    pub name: String,
    /// Where it was written.
    pub span: Span,
    /// True when written as `` `name `` (a raw identifier: never a keyword / builtin type).
    pub raw: bool,
}

/// One parsed source file.
#[derive(Clone, Debug)]
pub struct File {
    /// Top-level declarations and directives, in source order.
    pub items: Vec<Item>,
    /// The whole file.
    pub span: Span,
}

/// A declaration or directive at module level (or nested in an `inline if`, `impl`, or a body).
#[derive(Clone, Debug)]
pub struct Item {
    /// What it declares.
    pub kind: ItemKind,
    /// The whole declaration, including the terminating `;` if any.
    pub span: Span,
    /// Declared with the `private` modifier.
    pub private: bool,
}

/// The kinds of top-level items.
#[derive(Clone, Debug)]
pub enum ItemKind {
    /// `name :: value;` or `name : ty : value;` (functions, types, constants, aliases).
    Const { name: Ident, ty: Option<Expr>, value: Expr },
    /// `x := e;`, `x : T = e;`, `x : T;` (value `None` = zero/default init),
    /// `x : T = ---;` (`undef` = true, value `None`), `a, b := f();` (several names).
    Var { names: Vec<Ident>, ty: Option<Expr>, value: Option<Expr>, undef: bool },
    /// `#import "path";` (alias `None`, flat import) or `name :: #import "path";`.
    Import { alias: Option<Ident>, path: String, path_span: Span },
    /// Top-level side-effect `#run expr;`.
    Run(Expr),
    /// `#insert expr;` — the string value is compiled as declarations here.
    Insert(Expr),
    /// `impl Protocol for Type { decls }`.
    Impl(ImplDecl),
    /// `#context_extend name: T = default;`.
    ContextExtend { name: Ident, ty: Expr, default: Option<Expr> },
    /// `inline if cond { items } else { items }` at module level (`else if` nests as a
    /// single `InlineIf` item in `else_`).
    InlineIf { cond: Expr, then: Vec<Item>, else_: Vec<Item> },
    /// `inline if subject == { case p: items ... else: items }` at module level.
    InlineMatch { subject: Expr, arms: Vec<ItemArm>, else_: Option<Vec<Item>> },
    /// `name : T extern [lib] ["sym"];` — a variable defined in C.
    ExternVar { name: Ident, ty: Expr, lib: Option<Ident>, sym: Option<String> },
    /// Any other top-level directive statement, e.g. `#framework "X";`, `#error("..");`
    /// (the expression is usually an [`ExprKind::Directive`]).
    Directive(Expr),
    /// `#import c { … };` (alias `None`: its declarations land in the importing file) or
    /// `name :: #import c { … };` (a namespace).
    CImport { alias: Option<Ident>, unit: CUnitDecl },
}

/// The body of `#import c { #include "h"; #source "c"; #define "N=V"; #flags "-O2"; }`.
#[derive(Clone, Debug)]
pub struct CUnitDecl {
    /// The entries in source order.
    pub entries: Vec<CEntry>,
    /// From `#import` to the closing `}`.
    pub span: Span,
}

/// One entry of a [`CUnitDecl`].
#[derive(Clone, Debug)]
pub struct CEntry {
    /// Which directive.
    pub kind: CEntryKind,
    /// The string as written (for `#include <stdio.h>` the text between the brackets).
    pub value: String,
    /// `#include <…>`: the header comes from the C compiler's include path only.
    pub angled: bool,
    /// The whole entry, directive to value.
    pub span: Span,
}

/// The directives a C unit takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CEntryKind {
    /// `#include "h"`: a header whose declarations are translated.
    Include,
    /// `#source "c"`: a C file compiled and linked with the program.
    Source,
    /// `#define "NAME=VALUE"`: a `-D` for the unit's headers and sources.
    Define,
    /// `#flags "…"`: extra C compiler flags (split at spaces).
    Flags,
}

/// One `case p1, p2: items` arm of a module-level [`ItemKind::InlineMatch`].
#[derive(Clone, Debug)]
pub struct ItemArm {
    /// The case patterns (usually `.enum_literal`s).
    pub patterns: Vec<Expr>,
    /// Declarations selected when the arm matches.
    pub items: Vec<Item>,
    /// From `case` to the end of the arm.
    pub span: Span,
}

/// `impl Protocol for Type { ... }`.
#[derive(Clone, Debug)]
pub struct ImplDecl {
    /// The protocol (possibly parameterised: `Into(T)`).
    pub protocol: Expr,
    /// The implementing type; `None` for an `impl T { .. }` without `for`.
    pub target: Option<Expr>,
    /// Method and constant declarations.
    pub items: Vec<Item>,
    /// The whole `impl`.
    pub span: Span,
}

/// A block `{ stmts; tail }`.
#[derive(Clone, Debug)]
pub struct Block {
    /// Statements in order.
    pub stmts: Vec<Stmt>,
    /// A final expression not followed by `;` (the block's value). For match-arm bodies,
    /// the last expression statement is moved here even if it ended with `;`.
    pub tail: Option<Box<Expr>>,
    /// From `{` to `}` (or the extent of the statements for braceless bodies).
    pub span: Span,
}

/// A statement.
#[derive(Clone, Debug)]
pub struct Stmt {
    /// What kind of statement.
    pub kind: StmtKind,
    /// Its extent, including a terminating `;`.
    pub span: Span,
}

/// Assignment operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AssignOp {
    /// `=`
    Assign,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=`
    Rem,
    /// `&=`
    BitAnd,
    /// `|=`
    BitOr,
    /// `^=`
    BitXor,
    /// `<<=`
    Shl,
    /// `>>=`
    Shr,
}

/// A value in a `return` list: `e` or `name = e`.
#[derive(Clone, Debug)]
pub struct RetValue {
    /// `Some` for `return x = 1, y = 2;`.
    pub name: Option<Ident>,
    /// The returned value.
    pub value: Expr,
}

/// The statement kinds.
#[derive(Clone, Debug)]
pub enum StmtKind {
    /// `x := e;`, `x : T = e;`, `x : T;`, `x : T = ---;`, `a, b := f();`.
    Let { names: Vec<Ident>, ty: Option<Expr>, value: Option<Expr>, undef: bool },
    /// Local `name :: value;` / `name : T : value;` (including nested functions and types).
    Const { name: Ident, ty: Option<Expr>, value: Expr },
    /// `lhs op= rhs;`.
    Assign { op: AssignOp, lhs: Expr, rhs: Expr },
    /// `a, b = x, y;` (plain `=` only; `rhs` may also be a single multi-value call).
    MultiAssign { lhs: Vec<Expr>, rhs: Vec<Expr> },
    /// An expression evaluated for effect (`f();`, `if c {..}`, `while`-free forms).
    Expr(Expr),
    /// `return;`, `return e;`, `return a, b;`, `return x = a, y = b;`.
    Return(Vec<RetValue>),
    /// `break;`
    Break,
    /// `continue;`
    Continue,
    /// `defer stmt;` (the statement is often a block).
    Defer(Box<Stmt>),
    /// `onfail stmt;` / `onfail (e) { … }`.
    OnFail { binding: Option<Ident>, body: Box<Stmt> },
    /// `raise error.X;` (or any error-valued expression).
    Raise(Expr),
    /// `while cond { .. }` / `while v := e { .. }`.
    While { cond: Cond, body: Block },
    /// `for` / `inline for` loops.
    For(ForLoop),
    /// A bare `{ .. }` scope.
    Block(Block),
    /// `push ctx { .. }`.
    Push { ctx: Expr, body: Block },
    /// `#run expr;` inside a body.
    Run(Expr),
    /// `#insert expr;` inside a body.
    Insert(Expr),
    /// A nested non-const item in a body: `#import`, `impl`, `#context_extend`, directives.
    Item(Item),
}

/// A condition of `if`/`while`: a boolean-ish expression or an optional binding.
#[derive(Clone, Debug)]
pub enum Cond {
    /// `if e`.
    Expr(Expr),
    /// `if name := e` / `while name := e` (unwraps an optional).
    Bind { name: Ident, value: Expr },
}

/// One capture name in `(x, *y)` after a `for` header or a match `case`.
#[derive(Clone, Debug)]
pub struct Capture {
    /// The bound name.
    pub name: Ident,
    /// Written `*name`: bind a pointer into the collection / payload.
    pub by_ref: bool,
}

/// `for iters (captures) body` / `inline for ...`.
#[derive(Clone, Debug)]
pub struct ForLoop {
    /// The iterables (collections or [`ExprKind::Range`]s), zipped.
    pub iters: Vec<Expr>,
    /// The capture names (may be empty).
    pub captures: Vec<Capture>,
    /// The body (`=> stmt;` is wrapped in a one-statement block).
    pub body: Block,
    /// `inline for` (compile-time unrolled).
    pub inline: bool,
}

/// An expression (also used for types).
#[derive(Clone, Debug)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Its extent.
    pub span: Span,
}

/// Binary operators (comparisons appear here when not chained).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `*`
    Mul,
    /// `/` (also the constraint separator in `Type/Proto`)
    Div,
    /// `%`
    Rem,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in` (tuple membership; comparison level)
    In,
    /// `&`
    BitAnd,
    /// `^`
    BitXor,
    /// `|`
    BitOr,
    /// `and`
    And,
    /// `or` (logical or, or failable fallback — the checker decides)
    Or,
    /// `??`
    Coalesce,
    /// `|>` — `a |> f(b)` means `f(a, b)`
    Pipe,
}

impl BinOp {
    /// True for `== != < <= > >= in`.
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::In)
    }
}

/// Prefix operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `-e`
    Neg,
    /// `!e`
    Not,
    /// `~e`
    BitNot,
}

/// A call / type-constructor argument: `e`, `name = e`, `name: T` (in `Tuple(x: A)`), `..e`.
#[derive(Clone, Debug)]
pub struct Arg {
    /// The argument name, if written `name = e` or `name: e`.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// Written `..e` (spread an array/slice/pack).
    pub spread: bool,
    /// Whole argument.
    pub span: Span,
}

/// A field initializer in `T.{ .. }` / `.{ .. }`.
#[derive(Clone, Debug)]
pub struct FieldInit {
    /// `Some` for `name = e`; `None` for positional (a bare identifier may be the
    /// shorthand `x` for `x = x` — the checker decides).
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// Written `..e` (pack materialisation).
    pub spread: bool,
    /// Whole initializer.
    pub span: Span,
}

/// One arm of a value / type match: `case p1, p2: (capture) body`.
#[derive(Clone, Debug)]
pub struct MatchArm {
    /// Patterns (values, `.variant`, types, type categories like `struct`).
    pub patterns: Vec<Expr>,
    /// Payload capture `(v)` / `(*v)`.
    pub capture: Option<Capture>,
    /// The arm body: statements up to the next `case` / `else:` / `}`; a single
    /// `{ .. }` or `=> e` body becomes this block directly.
    pub body: Block,
    /// From `case` to the end of the body.
    pub span: Span,
}

/// `catch` handler.
#[derive(Clone, Debug)]
pub struct CatchClause {
    /// The error binding `(e)`.
    pub binding: Option<Ident>,
    /// The handler body: a block, an expression, or an [`ExprKind::Match`] on the error
    /// (for `catch (e) == { case .. }`).
    pub body: Box<Expr>,
}

/// The expression kinds.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// A name (variables, constants, types like `i64`, `Type`, `void`).
    Ident(Ident),
    /// Integer literal (value after stripping `_`; checker range-checks).
    Int(u128),
    /// Float literal.
    Float(f64),
    /// Character literal: its code point.
    Char(u32),
    /// String literal bytes (escapes processed, `\xNN` may produce non-UTF-8 bytes;
    /// `#string` heredocs raw).
    Str(Vec<u8>),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `---` (uninitialised).
    Undef,
    /// `$T` (introduces a compile-time type/value parameter), with optional `/Proto` constraint.
    Poly { name: Ident, constraint: Option<Box<Expr>> },
    /// `.name` (enum literal; `.name(payload)` is a [`ExprKind::Call`] on this).
    EnumLit(Ident),
    /// `T.{..}` / `.{..}`.
    StructLit { ty: Option<Box<Expr>>, fields: Vec<FieldInit> },
    /// `.[a, b]` / `T.[a, b]`.
    ArrayLit { ty: Option<Box<Expr>>, elems: Vec<Expr> },
    /// Prefix `- ! ~`.
    Unary { op: UnOp, expr: Box<Expr> },
    /// Binary operation.
    Binary { op: BinOp, lhs: Box<Expr>, rhs: Box<Expr> },
    /// A chain of 2+ comparisons `a < b <= c` (`operands.len() == ops.len() + 1`).
    Chain { operands: Vec<Expr>, ops: Vec<BinOp> },
    /// Range `lo..hi` with markers: `lo<..` (lo exclusive), `..=hi` (hi inclusive).
    Range { lo: Option<Box<Expr>>, hi: Option<Box<Expr>>, lo_exclusive: bool, hi_inclusive: bool },
    /// Prefix `*e`: address-of, or the pointer type `*T` when `e` is a type.
    AddrOf(Box<Expr>),
    /// Postfix `e.*`.
    Deref(Box<Expr>),
    /// `xx e` (auto cast to the expected type).
    AutoCast(Box<Expr>),
    /// `try e`.
    Try(Box<Expr>),
    /// `e.(T)`.
    Cast { expr: Box<Expr>, ty: Box<Expr> },
    /// Postfix `e!` (force-unwrap an optional).
    Unwrap(Box<Expr>),
    /// `callee(args)`; a trailing block `f(a) { .. }` is appended as a last argument whose
    /// value is an [`ExprKind::Fn`] with no params (and `trailing_block` is set).
    Call { callee: Box<Expr>, args: Vec<Arg>, trailing_block: bool },
    /// `e.name` (also `ns.name`, `E.variant`, `.0` tuple fields: name "0").
    Field { base: Box<Expr>, name: Ident },
    /// `e?.name`.
    OptField { base: Box<Expr>, name: Ident },
    /// `e[i]`.
    Index { base: Box<Expr>, index: Box<Expr> },
    /// `e[lo..hi]` with markers (same meaning as [`ExprKind::Range`]).
    Slice { base: Box<Expr>, lo: Option<Box<Expr>>, hi: Option<Box<Expr>>, lo_exclusive: bool, hi_inclusive: bool },
    /// `if c then a else b` / `if c {..} else {..}` / `inline if ...`.
    If { cond: Box<Cond>, then: Box<Expr>, else_: Option<Box<Expr>>, inline: bool },
    /// `if subject == { case ..: .. else: .. }` (also `inline if T == {..}`).
    Match { subject: Box<Expr>, arms: Vec<MatchArm>, else_: Option<Block>, inline: bool },
    /// `{ stmts; tail }` in expression position.
    Block(Block),
    /// A function literal, declaration, lambda, or function type.
    Fn(Box<FnDecl>),
    /// `Closure(A, B) -> R` closure type.
    ClosureType { params: Vec<Arg>, ret: Option<Box<RetSpec>> },
    /// `struct {..}` / `struct ($T: Type) {..}`.
    Struct(Box<StructDecl>),
    /// `union {..}` (untagged).
    Union(Box<StructDecl>),
    /// `enum [backing] [flags] {..}` (plain or tagged).
    Enum(Box<EnumDecl>),
    /// `protocol [params] [#inline #identity] { methods }`.
    Protocol(Box<StructDecl>),
    /// `error { A, B }` error set.
    ErrorSet(Vec<Ident>),
    /// `error.X`.
    ErrorValue(Ident),
    /// `[]T`; `sentinel` is `Some` for `[:0]T`.
    SliceType { elem: Box<Expr>, sentinel: Option<Box<Expr>> },
    /// `[*]T`.
    ManyPtrType(Box<Expr>),
    /// `[N]T`.
    ArrayType { len: Box<Expr>, elem: Box<Expr> },
    /// `?T`.
    OptionalType(Box<Expr>),
    /// `e catch (err) handler`.
    Catch { expr: Box<Expr>, clause: CatchClause },
    /// `#run e` (compile-time evaluation).
    Run(Box<Expr>),
    /// `#caller_location`.
    CallerLocation,
    /// `#import "path"` in expression position (other than `name :: #import`).
    Import(String),
    /// `#library "name"`.
    Library(String),
    /// `ufcs f` (opt-in UFCS alias `g :: ufcs f;`).
    UfcsAlias(Box<Expr>),
    /// Any other `#name`, `#name(args)`, `#name(args) modifiers { body }` form
    /// (`#error("..")`, `#objc_class("X") export { .. }`, `#jni_env(env) { .. }`).
    Directive(Box<DirectiveExpr>),
    /// `e.(P, alloc)` — protocol erasure copy with an explicit allocator.
    CastWithAlloc { expr: Box<Expr>, ty: Box<Expr>, alloc: Box<Expr> },
    /// `e?.(T)` (optional-chained cast: null stays null).
    OptCast { expr: Box<Expr>, ty: Box<Expr> },
    /// `T.{ .. } { stmts }` — a struct literal followed by an init block (`self` is the value).
    InitBlock { expr: Box<Expr>, body: Block },
    /// `asm [volatile] { "template", operands…, clobbers(.r, …) }` inline assembly.
    Asm(Box<AsmExpr>),
    /// A parse error placeholder (a diagnostic was reported).
    Error,
}

/// `asm [volatile] { template, [name] "constraint" -> T | -> *place | = expr, …, clobbers(.r, …) }`.
#[derive(Clone, Debug)]
pub struct AsmExpr {
    /// `asm volatile`: the block has effects beyond its outputs.
    pub volatile: bool,
    /// The template (a string literal or `#string` heredoc).
    pub template: Expr,
    /// The operands in source order.
    pub operands: Vec<AsmOperand>,
    /// The names of `clobbers(.a, .b)`.
    pub clobbers: Vec<Ident>,
}

/// One operand of an [`AsmExpr`].
#[derive(Clone, Debug)]
pub struct AsmOperand {
    /// `[name]`, when written.
    pub name: Option<Ident>,
    /// The constraint string (`"=r"`, `"{rax}"`, `"+r"`, `"=*m"`, `"s"`, …).
    pub constraint: String,
    /// The constraint literal's span.
    pub constraint_span: Span,
    /// What the operand does.
    pub role: AsmRole,
    /// The whole operand.
    pub span: Span,
}

/// The role of an [`AsmOperand`].
#[derive(Clone, Debug)]
pub enum AsmRole {
    /// `-> T`: an output that is (part of) the block's value.
    Value(Expr),
    /// `-> *place`: an output stored through (or, `"+…"`, read and written through) a place.
    Place(Expr),
    /// `= expr`: an input.
    Input(Expr),
}

/// A generic directive expression `#name [args] [#inner..] [extern|export] [{ body }]`.
#[derive(Clone, Debug)]
pub struct DirectiveExpr {
    /// Directive name without `#`.
    pub name: Ident,
    /// `#name(args)` or a single same-line operand (`#extends UIView`, `#framework "X"`).
    pub args: Option<Vec<Arg>>,
    /// A directly following directive (`#jni_main #jni_class(..)`).
    pub inner: Option<Box<Expr>>,
    /// `extern` / `export` words after the directive.
    pub modifiers: Vec<Ident>,
    /// A `{ .. }` body on the same line.
    pub body: Option<Block>,
}

/// A function literal / declaration / type: `(params) -> ret modifiers body`.
#[derive(Clone, Debug)]
pub struct FnDecl {
    /// Parameters in order.
    pub params: Vec<Param>,
    /// `-> ...` (None = void).
    pub ret: Option<RetSpec>,
    /// Attributes and modifiers (`ufcs`, `extern`, `#get`, ...).
    pub attrs: FnAttrs,
    /// `{ .. }` or `=> e`; `None` for extern / intrinsic declarations and function types.
    pub body: Option<Body>,
    /// From `(` (or the leading `ufcs`) to the end of the body.
    pub span: Span,
}

/// A function body.
#[derive(Clone, Debug)]
pub enum Body {
    /// `{ .. }`.
    Block(Block),
    /// `=> e`.
    Expr(Expr),
}

/// A function parameter. For function types, `name` may be `None` (`(i64, bool) -> R`).
#[derive(Clone, Debug)]
pub struct Param {
    /// The parameter name (None for unnamed type-only params).
    pub name: Option<Ident>,
    /// Declared type (None for `b := 2` or untyped lambda params).
    pub ty: Option<Expr>,
    /// Default value (`b: i64 = 2`, `b := 2`, `loc := #caller_location`).
    pub default: Option<Expr>,
    /// Written `$name` (compile-time parameter).
    pub comptime: bool,
    /// Written `..name` (variadic / pack).
    pub variadic: bool,
    /// Whole parameter.
    pub span: Span,
}

/// A return specification.
#[derive(Clone, Debug)]
pub struct RetSpec {
    /// Value slots: `-> T` (one), `-> (A, B)`, `-> (x: A, y: B)`; empty for `-> !`.
    pub values: Vec<RetSlot>,
    /// `Some` when failable: `-> !`, `-> (T, !)`, `-> (T, !E)`, `-> !E`.
    pub error: Option<ErrSpec>,
    /// Written with parentheses (`-> (A, B)`): multiple returns even with one slot.
    pub paren: bool,
    /// The whole spec after `->`.
    pub span: Span,
}

/// One return slot.
#[derive(Clone, Debug)]
pub struct RetSlot {
    /// Named slot (`x: A`).
    pub name: Option<Ident>,
    /// Its type.
    pub ty: Expr,
    /// `x: A = default`.
    pub default: Option<Expr>,
    /// Whole slot.
    pub span: Span,
}

/// The failable part of a return spec: `!` or `!Set`.
#[derive(Clone, Debug)]
pub struct ErrSpec {
    /// The explicit error set, `None` for an inferred bare `!`.
    pub set: Option<Expr>,
    /// Where `!...` is written.
    pub span: Span,
}

/// Function attributes and modifiers.
#[derive(Clone, Debug, Default)]
pub struct FnAttrs {
    /// `f :: ufcs (..)`.
    pub ufcs: bool,
    /// `extern` present.
    pub is_extern: bool,
    /// `extern libc` — the library handle.
    pub extern_lib: Option<Ident>,
    /// `extern libc "sym"` / `extern libc ["sym"]` — the C symbol name.
    pub extern_sym: Option<String>,
    /// `export` (optionally `export "sym"`).
    pub export: bool,
    /// `export "sym"`.
    pub export_sym: Option<String>,
    /// `#get` property accessor.
    pub get: bool,
    /// `#set` property accessor.
    pub set: bool,
    /// `#inline`.
    pub inline: bool,
    /// `intrinsic` / `#intrinsic`.
    pub intrinsic: bool,
    /// `noreturn`.
    pub noreturn: bool,
    /// `abi(.c)` — the argument.
    pub abi: Option<Expr>,
    /// Any other `#directive` after the signature, with its `(args)` when written
    /// (`#jni_method_descriptor("()I")`).
    pub other: Vec<OtherAttr>,
}

/// A `#directive` after a function signature that the parser does not interpret.
#[derive(Clone, Debug)]
pub struct OtherAttr {
    /// The directive's name without `#`.
    pub name: Ident,
    /// `(args)` directly after the name.
    pub args: Option<Vec<Arg>>,
}

/// `struct`, `union` and `protocol` bodies.
#[derive(Clone, Debug)]
pub struct StructDecl {
    /// `struct ($T: Type, $N: u32)` parameters.
    pub params: Option<Vec<Param>>,
    /// Directives between the keyword and `{`: `#inline`, `#identity`, `#packed`, ...
    pub directives: Vec<Ident>,
    /// Members in order.
    pub members: Vec<Member>,
    /// The whole declaration.
    pub span: Span,
}

/// A member of a struct / union / protocol body.
#[derive(Clone, Debug)]
pub struct Member {
    /// What kind of member.
    pub kind: MemberKind,
    /// Its extent.
    pub span: Span,
}

/// Member kinds.
#[derive(Clone, Debug)]
pub enum MemberKind {
    /// `a, b: T;`, `c: T = default;`, `d: T = ---;` (`undef`).
    Field { names: Vec<Ident>, ty: Expr, default: Option<Expr>, undef: bool },
    /// `name :: value;` / `name : T : value;` (methods, constants, protocol methods).
    Const { name: Ident, ty: Option<Expr>, value: Expr },
    /// `#using Other;`.
    Using(Expr),
    /// An anonymous inline member `struct { .. };` / `union { .. };`.
    Anon(Expr),
    /// Any other directive member (`#extends X;`, `#implements P;`) or `inline if` (as an expr).
    Directive(Expr),
}

/// `enum` declarations (plain, flags, tagged unions).
#[derive(Clone, Debug)]
pub struct EnumDecl {
    /// `enum u8 { .. }` backing type.
    pub backing: Option<Expr>,
    /// `enum flags { .. }`.
    pub flags: bool,
    /// `enum ($T: Type) {..}` parameters.
    pub params: Option<Vec<Param>>,
    /// Variants in order.
    pub variants: Vec<Variant>,
    /// Whole declaration.
    pub span: Span,
}

/// An enum variant: `a;`, `b :: 3;`, `text: string;`.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Variant name.
    pub name: Ident,
    /// Explicit value `b :: 3` (could also be a method/const — the checker decides).
    pub value: Option<Expr>,
    /// Payload type `text: string`.
    pub payload: Option<Expr>,
    /// Whole variant.
    pub span: Span,
}

impl Expr {
    /// Builds an expression node.
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}
