//! JNI decisions (floor 0): which runtime a class directive names, how sx types map to Java
//! types and descriptors, which `JNINativeInterface` function a call goes through, and the
//! symbol of a `#jni_main` native method. Pure functions of their arguments; the lowering
//! (`jni`, `jni_calls`) asks them and emits what they chose.

use std::collections::HashMap;
use std::rc::Rc;

use sx_syntax::ast::{Expr, FnDecl, Ident};
use sx_types::{TypeId, TypeKind as TK, TypeTable};

use crate::{FileIdx, FnId};

/// The foreign runtime a class directive binds (`#jni_class`, `#objc_class`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runtime {
    JniClass,
    JniInterface,
    ObjcClass,
    ObjcProtocol,
    SwiftClass,
    SwiftStruct,
    SwiftProtocol,
}

impl Runtime {
    /// The runtime of a class-introducing directive name (without `#`).
    pub(crate) fn from_directive(name: &str) -> Option<Runtime> {
        Some(match name {
            "jni_class" => Runtime::JniClass,
            "jni_interface" => Runtime::JniInterface,
            "objc_class" => Runtime::ObjcClass,
            "objc_protocol" => Runtime::ObjcProtocol,
            "swift_class" => Runtime::SwiftClass,
            "swift_struct" => Runtime::SwiftStruct,
            "swift_protocol" => Runtime::SwiftProtocol,
            _ => return None,
        })
    }

    /// Whether calls go through the JNI function table.
    pub(crate) fn is_jni(self) -> bool {
        match self {
            Runtime::JniClass | Runtime::JniInterface => true,
            Runtime::ObjcClass | Runtime::ObjcProtocol | Runtime::SwiftClass | Runtime::SwiftStruct | Runtime::SwiftProtocol => false,
        }
    }

    /// The directive as written.
    pub(crate) fn directive(self) -> &'static str {
        match self {
            Runtime::JniClass => "#jni_class",
            Runtime::JniInterface => "#jni_interface",
            Runtime::ObjcClass => "#objc_class",
            Runtime::ObjcProtocol => "#objc_protocol",
            Runtime::SwiftClass => "#swift_class",
            Runtime::SwiftStruct => "#swift_struct",
            Runtime::SwiftProtocol => "#swift_protocol",
        }
    }
}

/// A class declared by a runtime directive: `Name :: #jni_class("path") extern { members }`.
pub(crate) struct RuntimeClass {
    pub name: String,
    pub runtime: Runtime,
    /// The runtime's name of the class (`android/view/View`).
    pub path: String,
    pub file: FileIdx,
    /// `extern`: the class is defined by the runtime; otherwise sx defines its methods.
    pub is_extern: bool,
    /// `#extends Parent;` (the sx name of the parent class).
    pub extends: Option<Expr>,
    pub methods: Vec<RtMethod>,
    pub fields: Vec<RtField>,
}

/// A method of a runtime class.
pub(crate) struct RtMethod {
    pub name: Ident,
    pub decl: Rc<FnDecl>,
    /// `#jni_method_descriptor("(..)R")`: the descriptor as written, instead of the derived one.
    pub descriptor: Option<String>,
    /// No `self: *Self` first parameter: a class (static) method.
    pub is_static: bool,
    /// The function of a method with a body (a `#jni_main` native method).
    pub fid: Option<FnId>,
}

/// A field of a runtime class (`x: i32;`), reached through `Get<T>Field`.
pub(crate) struct RtField {
    pub name: Ident,
    pub ty: Expr,
}

/// What a call through a runtime class is made on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RuntimeTarget {
    /// `obj.m(..)`: the object pointer and its runtime class.
    Instance(sx_ir::Value, TypeId),
    /// `Class.m(..)`: a class (static) method or the constructor `new`.
    Class(TypeId),
    /// `super.m(..)` in a method of this class.
    Super(TypeId),
}

/// Everything the JNI lowering keeps per compilation.
#[derive(Default)]
pub(crate) struct JniTables {
    /// Runtime classes by their sx type.
    pub classes: HashMap<TypeId, RuntimeClass>,
    /// One cache cell `{jclass, ID}` per (class or "" for `#jni_call`, name, descriptor, kind):
    /// call sites of the same method (accesses of the same field) share it.
    pub id_cells: HashMap<(String, String, String, IdKind), sx_ir::DataId>,
    /// The program-wide env cell `#jni_env` blocks publish their env in (read by `#jni_call`
    /// outside any such block).
    pub env_global: Option<sx_ir::DataId>,
}

/// How a Java method is dispatched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Dispatch {
    /// `Call<T>MethodA` on the object's class.
    Virtual,
    /// `CallStatic<T>MethodA` on a class.
    Static,
    /// `CallNonvirtual<T>MethodA` on a given class (`super.m()`).
    Nonvirtual,
}

/// What a cached ID names: a method called one way, or a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum IdKind {
    Method(Dispatch),
    Field,
}

