//! Fields of runtime classes: `obj.x` on a pointer to a `#jni_class` reads the Java field with
//! `Get<T>Field`, `obj.x = v` (on a local or parameter holding the pointer) writes it with
//! `Set<T>Field`; the field ID is looked up once per (class, name, descriptor) through a cache
//! cell, like method IDs (`jni_calls`).

use sx_ir::{Signature, Value};
use sx_types::TypeKind as TK;

use crate::fncx::FnCx;
use crate::jni_calls::ClassOf;
use crate::jni_rules::{field_slot, type_descriptor, IdKind, JniType};
use crate::*;

/// A resolved field access.
struct FieldPlan {
    key: String,
    ty: TypeId,
    jni: JniType,
    desc: String,
}

impl<'c> FnCx<'c> {
    /// `obj.name` where `obj` points to an object of runtime class `class`.
    pub(crate) fn runtime_field_get(&mut self, obj: Value, class: TypeId, name: &Ident, span: Span) -> R<TV> {
        let plan = self.field_plan(class, name, span)?;
        let Some(get) = field_slot(plan.jni, false) else { return self.err(name.span, "a Java field cannot be void") };
        let env = self.jni_env_value();
        let (_, fid) = self.member_id(env, &plan.key, &name.name, &plan.desc, IdKind::Field, ClassOf::Object(obj));
        let p = self.ptr_ty();
        let Some(t) = self.c.types.scalar(plan.ty) else { return self.err(span, "a Java field holds a scalar") };
        let f = self.jni_fn(env, get);
        let r = self.b(|b| b.call_indirect(Signature { params: vec![p; 3], returns: vec![t] }, f, vec![env, obj, fid]));
        Ok(TV { ty: plan.ty, v: V::Scalar(r[0]) })
    }

    /// `obj.name op= rhs` where `obj` is a local (or parameter) pointing to a runtime class
    /// object: `Set<T>Field`. `false` when the assignment is not one.
    pub(crate) fn runtime_field_assign(&mut self, op: AssignOp, lhs: &Expr, rhs: &Expr, span: Span) -> R<bool> {
        let ExprKind::Field { base, name } = &lhs.kind else { return Ok(false) };
        let ExprKind::Ident(id) = &base.kind else { return Ok(false) };
        let Some(Local::Var { ty, .. }) = self.lookup_local(&id.name) else { return Ok(false) };
        let TK::Pointer(class) = self.c.types.kind(ty).clone() else { return Ok(false) };
        if self.c.runtime_class(class).is_none() {
            return Ok(false);
        }
        if op != AssignOp::Assign {
            return self.err(span, "not supported yet: a compound assignment to a Java field (read it, then assign)");
        }
        let plan = self.field_plan(class, name, span)?;
        let Some(set) = field_slot(plan.jni, true) else { return self.err(name.span, "a Java field cannot be void") };
        let objv = self.expr(base, None)?;
        let obj = self.scalar(objv, base.span)?;
        let v = self.expr(rhs, Some(plan.ty))?;
        let v = self.coerce(v, plan.ty, rhs.span)?;
        let v = self.scalar(v, rhs.span)?;
        // A narrow value goes to C widened to 32 bits, as C callers pass it.
        let v = match plan.jni {
            JniType::Boolean | JniType::Char => self.b(|b| b.convert(sx_ir::ConvOp::Uext, v, sx_ir::Type::I32)),
            JniType::Byte | JniType::Short => self.b(|b| b.convert(sx_ir::ConvOp::Sext, v, sx_ir::Type::I32)),
            JniType::Int | JniType::Long | JniType::Float | JniType::Double | JniType::Object | JniType::Void => v,
        };
        let env = self.jni_env_value();
        let (_, fid) = self.member_id(env, &plan.key, &name.name, &plan.desc, IdKind::Field, ClassOf::Object(obj));
        let p = self.ptr_ty();
        let t = self.b(|b| b.ty(v));
        let f = self.jni_fn(env, set);
        self.b(|b| b.call_indirect(Signature { params: vec![p, p, p, t], returns: vec![] }, f, vec![env, obj, fid, v]));
        Ok(true)
    }

    /// The declaring class, type and descriptor of field `name` of `class`.
    fn field_plan(&mut self, class: TypeId, name: &Ident, span: Span) -> R<FieldPlan> {
        match self.c.runtime_class(class).map(|k| k.runtime) {
            Some(r) if r.is_jni() => {}
            Some(r) => return self.err(span, format!("not supported yet: fields of a {} class", r.directive())),
            None => return Err(()),
        }
        let Some((decl_class, ty)) = self.c.find_runtime_field(class, &name.name)? else {
            let msg = format!("no field '{}' on runtime class '{}' (or any #extends ancestor)", name.name, self.tname(class));
            return self.err(name.span, msg);
        };
        let jni = match JniType::of(&self.c.types, ty) {
            Some(j) if j != JniType::Void => j,
            _ => {
                let msg = format!("the Java field '{}' cannot hold '{}'", name.name, self.tname(ty));
                return self.err(name.span, msg);
            }
        };
        let c: &Compiler = self.c;
        let desc = match type_descriptor(&c.types, ty, &|x| c.runtime_class_path(x)) {
            Ok(d) => d,
            Err(msg) => return self.err(name.span, format!("no JNI descriptor for field '{}': {}", name.name, msg)),
        };
        let key = self.c.jni.classes[&decl_class].path.clone();
        Ok(FieldPlan { key, ty, jni, desc })
    }
}
