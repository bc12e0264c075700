//! The escape hatch: `#[allow_nondeterministic(reason = "…")]` on a statement or a function
//! lets it break a rule, visibly and with a reason.

use super::ESCAPE_HATCH;
use crate::errors::Errors;

/// The escape hatch among `attrs`, if there is one: `Ok` when it gives a reason, else the
/// error that asks for one.
pub(super) fn escape_hatch(attrs: &[syn::Attribute]) -> Option<syn::Result<()>> {
    let attr = attrs.iter().find(|a| a.path().is_ident(ESCAPE_HATCH))?;
    let reason = attr.parse_args_with(|input: syn::parse::ParseStream| {
        let key: syn::Ident = input.parse()?;
        let _: syn::Token![=] = input.parse()?;
        let value: syn::LitStr = input.parse()?;
        Ok((key, value))
    });
    Some(match reason {
        Ok((key, value)) if key == "reason" && !value.value().trim().is_empty() => Ok(()),
        _ => Err(syn::Error::new_spanned(
            attr,
            "`#[allow_nondeterministic]` needs a reason: \
             `#[allow_nondeterministic(reason = \"why this is safe on replay\")]`",
        )),
    })
}

/// Whether a function opts out of the lint with `#[allow_nondeterministic(reason = "…")]`
/// (checked for its reason, then removed).
pub(crate) fn fn_escape_hatch(attrs: &mut Vec<syn::Attribute>, errors: &mut Errors) -> bool {
    let hatch = escape_hatch(attrs);
    if let Some(Err(missing_reason)) = &hatch {
        errors.push(missing_reason.clone());
    }
    attrs.retain(|a| !a.path().is_ident(ESCAPE_HATCH));
    hatch.is_some()
}

/// Removes the escape-hatch attributes (inert for rustc) from a block after checking it.
pub(crate) fn strip_escape_hatches(block: &mut syn::Block) {
    struct Strip;
    impl syn::visit_mut::VisitMut for Strip {
        fn visit_stmt_mut(&mut self, stmt: &mut syn::Stmt) {
            if let Some(attrs) = statement_attrs_mut(stmt) {
                attrs.retain(|a| !a.path().is_ident(ESCAPE_HATCH));
            }
            syn::visit_mut::visit_stmt_mut(self, stmt);
        }
    }
    syn::visit_mut::VisitMut::visit_block_mut(&mut Strip, block);
}

/// The attributes of a statement that can carry the escape hatch, read-only and mutable.
macro_rules! statement_attrs {
    ($name:ident $(, $mutability:tt)?) => {
        pub(super) fn $name(stmt: &$($mutability)? syn::Stmt) -> Option<&$($mutability)? Vec<syn::Attribute>> {
            Some(match stmt {
                syn::Stmt::Local(l) => &$($mutability)? l.attrs,
                syn::Stmt::Macro(m) => &$($mutability)? m.attrs,
                syn::Stmt::Item(syn::Item::Static(s)) => &$($mutability)? s.attrs,
                syn::Stmt::Item(syn::Item::Macro(m)) => &$($mutability)? m.attrs,
                syn::Stmt::Item(_) => return None,
                syn::Stmt::Expr(e, _) => match e {
                    syn::Expr::Call(c) => &$($mutability)? c.attrs,
                    syn::Expr::MethodCall(c) => &$($mutability)? c.attrs,
                    syn::Expr::Assign(a) => &$($mutability)? a.attrs,
                    syn::Expr::Await(a) => &$($mutability)? a.attrs,
                    syn::Expr::Try(t) => &$($mutability)? t.attrs,
                    syn::Expr::Block(b) => &$($mutability)? b.attrs,
                    syn::Expr::Path(p) => &$($mutability)? p.attrs,
                    syn::Expr::Macro(m) => &$($mutability)? m.attrs,
                    _ => return None,
                },
            })
        }
    };
}

statement_attrs!(statement_attrs);
statement_attrs!(statement_attrs_mut, mut);