impl IdKind {
    /// The `JNINativeInterface` function that looks the ID up.
    pub(crate) fn lookup_slot(self) -> u32 {
        match self {
            IdKind::Method(Dispatch::Static) => slot::GET_STATIC_METHOD_ID,
            IdKind::Method(Dispatch::Virtual | Dispatch::Nonvirtual) => slot::GET_METHOD_ID,
            IdKind::Field => slot::GET_FIELD_ID,
        }
    }
}

/// A Java type as JNI passes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JniType {
    Object,
    Boolean,
    Byte,
    Char,
    Short,
    Int,
    Long,
    Float,
    Double,
    Void,
}

impl JniType {
    /// Position in each `Call<T>Method` family of the function table (Object first).
    fn family_index(self) -> u32 {
        match self {
            JniType::Object => 0,
            JniType::Boolean => 1,
            JniType::Byte => 2,
            JniType::Char => 3,
            JniType::Short => 4,
            JniType::Int => 5,
            JniType::Long => 6,
            JniType::Float => 7,
            JniType::Double => 8,
            JniType::Void => 9,
        }
    }

    /// The descriptor letter of a primitive (`None` for objects).
    pub(crate) fn letter(self) -> Option<char> {
        Some(match self {
            JniType::Boolean => 'Z',
            JniType::Byte => 'B',
            JniType::Char => 'C',
            JniType::Short => 'S',
            JniType::Int => 'I',
            JniType::Long => 'J',
            JniType::Float => 'F',
            JniType::Double => 'D',
            JniType::Void => 'V',
            JniType::Object => return None,
        })
    }

    /// The Java type an sx type is passed as: `bool` (jboolean), `i8`/`u8` (jbyte), `i16`
    /// (jshort), `u16` (jchar), `i32` (jint), `i64` (jlong), `f32`, `f64`, pointers (jobject),
    /// `void`. Anything else has no JNI counterpart.
    pub(crate) fn of(types: &TypeTable, t: TypeId) -> Option<JniType> {
        Some(match types.kind(t) {
            TK::Void => JniType::Void,
            TK::Bool => JniType::Boolean,
            TK::Int { bits: 8, named: None, .. } => JniType::Byte,
            TK::Int { bits: 16, signed: true, named: None } => JniType::Short,
            TK::Int { bits: 16, signed: false, named: None } => JniType::Char,
            TK::Int { bits: 32, signed: true, named: None } => JniType::Int,
            TK::Int { bits: 64, signed: true, named: None } => JniType::Long,
            TK::Float { bits: 32 } => JniType::Float,
            TK::Float { bits: 64 } => JniType::Double,
            TK::Pointer(_) | TK::ManyPointer(_) => JniType::Object,
            _ => return None,
        })
    }

    /// Whether a `Call<T>Method` result of this type is lowered (the set the reference wires:
    /// `void`, `bool`, `i32`, `i64`, `f32`, `f64` and pointers).
    pub(crate) fn returnable(self) -> bool {
        match self {
            JniType::Void | JniType::Boolean | JniType::Int | JniType::Long | JniType::Float | JniType::Double | JniType::Object => true,
            JniType::Byte | JniType::Char | JniType::Short => false,
        }
    }
}

/// Indices of `JNINativeInterface` functions (jni.h order; one pointer each).
pub(crate) mod slot {
    pub const FIND_CLASS: u32 = 6;
    pub const NEW_GLOBAL_REF: u32 = 21;
    pub const IS_SAME_OBJECT: u32 = 24;
    pub const NEW_OBJECT_A: u32 = 30;
    pub const GET_OBJECT_CLASS: u32 = 31;
    pub const IS_INSTANCE_OF: u32 = 32;
    pub const GET_METHOD_ID: u32 = 33;
    pub const GET_FIELD_ID: u32 = 94;
    pub const GET_STATIC_METHOD_ID: u32 = 113;
}

/// The `Call[Static|Nonvirtual]<T>MethodA` function of a dispatch and result (the `A` forms
/// take the arguments as a `jvalue` array, so no call is variadic).
pub(crate) fn call_slot(d: Dispatch, ret: JniType) -> u32 {
    let base = match d {
        Dispatch::Virtual => 34,
        Dispatch::Nonvirtual => 64,
        Dispatch::Static => 114,
    };
    base + 3 * ret.family_index() + 2
}

/// `Get<T>Field` (`set`: `Set<T>Field`) for a field of this type (`None` for `void`).
pub(crate) fn field_slot(t: JniType, set: bool) -> Option<u32> {
    let base = if set { 104 } else { 95 };
    match t {
        JniType::Void => None,
        JniType::Object
        | JniType::Boolean
        | JniType::Byte
        | JniType::Char
        | JniType::Short
        | JniType::Int
        | JniType::Long
        | JniType::Float
        | JniType::Double => Some(base + t.family_index()),
    }
}

/// The descriptor of one parameter or result type; `class_path` names the runtime class a
/// pointer points to (`*void` is `java/lang/Object`).
pub(crate) fn type_descriptor(types: &TypeTable, t: TypeId, class_path: &dyn Fn(TypeId) -> Option<String>) -> Result<String, String> {
    match types.kind(t) {
        TK::Pointer(inner) | TK::ManyPointer(inner) => {
            let path = match types.kind(*inner) {
                TK::Void => Some("java/lang/Object".to_string()),
                _ => class_path(*inner),
            };
            match path {
                Some(p) => Ok(format!("L{};", p)),
                None => Err(format!("'{}' is not a pointer to a runtime class", types.name(t))),
            }
        }
        _ => match JniType::of(types, t).and_then(JniType::letter) {
            Some(c) => Ok(c.to_string()),
            None => Err(format!("'{}' has no JNI type", types.name(t))),
        },
    }
}

/// The parameter and result types a method descriptor `(..)R` spells.
pub(crate) fn parse_method_descriptor(desc: &str) -> Result<(Vec<JniType>, JniType), String> {
    let bad = || format!("malformed JNI method descriptor \"{}\"", desc);
    let bytes = desc.as_bytes();
    if bytes.first() != Some(&b'(') {
        return Err(bad());
    }
    let mut i = 1;
    let mut params = vec![];
    let mut ret = None;
    let mut in_params = true;
    while i < bytes.len() {
        if in_params && bytes[i] == b')' {
            in_params = false;
            i += 1;
            continue;
        }
        let (t, next) = one_type(bytes, i).ok_or_else(bad)?;
        i = next;
        if in_params {
            if t == JniType::Void {
                return Err(bad());
            }
            params.push(t);
        } else if ret.replace(t).is_some() {
            return Err(bad());
        }
    }
    match ret {
        Some(r) if !in_params => Ok((params, r)),
        _ => Err(bad()),
    }
}

/// One field type starting at `i`: the type and the index after it.
fn one_type(b: &[u8], i: usize) -> Option<(JniType, usize)> {
    let t = match *b.get(i)? {
        b'Z' => JniType::Boolean,
        b'B' => JniType::Byte,
        b'C' => JniType::Char,
        b'S' => JniType::Short,
        b'I' => JniType::Int,
        b'J' => JniType::Long,
        b'F' => JniType::Float,
        b'D' => JniType::Double,
        b'V' => JniType::Void,
        b'L' => {
            let end = b[i..].iter().position(|&c| c == b';')?;
            return (end > 1).then_some((JniType::Object, i + end + 1));
        }
        b'[' => {
            let (elem, next) = one_type(b, i + 1)?;
            return (elem != JniType::Void).then_some((JniType::Object, next));
        }
        _ => return None,
    };
    Some((t, i + 1))
}

/// The C symbol the JVM looks up for the native method `sx_<method>` of class `path`
/// (`Java_<class>_<method>`, mangled as the JNI specification says).
pub(crate) fn native_symbol(path: &str, method: &str) -> String {
    format!("Java_{}_{}", mangle(path), mangle(&format!("sx_{}", method)))
}

/// JNI name mangling: `/` → `_`, `_` → `_1`, `;` → `_2`, `[` → `_3`, other non-alphanumerics
/// → `_0xxxx`.
fn mangle(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            '/' => out.push('_'),
            '_' => out.push_str("_1"),
            ';' => out.push_str("_2"),
            '[' => out.push_str("_3"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("_0{:04x}", unit));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_parse() {
        assert_eq!(parse_method_descriptor("(II)I"), Ok((vec![JniType::Int, JniType::Int], JniType::Int)));
        assert_eq!(parse_method_descriptor("()Landroid/view/Window;"), Ok((vec![], JniType::Object)));
        assert_eq!(
            parse_method_descriptor("([IZLjava/lang/String;)V"),
            Ok((vec![JniType::Object, JniType::Boolean, JniType::Object], JniType::Void))
        );
        assert!(parse_method_descriptor("(I").is_err());
        assert!(parse_method_descriptor("()").is_err());
        assert!(parse_method_descriptor("(V)V").is_err());
        assert!(parse_method_descriptor("()II").is_err());
        assert!(parse_method_descriptor("(L;)V").is_err());
    }

    #[test]
    fn table_slots_follow_jni_h() {
        assert_eq!(call_slot(Dispatch::Virtual, JniType::Object), 36);
        assert_eq!(call_slot(Dispatch::Virtual, JniType::Int), 51);
        assert_eq!(call_slot(Dispatch::Virtual, JniType::Void), 63);
        assert_eq!(call_slot(Dispatch::Nonvirtual, JniType::Void), 93);
        assert_eq!(call_slot(Dispatch::Static, JniType::Int), 131);
        assert_eq!(call_slot(Dispatch::Static, JniType::Void), 143);
        assert_eq!(field_slot(JniType::Int, false), Some(100));
        assert_eq!(field_slot(JniType::Double, true), Some(112));
        assert_eq!(field_slot(JniType::Void, true), None);
    }

    #[test]
    fn native_symbols_are_mangled() {
        assert_eq!(native_symbol("co/swipelab/sx_app/App", "onCreate"), "Java_co_swipelab_sx_1app_App_sx_1onCreate");
    }
}
